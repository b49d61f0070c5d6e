"""Evidence export: cut a hit to an H.264 MP4 that common players open, plus a JPEG thumbnail.

A clip keeps the source's stored pixels and its sample aspect ratio (a DVR's 704x576 D1 plays at 4:3,
as the original does); the thumbnail, a picture with no player to stretch it, is drawn in square
pixels.

Frames are decoded by the indexer's reader (PyAV, frame-exact, from the key frame before the clip)
and encoded with FFmpeg's libx264 through PyAV (yuv420p, fast start). A clip is written to a
temporary file in the target folder and moved into place only when complete, without ever replacing
an existing file: a failure (disk full, cancel) leaves no half-written clip behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from models.validation import Range, check_fields
from models.weights import sha256_of
from pipeline.clip_writer import ClipWriter
from pipeline.errors import ExportError, SpotterError
from pipeline.file_names import resolved
from pipeline.keyframes import scan_keyframes
from pipeline.partial_files import new_part, public_mode
from pipeline.source_check import verify_source
from pipeline.storage import Library, TrackInfo
from pipeline.types import PATH_FRAME, PATH_TS, box_at
from pipeline.video import VideoReader, display_width, probe

MAX_MARGIN_RATE = 240.0  # fps: a track's rate above this is a timestamp glitch, not a recording rate

EXPORT_RULES = {
    "margin_s": Range(0.0, 3600.0),
    "crf": Range(0, 51, integer=True),
    "box_thickness": Range(1, 100, integer=True),
    "max_box_gap_s": Range(0.0, 3600.0),
    "thumbnail_quality": Range(1, 100, integer=True),
}


@dataclass(frozen=True)
class ExportConfig:
    """margin_s: seconds of context added before and after the hit (clipped to the video, and to a
        gap in the recording: what a recorder wrote an hour earlier or later is not context).
    crf: x264 constant rate factor; lower is better quality and bigger files (18-23 is typical).
    preset: x264 speed/size trade-off.
    box_color: BGR colour of the drawn box; box_thickness in pixels.
    max_box_gap_s: boxes are interpolated across gaps between observations up to this long.
    thumbnail_quality: JPEG quality of the thumbnail.
    """

    margin_s: float = 2.0
    crf: int = 20
    preset: str = "veryfast"
    box_color: tuple[int, int, int] = (0, 165, 255)
    box_thickness: int = 2
    max_box_gap_s: float = 2.0
    thumbnail_quality: int = 90

    def __post_init__(self) -> None:
        check_fields(self, EXPORT_RULES)


@dataclass(frozen=True)
class ExportedClip:
    path: Path
    thumbnail: Path
    start_frame: int
    end_frame: int  # inclusive
    frames: int
    start_s: float
    end_s: float
    sha256: str


def not_a_folder(folder: Path) -> str:
    """Why evidence cannot be written into ``folder`` as a folder ("" where it is one): a file of
    that name was said to be "no such folder"."""
    if folder.is_dir():
        return ""
    return f"{folder} is a file, not a folder" if folder.exists() else f"{folder}: no such folder"


def check_target(path: Path, suffix: str = ".mp4") -> Path:
    """Validate an output path: right suffix, not existing, folder exists and is writable."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ExportError(f"{path} is a folder: give the file name to write, ending in {suffix}")
    if path.suffix.lower() != suffix:
        raise ExportError(f"{path}: the file name must end in {suffix}")
    if path.exists():
        raise ExportError(f"{path} already exists; not overwritten (choose another name)")
    folder = resolved(path.parent, ExportError)
    if problem := not_a_folder(folder):
        raise ExportError(problem)
    try:  # the only honest test of writability (permissions, read-only mounts, root or not)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ExportError(f"{folder}: folder is not writable ({e.strerror or e})") from e
    return resolved(path, ExportError)


class ExportCancelledError(ExportError):
    """The operator cancelled an export; the clip in progress was not written."""


def place_file(tmp: Path, target: Path) -> None:
    """Move a finished temporary file to ``target`` without replacing anything already there."""
    try:
        os.link(tmp, target)  # atomic, fails if target exists
    except FileExistsError as e:
        raise ExportError(f"{target} appeared while exporting; not overwritten") from e
    except OSError:  # file systems without hard links (FAT, some network shares)
        if target.exists():
            raise ExportError(f"{target} appeared while exporting; not overwritten") from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _part_for(target: Path, suffix: str) -> Path:
    """A new part file beside ``target`` (:mod:`pipeline.partial_files`); one line where it cannot be."""
    try:
        return new_part(target.parent, suffix)
    except OSError as e:
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from e


def write_new(target: Path, data: bytes) -> None:
    """Write bytes to a new file (never replacing one), via a temporary file in the same folder."""
    tmp = _part_for(target, target.suffix)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, public_mode())
        place_file(tmp, target)
    except OSError as e:
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def draw_box(image: np.ndarray, box: np.ndarray, config: ExportConfig, label: str = "") -> None:
    """Draw the person's box (and a label above it) in place."""
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), config.box_color, config.box_thickness, cv2.LINE_AA)
    if label:
        scale = max(0.4, image.shape[0] / 900)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = max(y1 - 4, th + 2)
        tx = max(0, min(x1, image.shape[1] - tw - 5))  # a person at the right edge: the label inside
        cv2.rectangle(image, (tx, ty - th - 3), (tx + tw + 4, ty + 2), config.box_color, -1)
        cv2.putText(
            image, label, (tx + 2, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA
        )


def drain(steps: Generator[tuple[int, int], None, ExportedClip]) -> ExportedClip:
    """Run an export generator to the end (for callers without progress); returns the clip."""
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            return finished.value


def iter_export_clip(
    video: str | Path,
    start_frame: int,
    end_frame: int,
    out: str | Path,
    path: np.ndarray | None = None,
    annotate: bool = False,
    label: str = "",
    config: ExportConfig = ExportConfig(),
    cancel: Callable[[], bool] | None = None,
    seek_table: Sequence[tuple[int, int]] | None = None,
    indexed_frames: int = 0,
) -> Generator[tuple[int, int], None, ExportedClip]:
    """Cut frames [start_frame - margin, end_frame + margin] of ``video`` to a new MP4 at ``out``
    (the margin counted in time: a wait longer than it between two frames ends it), never past the
    first ``indexed_frames`` (the frames indexed, where known: a folder's images or a recording's
    frames added since were never checked against what was indexed, so they are no evidence).

    With ``annotate`` the person's box from ``path`` (a track's box path) is drawn on every frame it
    covers; a JPEG thumbnail (same name, ``.jpg``) shows the frame where the person is largest.
    Decoding starts at the key frame before the clip (from ``seek_table``, the video's key frames as
    recorded when it was indexed, else read from the file's packets), so a clip near the end of a
    long file costs no more than one at its start.
    A generator of (frames written, frames in the clip) that returns the clip (see :func:`drain`).
    """
    import av

    target = check_target(Path(out))
    thumb_target = check_target(target.with_suffix(".jpg"), ".jpg")
    info = probe(video)
    rate = rate_around(path, info.fps)
    margin = round(config.margin_s * rate)
    first = max(0, int(start_frame) - margin)
    if indexed_frames:  # the frames indexed, counted as they decoded; never inside the track itself
        limit = max(indexed_frames, int(end_frame) + 1)
    elif info.declared_s:  # a count guessed from the span a container declares: the stream ends it
        limit = int(end_frame) + margin + 1
    else:
        limit = info.frame_count
    last = min(limit - 1, int(end_frame) + margin)
    if last < first:
        raise ExportError(f"{video}: frames {start_frame}-{end_frame} are outside the video")
    gap = round(config.max_box_gap_s * info.fps)  # the fewer frames: no box drawn where none was seen
    tmp = _part_for(target, ".mp4")
    written, best = 0, (-1.0, None)
    span = (first, 0.0, 0.0)  # the first frame written, its time, and the last frame's time
    try:
        clip = ClipWriter(tmp, info, config.crf, config.preset)
        try:
            seek = seek_table
            if seek is None:  # a folder of images has no key frames: any image is one
                seek = scan_keyframes(info.path) if info.images is None else []
            prev_ts, end_ts = None, None
            reach = config.margin_s + 0.5 / rate  # the margin's last frame, whatever the rounding
            start_ts = _time_of(path, start_frame)
            for frame in VideoReader(info, start_frame=first, seek_table=seek):
                if frame.index > last or (cancel is not None and cancel()):
                    break
                if end_ts is not None and frame.ts - end_ts > reach:
                    break  # the margin is time: past a gap in the recording is not context
                if frame.index < start_frame and start_ts is not None and start_ts - frame.ts > reach:
                    continue  # the margin is time: frames of a low-rate stretch reach further back
                if frame.index <= start_frame and prev_ts is not None and frame.ts - prev_ts > reach:
                    clip.restart()  # what came before a gap in the recording is not context either
                    written, best = 0, (-1.0, None)
                prev_ts = frame.ts
                end_ts = frame.ts if frame.index == end_frame else end_ts
                image = frame.image[: clip.height, : clip.width]
                box = box_at(path, frame.index, gap) if path is not None else None
                if box is not None:
                    area = float((box[2] - box[0]) * (box[3] - box[1]))
                    if area > best[0]:
                        best = (area, (image.copy(), box))
                    if annotate:
                        image = np.ascontiguousarray(image)
                        draw_box(image, box, config, label)
                clip.write(image, frame.ts)
                span = (frame.index, frame.ts, frame.ts) if written == 0 else (span[0], span[1], frame.ts)
                written += 1
                yield written, last - first + 1
            clip.finish()
        finally:
            clip.close()
        if cancel is not None and cancel():
            raise ExportCancelledError("export cancelled")
        if written == 0:
            raise ExportError(f"{video}: no frame could be decoded for the clip")
        os.chmod(tmp, public_mode())
        place_file(tmp, target)
    except SpotterError:
        raise
    except (OSError, av.error.FFmpegError) as e:
        raise ExportError(f"cannot write {target}: {getattr(e, 'strerror', None) or e}") from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    thumb = best[1]
    image = thumb[0] if thumb is not None else cv2.imread(str(target))
    if thumb is not None:
        draw_box(image, thumb[1], config, label)
    if image is None:
        image = np.zeros((info.height, info.width, 3), np.uint8)
    if info.pixel_aspect != 1.0:  # a picture for people: square pixels
        wide = display_width(image.shape[1], info.pixel_aspect)
        image = cv2.resize(image, (wide, image.shape[0]), interpolation=cv2.INTER_AREA)
    _, jpg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, config.thumbnail_quality])
    try:
        write_new(thumb_target, jpg.tobytes())
    except ExportError:  # a clip is exported with its thumbnail or not at all (a full disk)
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    start = span[0]
    return ExportedClip(
        target, thumb_target, start, start + written - 1, written, span[1], span[2], sha256_of(target)
    )


def iter_export_track(
    track: TrackInfo,
    out: str | Path,
    annotate: bool = False,
    score: float | None = None,
    config: ExportConfig = ExportConfig(),
    cancel: Callable[[], bool] | None = None,
    seek_table: Sequence[tuple[int, int]] | None = None,
) -> Generator[tuple[int, int], None, ExportedClip]:
    """Export the interval of a stored track (its box path drives annotation), as a generator."""
    label = f"track {track.track_id}" + (f"  {score:.2f}" if score is not None else "")
    return iter_export_clip(
        track.video_path,
        track.first_frame,
        track.last_frame,
        out,
        track.path,
        annotate,
        label,
        config,
        cancel,
        seek_table,
        track.video_frames,
    )


def export_track(
    track: TrackInfo,
    out: str | Path,
    annotate: bool = False,
    score: float | None = None,
    config: ExportConfig = ExportConfig(),
    seek_table: Sequence[tuple[int, int]] | None = None,
) -> ExportedClip:
    """Export the interval of a stored track (the person's box path drives annotation)."""
    return drain(iter_export_track(track, out, annotate, score, config, seek_table=seek_table))


def export_hit(
    library: Library,
    hit_id: int,
    out: str | Path,
    annotate: bool = False,
    config: ExportConfig = ExportConfig(),
) -> ExportedClip:
    """Export a stored search hit by its id."""
    found = library.hit(hit_id)
    if found is None and library.hit_was_given(hit_id):
        raise ExportError(
            f"hit {hit_id} is gone: the track it showed went when its video was indexed again or "
            "removed (search again for a new id)"
        )
    if found is None:
        raise ExportError(f"no hit {hit_id} in {library.where} (run a search first; its hits have ids)")
    _, track_pk, score = found
    track = library.tracks([track_pk]).get(track_pk)
    if track is None:
        raise ExportError(f"hit {hit_id}: its track is gone (the video was re-indexed)")
    source = verify_source(library, track.video_id)
    return export_track(
        replace(track, video_path=source), out, annotate, score, config, library.seek_table(track.video_id)
    )


def rate_around(path: np.ndarray | None, fps: float) -> float:
    """Frames per second to count the margins in: the video's rate (``fps``, from its first frames),
    or the rate the track's own frames were recorded at (the median over its steps), where higher. A
    recorder that raises its rate while there is motion (an "event" rate) records the person faster
    than its quiet first frames say; counted at ``fps``, the frames read for the margins would span a
    fraction of them. Reading more frames than needed costs decoding only: the margins are cut by
    time."""
    if path is None or len(path) < 2:
        return fps
    frames, times = path[:, PATH_FRAME], path[:, PATH_TS]
    steps, waits = np.diff(frames), np.diff(times)
    fast = (steps > 0) & (waits > 0)
    if not fast.any():
        return fps
    recorded = float(np.median(steps[fast] / waits[fast]))  # one glitched timestamp does not set it
    return max(fps, min(recorded, MAX_MARGIN_RATE))


def _time_of(path: np.ndarray | None, frame: int) -> float | None:
    """The time of ``frame`` in a track's path, if the path has it."""
    if path is None or not len(path):
        return None
    rows = np.flatnonzero(path[:, PATH_FRAME] == frame)
    return float(path[rows[0], PATH_TS]) if len(rows) else None
