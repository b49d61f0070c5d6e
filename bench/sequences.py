"""Evaluation sequences: the shared MOT footage as it is, and derived from it the way operators' footage
differs (lower frame rates, folders of snapshots, small people in a 1080p frame, hour-long files).

Every sequence is a video file (or a folder of images) plus MOT ground truth in that video's own pixels
(``gt.txt``: frame (1-based = video frame + 1), id, x, y, w, h, ...), so the shared evaluator and the
in-process benchmarks score all of them the same way. Derived sequences are built once into a cache
folder (deterministic: the same sources give the same files) and reused.

    python -m bench.sequences [--out out/sequences] [--only NAME...]      # build and list them

Derivations, each a property any camera can have, none tuned to a clip:
- ``@Nfps``: every k-th frame of the source re-encoded at N fps (a recorder saving space);
  ground-truth frames renumbered.
- ``@Nfps+K``: the same, the recorder's first kept frame K source frames later (another sample of the
  same footage: at 2 fps the frames of ``@2fps+5`` are none of ``@2fps``'s), to tell a change's
  effect from the luck of which frames were kept; every K from 1 to (source rate / N) - 1.
- ``@Nfps-images``: the same frames as JPEG snapshots named with their capture time
  (``<camera>_YYYYmmdd_HHMMSS_mmm.jpg``), as NVRs export them.
- ``-in1080p@S``: the source scaled by S and placed in a 1920x1080 frame whose rest is the scene's own
  empty background (temporal median, so nobody is in it): people 40-150 px tall in a wide HD view.
  ``-in4k@S``: the same in a 3840x2160 frame (a 4K camera).
- ``-night``: the source without colour, as a camera in infrared night mode (or a black-and-white
  camera) records it; searched with the same colour photos.
- ``-pan``, ``-ptz``, ``-shake``: a view of two thirds of the scene moving over it: panning across and
  back (a PTZ camera on patrol), jumping between two presets (a PTZ tour), drifting with a hand's
  tremor (a phone, a body-worn camera); ``-crop``: the same view held still at the centre
  (:mod:`bench.moving_views`).
- ``-vfr``: the frame rate lowered to a fifth in the middle third (:mod:`bench.variable_rate`).
- ``-halfd1``, ``-2cif``, ``-d1``, ``-woven``, ``-woven-flagged``: as a DVR records an analogue camera:
  non-square pixels, interlaced fields (:mod:`bench.dvr_footage`).
- ``loop-1h``: PETS09-S2L1, TUD-Campus and ADL-Rundle-6 (scaled to 480x360) one after the other
  until an hour is filled, 10 fps; identities of loop k are offset by k * 1000 (:mod:`bench.hour_loop`).
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from pipeline.monochrome import grey

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("SPOTTER_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
TOOLS = ASSETS.parent / "tools"  # the shared evaluator and peer, beside the assets
DEFAULT_OUT = ROOT / "out" / "sequences"
HD = (1920, 1080)
UHD = (3840, 2160)
SNAPSHOT_START = datetime(2026, 11, 21, 14, 30, 0)  # capture time of a snapshot folder's first image


@dataclass(frozen=True)
class Sequence:
    """A video (or image folder) with MOT ground truth; ``scale`` maps gt pixels to video pixels."""

    name: str
    video: Path
    gt: Path
    fps: float
    scale: float = 1.0
    source: str = ""  # the base sequence a derived one comes from

    @property
    def is_folder(self) -> bool:
        return self.video.is_dir()


# MOT17 sample sequences that show the same street and people as a base sequence (MOT17-09 is
# ADL-Rundle-6's scene): an "absent" query from them would be present.
SAME_SCENE = {"adl": "MOT17-09"}


def base_sequences() -> dict[str, Sequence]:
    """The shared sequences as they are."""
    mot15, hd = ASSETS / "mot15", ASSETS / "hd"
    return {
        "pets": Sequence("PETS09-S2L1", ASSETS / "video/vtest_pets09_s2l1_480x360.mp4",
                         mot15 / "PETS09-S2L1/gt/gt.txt", 10.0, 0.625, "pets"),
        "tud": Sequence("TUD-Campus", mot15 / "TUD-Campus/TUD-Campus.mp4", mot15 / "TUD-Campus/gt/gt.txt",
                        25.0, 1.0, "tud"),
        "adl": Sequence("ADL-Rundle-6", hd / "ADL-Rundle-6/ADL-Rundle-6.mp4", hd / "ADL-Rundle-6/gt/gt.txt",
                        30.0, 1.0, "adl"),
    }  # fmt: skip


def is_subsampled(seq: Sequence) -> bool:
    """A video of a base sequence with fewer frames per second than it: ``@Nfps``, ``@Nfps+K``, and the
    interlaced DVR copies (``-woven``: two fields to a frame). Snapshot folders are not videos."""
    source = base_sequences().get(seq.source)
    return source is not None and seq.fps < source.fps and not seq.is_folder


def read_gt(seq: Sequence) -> np.ndarray:
    """Rows (frame 0-based, id, x1, y1, x2, y2) in video pixels."""
    raw = np.loadtxt(seq.gt, delimiter=",", ndmin=2)
    x, y, w, h = (raw[:, k] * seq.scale for k in range(2, 6))
    return np.stack([raw[:, 0] - 1, raw[:, 1], x, y, x + w, y + h], axis=1)


def write_gt(rows: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{int(f) + 1},{int(i)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,1,1"
        for f, i, x1, y1, x2, y2 in rows
    ]
    path.write_text("\n".join(lines) + "\n")


def frames_of(video: Path) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    try:
        while True:
            ok, img = cap.read()
            if not ok:
                return
            yield img
    finally:
        cap.release()


def write_video(
    path: Path,
    frames: Iterator[np.ndarray],
    fps: float,
    crf: int = 20,
    times: list[float] | None = None,
    sar: Fraction | None = None,
    interlaced: bool = False,
) -> int:
    """H.264 MP4 (yuv420p, no B-frames, as CCTV recorders write) via PyAV; returns the frame count.
    With ``times`` (seconds, one per frame) the frames carry them (a variable frame rate); ``sar``
    marks the pixels' shape; ``interlaced`` codes and flags the frames as interlaced."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.mp4")
    n = 0
    with av.open(str(tmp), "w", format="mp4") as c:
        s = None
        for img in frames:
            if s is None:
                s = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                s.width, s.height, s.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
                s.options = {"preset": "veryfast", "crf": str(crf), "bf": "0", "g": str(round(2 * fps) or 1)}
                s.options |= {"x264-params": "interlaced=1"} if interlaced else {}
                if sar:
                    s.codec_context.sample_aspect_ratio = sar
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            if times is not None:
                frame.pts, frame.time_base = round(times[n] * 1000), Fraction(1, 1000)
                s.codec_context.time_base = Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
            n += 1
        if s is not None:
            for p in s.encode():
                c.mux(p)
    tmp.replace(path)
    return n


def cut(source: Path, out: Path, first: int, frames: int) -> Path:
    """Frames ``first`` to ``first + frames`` of a video as a video of their own (same frame rate)."""
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    write_video(out, itertools.islice(frames_of(source), first, first + frames), fps)
    return out


def derived_files(out: Path, name: str) -> tuple[Path, Path, bool]:
    """A derived sequence's video and ground truth under ``out``, and whether they are still to be
    built (each is built once, then reused)."""
    folder = out / name
    video, gt = folder / f"{name}.mp4", folder / "gt" / "gt.txt"
    return video, gt, not (video.exists() and gt.exists())


def picked(src_fps: float, fps: float, n: int, phase: int = 0) -> list[int]:
    step = src_fps / fps
    return sorted({phase + round(k * step) for k in range(n) if phase + round(k * step) < n})


def subsampled(seq: Sequence, fps: float, out: Path, phase: int = 0) -> Sequence:
    name = f"{seq.name}@{fps:g}fps" + (f"+{phase}" if phase else "")
    video, gt, missing = derived_files(out, name)
    if missing:
        images = list(frames_of(seq.video))
        keep = picked(seq.fps, fps, len(images), phase)
        write_video(video, (images[f] for f in keep), fps)
        renumber_gt(seq, keep, gt)
    return Sequence(name, video, gt, fps, 1.0, seq.source)


def renumbered(rows: np.ndarray, keep: list[int]) -> np.ndarray:
    """Ground-truth rows of the ``keep`` frames only, numbered by their place in ``keep``."""
    new_index = {f: k for k, f in enumerate(keep)}
    rows = rows[np.isin(rows[:, 0], keep)]
    rows[:, 0] = [new_index[int(f)] for f in rows[:, 0]]
    return rows


def renumber_gt(seq: Sequence, keep: list[int], gt: Path) -> None:
    write_gt(renumbered(read_gt(seq), keep), gt)


def snapshot_folder(seq: Sequence, fps: float, out: Path, camera: str = "cam1") -> Sequence:
    """The frames of ``seq`` at ``fps`` as JPEG files named with their capture time."""
    name = f"{seq.name}@{fps:g}fps-images"
    folder = out / name
    images_dir, gt = folder / "images", folder / "gt" / "gt.txt"
    if not (images_dir.is_dir() and gt.exists()):
        images_dir.mkdir(parents=True, exist_ok=True)
        images = list(frames_of(seq.video))
        keep = picked(seq.fps, fps, len(images))
        for f in keep:
            when = SNAPSHOT_START + timedelta(seconds=f / seq.fps)
            stamp = when.strftime("%Y%m%d_%H%M%S") + f"_{when.microsecond // 1000:03d}"
            cv2.imwrite(str(images_dir / f"{camera}_{stamp}.jpg"), images[f], [cv2.IMWRITE_JPEG_QUALITY, 92])
        renumber_gt(seq, keep, gt)
    return Sequence(name, images_dir, gt, fps, 1.0, seq.source)


def empty_background(images: list[np.ndarray], samples: int = 41) -> np.ndarray:
    """The scene without its walkers: per-pixel median over frames spread through the video."""
    picks = np.linspace(0, len(images) - 1, min(samples, len(images))).round().astype(int)
    return np.median(np.stack([images[i] for i in picks]), axis=0).astype(np.uint8)


def in_hd_frame(
    seq: Sequence,
    scale: float,
    out: Path,
    anchor: tuple[float, float] = (0.55, 0.6),
    label: str = "",
    size: tuple[int, int] = HD,
) -> Sequence:
    """``seq`` scaled by ``scale`` inside a ``size`` frame (1920x1080, or 3840x2160: ``-in4k``) of its
    own empty background (enlarged to fill the frame): the people keep ``scale`` times their size in a
    much wider view."""
    name = f"{seq.name}-in{'4k' if size == UHD else '1080p'}@{label or f'{scale:g}'}"
    video, gt, missing = derived_files(out, name)
    if missing:
        images = list(frames_of(seq.video))
        h, w = images[0].shape[:2]
        sw, sh = round(w * scale), round(h * scale)
        if sw > size[0] or sh > size[1]:
            raise ValueError(f"{seq.name} at scale {scale} does not fit in {size[0]}x{size[1]}")
        cover = max(size[0] / w, size[1] / h)
        bg = cv2.resize(empty_background(images), (round(w * cover), round(h * cover)), cv2.INTER_CUBIC)
        bg = cv2.GaussianBlur(bg[: size[1], : size[0]], (0, 0), 1.5 * size[0] / HD[0])
        x0 = round((size[0] - sw) * anchor[0])
        y0 = round((size[1] - sh) * anchor[1])

        def frames() -> Iterator[np.ndarray]:
            for img in images:
                canvas = bg.copy()
                canvas[y0 : y0 + sh, x0 : x0 + sw] = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
                yield canvas

        write_video(video, frames(), seq.fps)
        rows = read_gt(seq)
        rows[:, 2:6] = rows[:, 2:6] * scale + np.array([x0, y0, x0, y0])
        write_gt(rows, gt)
    return Sequence(name, video, gt, seq.fps, 1.0, seq.source)


def at_night(seq: Sequence, out: Path) -> Sequence:
    """``seq`` without colour (grey in all three channels), as an infrared camera records it."""
    name = f"{seq.name}-night"
    video, gt, missing = derived_files(out, name)
    if missing:
        write_video(video, (grey(f) for f in frames_of(seq.video)), seq.fps)
        write_gt(read_gt(seq), gt)
    return Sequence(name, video, gt, seq.fps, 1.0, seq.source)  # gt written in video pixels


BUILDERS: dict[str, Callable[[Path], Sequence]] = {}


def _register() -> None:
    base = base_sequences()
    for key in ("pets", "tud", "adl"):
        for fps in (1, 2, 3, 5, 6):
            if fps < base[key].fps:
                BUILDERS[f"{key}@{fps}fps"] = lambda out, s=base[key], f=fps: subsampled(s, f, out)
                step = base[key].fps / fps
                for phase in range(1, round(step)):  # every other sample of the footage
                    name = f"{key}@{fps}fps+{phase}"
                    BUILDERS[name] = lambda out, s=base[key], f=fps, p=phase: subsampled(s, f, out, p)
                    if phase not in (round(step / 3), round(2 * step / 3)):
                        MORE_SAMPLES.add(name)  # not built by default: two more samples tell most
        for fps in (1, 2):
            BUILDERS[f"{key}@{fps}fps-images"] = lambda out, s=base[key], f=fps: snapshot_folder(s, f, out)
        BUILDERS[f"{key}-night"] = lambda out, s=base[key]: at_night(s, out)
        for k in ("pan", "ptz", "shake", "crop"):
            BUILDERS[f"{key}-{k}"] = lambda out, s=base[key], k=k: _built_in(MOVING, s, out, k)
        BUILDERS[f"{key}-vfr"] = lambda out, s=base[key]: _built_in(VARIABLE_RATE, s, out)
        for kind in ("halfd1", "2cif", "d1"):
            BUILDERS[f"{key}-{kind}"] = lambda out, s=base[key], k=kind: _built_in(SQUEEZED, s, out, k)
        for tag, flagged in (("woven", False), ("woven-flagged", True)):
            BUILDERS[f"{key}-{tag}"] = lambda out, s=base[key], f=flagged: _built_in(WOVEN, s, out, f)
    BUILDERS["pets-in1080p@1"] = lambda out: in_hd_frame(base["pets"], 1.0, out)
    BUILDERS["tud-in1080p@0.5"] = lambda out: in_hd_frame(base["tud"], 0.5, out, (0.3, 0.7))
    BUILDERS["adl-in1080p@0.33"] = lambda out: in_hd_frame(base["adl"], 1 / 3, out, (0.7, 0.55), "0.33")
    BUILDERS["adl-in1080p@0.5"] = lambda out: in_hd_frame(base["adl"], 0.5, out, (0.2, 0.5))
    BUILDERS["pets-in1080p@0.8"] = lambda out: in_hd_frame(base["pets"], 0.8, out, (0.3, 0.4))
    BUILDERS["pets-in4k@1"] = lambda out: in_hd_frame(base["pets"], 1.0, out, (0.4, 0.6), size=UHD)
    BUILDERS["pets-in4k@1.5"] = lambda out: in_hd_frame(base["pets"], 1.5, out, (0.7, 0.3), size=UHD)
    BUILDERS["adl-in4k@1"] = lambda out: in_hd_frame(base["adl"], 1.0, out, (0.5, 0.5), size=UHD)
    BUILDERS["loop-1h"] = lambda out: _built_in(HOUR_LOOP, out)


MORE_SAMPLES: set[str] = set()  # the samples beyond the first three of a rate (built when named)
MOVING, VARIABLE_RATE = "moving_views.in_window", "variable_rate.variable_rate"  # bench.<module>.<builder>
SQUEEZED, WOVEN = "dvr_footage.squeezed", "dvr_footage.woven"
HOUR_LOOP = "hour_loop.hour_loop"


def _built_in(where: str, *args: object) -> Sequence:
    """A derivation made by ``bench.<module>.<builder>`` (a module building on this one)."""
    module, builder = where.rsplit(".", 1)
    return getattr(importlib.import_module(f"bench.{module}"), builder)(*args)


_register()


def sequence(key: str, out: Path = DEFAULT_OUT) -> Sequence:
    """A base sequence by key (``pets``, ``tud``, ``adl``) or a derived one (built on first use)."""
    base = base_sequences()
    if key in base:
        return base[key]
    if key not in BUILDERS:
        raise KeyError(f"unknown sequence {key!r}; known: {', '.join([*base, *BUILDERS])}")
    return BUILDERS[key](out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--only",
        nargs="+",
        default=None,
        help="sequence keys (default: all but loop-1h and the samples past three of a rate)",
    )
    a = ap.parse_args()
    keys = a.only or [*base_sequences(), *(k for k in BUILDERS if k != "loop-1h" and k not in MORE_SAMPLES)]
    for key in keys:
        s = sequence(key, a.out)
        gt = read_gt(s)
        heights = gt[:, 5] - gt[:, 3]
        print(
            f"{key:24s} {s.video}  fps={s.fps:g} gt_boxes={len(gt)} ids={len(np.unique(gt[:, 1]))} "
            f"height p10/50/90={np.percentile(heights, 10):.0f}/{np.median(heights):.0f}/"
            f"{np.percentile(heights, 90):.0f} px",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
