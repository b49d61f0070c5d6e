"""Video files as the indexer, export and player see them: probing, fingerprints, frames with true
timestamps, strides, and starting part-way through a file without decoding what comes before.

Decoding is PyAV's (FFmpeg), threaded and seekable (:mod:`pipeline.decoding`). A file that is not a
video, is empty, or has no decodable frame raises :class:`VideoError` at :func:`probe`. A file damaged
part-way is read past the damage where FFmpeg can, else up to it: :class:`VideoReader` reports
``truncated`` and ``damaged_packets``, and what was decoded is kept.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.decoding import SEEK_SPACING_S, ThreadedDecoder, probe_stream, scan_keyframes
from pipeline.errors import VideoError

log = logging.getLogger(__name__)

FINGERPRINT_BYTES = 1 << 20  # bytes hashed at each end of the file
TRUNCATION_TOLERANCE = 0.98  # ending before this fraction of the reported frame count is "truncated"
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".webm", ".wmv", ".flv")


def videos_in(folder: Path) -> list[Path]:
    """The video files (by extension) anywhere below a folder, sorted."""
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS)


@dataclass(frozen=True)
class VideoInfo:
    """What Spotter knows about a video file before indexing it."""

    path: Path
    size: int
    mtime: float
    fingerprint: str
    fps: float
    frame_count: int  # as the container reports it; the reader finds the true count
    width: int
    height: int
    note: str = ""  # what had to be assumed about the file (frame rate, timestamps)
    origin_pts: int | None = None  # presentation timestamp of frame 0

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based position in the decoded stream
    ts: float  # presentation time in seconds
    image: np.ndarray  # BGR


def fingerprint(path: Path, size: int | None = None) -> str:
    """Fast identity of a file's content: sha256 of its size and its first and last MiB."""
    size = path.stat().st_size if size is None else size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(FINGERPRINT_BYTES))
        if size > 2 * FINGERPRINT_BYTES:
            f.seek(size - FINGERPRINT_BYTES)
        digest.update(f.read(FINGERPRINT_BYTES))
    return digest.hexdigest()


def probe(path: str | Path) -> VideoInfo:
    """Check a file is a decodable video and read its properties; raises :class:`VideoError`."""
    path = Path(path).expanduser()
    try:
        path = path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise VideoError(f"{path}: cannot resolve the path ({e})") from e
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    try:
        st = path.stat()
        if st.st_size == 0:
            raise VideoError(f"{path}: empty file (0 bytes)")
        fp = fingerprint(path, st.st_size)
    except OSError as e:
        raise VideoError(f"{path}: cannot read ({e.strerror})") from e
    s = probe_stream(path)
    if s.note:
        log.warning("%s: %s", path, s.note)
    return VideoInfo(
        path, st.st_size, st.st_mtime, fp, s.fps, s.frame_count, s.width, s.height, s.note, s.origin_pts
    )


class VideoReader:
    """Iterates the frames of a video from ``start_frame``, yielding every ``stride``-th one.

    ``stride`` may be changed between two frames (adaptive sampling): the next frame yielded is the
    one ``stride`` frames after the last. Skipped frames are decoded (the codec needs them) but never
    converted to pixels. With a ``seek_table`` (``(frame index, pts)`` of key frames, as recorded in
    ``seek_table`` by an earlier read) a start part-way seeks instead of decoding from frame 0.
    After iteration ``frames_read`` is the number of frames the stream held (up to any damage),
    ``truncated`` says whether it ended well before the container's frame count, and ``seek_table``
    holds the key frames met (one about every ``SEEK_SPACING_S`` seconds).
    """

    def __init__(
        self,
        info: VideoInfo,
        start_frame: int = 0,
        stride: int = 1,
        seek_table: Sequence[tuple[int, int]] = (),
    ):
        self.info = info
        self.start_frame = max(int(start_frame), 0)
        self.stride = max(int(stride), 1)
        self.frames_read = 0
        self.truncated = False
        self.damaged_packets = 0
        self.seek_table: list[tuple[int, int]] = sorted((int(i), int(p)) for i, p in seek_table)
        self.decoded_from = 0  # first frame decoded (> 0 after a seek)

    def _remember_key(self, index: int, pts: int) -> None:
        table = self.seek_table
        spacing = max(1, round(SEEK_SPACING_S * self.info.fps))
        if not table or index >= table[-1][0] + spacing:
            table.append((index, pts))

    def __iter__(self) -> Iterator[Frame]:
        info = self.info
        decoder = ThreadedDecoder(
            info.path, self.start_frame, self.seek_table, info.origin_pts, info.width * info.height * 3 // 2
        )
        index, wanted = -1, self.start_frame
        for d in decoder:
            if self.decoded_from == 0 and index < 0:
                self.decoded_from = d.index
            index = d.index
            if d.key and d.pts is not None:
                self._remember_key(index, d.pts)
            if index < wanted:
                continue
            try:
                image = d.bgr()
            except Exception as e:  # a frame the converter cannot take: stop there, keep what came
                log.warning("%s: frame %d does not convert (%s); stopping there", info.path, index, e)
                break
            yield Frame(index, d.ts, image)
            wanted = index + max(int(self.stride), 1)  # read after the consumer had its say
        self.frames_read = index + 1
        self.damaged_packets = decoder.damage[0]
        self.truncated = self.frames_read < TRUNCATION_TOLERANCE * info.frame_count
        if self.truncated:
            log.warning(
                "%s: stream ends at frame %d of %d (truncated or damaged); kept what decoded",
                info.path,
                self.frames_read,
                info.frame_count,
            )


def read_frame(path: Path, frame_index: int) -> np.ndarray:
    """Decode one frame exactly (seeks to the key frame before it; for thumbnails and tests)."""
    info = probe(path)
    for frame in VideoReader(info, start_frame=frame_index, seek_table=scan_keyframes(info.path)):
        return frame.image
    raise VideoError(f"{path}: no frame {frame_index}")
