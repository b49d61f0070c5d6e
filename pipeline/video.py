"""Reading video files with OpenCV: probing, fingerprints, frames with true timestamps, strides.

A file that is not a video, is empty, or has no decodable frame raises :class:`VideoError` at
:func:`probe`. A file damaged part-way is read up to the damage: :class:`VideoReader` stops there and
reports ``truncated``, so what was decoded before is kept.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import VideoError

log = logging.getLogger(__name__)

FINGERPRINT_BYTES = 1 << 20  # bytes hashed at each end of the file
DEFAULT_FPS = 25.0  # used when a container reports no frame rate
MIN_FRAMES = 2  # fewer decodable frames than this is a still image, not a video
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


def open_capture(path: Path) -> cv2.VideoCapture:
    """An FFmpeg-backed capture (never the image-sequence backend, which reads '%d' patterns)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise VideoError(f"{path}: not a video OpenCV can decode")
    return cap


def probe(path: str | Path) -> VideoInfo:
    """Check a file is a decodable video and read its properties; raises :class:`VideoError`."""
    path = Path(path).expanduser().resolve()
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
    cap = open_capture(path)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if fps and math.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        decoded = 0
        while decoded < MIN_FRAMES and cap.grab():
            decoded += 1
        if decoded == 0:
            raise VideoError(f"{path}: no decodable frame (not a video, or damaged)")
        if decoded < MIN_FRAMES:
            raise VideoError(f"{path}: a still image or a single frame, not a video")
        ok, img = cap.retrieve()
        if not ok or img is None:
            raise VideoError(f"{path}: frames do not decode (unsupported codec or damaged)")
        h, w = img.shape[:2]
    finally:
        cap.release()
    return VideoInfo(path, st.st_size, st.st_mtime, fp, float(fps), max(count, decoded), int(w), int(h))


class VideoReader:
    """Iterates the frames of a video from ``start_frame``, yielding every ``stride``-th one.

    ``stride`` may be changed between two frames (adaptive sampling): the next frame yielded is the
    one ``stride`` frames after the last. Skipped frames are grabbed but not converted, which is much
    cheaper than a full read. Timestamps
    come from the container; where it gives none or they do not increase, they are derived from fps.
    After iteration ``frames_read`` is the number of frames the stream held (up to any damage) and
    ``truncated`` says whether it ended well before the container's frame count.
    """

    def __init__(self, info: VideoInfo, start_frame: int = 0, stride: int = 1):
        self.info = info
        self.start_frame = max(int(start_frame), 0)
        self.stride = max(int(stride), 1)
        self.frames_read = 0
        self.truncated = False

    def __iter__(self) -> Iterator[Frame]:
        cap = open_capture(self.info.path)
        try:
            index = -1
            prev_ts = -1.0
            wanted = self.start_frame
            while True:
                if not cap.grab():
                    break
                index += 1
                ts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if not math.isfinite(ts) or (index > 0 and ts <= prev_ts):
                    ts = prev_ts + 1.0 / self.info.fps if index > 0 else 0.0
                prev_ts = ts
                if index < wanted:
                    continue
                ok, img = cap.retrieve()
                if not ok or img is None:
                    log.warning("%s: frame %d does not decode; stopping there", self.info.path, index)
                    break
                yield Frame(index, ts, img)
                wanted = index + max(int(self.stride), 1)  # read after the consumer had its say
            self.frames_read = index + 1
            self.truncated = self.frames_read < TRUNCATION_TOLERANCE * self.info.frame_count
            if self.truncated:
                log.warning(
                    "%s: stream ends at frame %d of %d (truncated or damaged); kept what decoded",
                    self.info.path,
                    self.frames_read,
                    self.info.frame_count,
                )
        finally:
            cap.release()


def read_frame(path: Path, frame_index: int) -> np.ndarray:
    """Decode one frame exactly (reads forward from the start; for thumbnails and tests, not playback)."""
    info = probe(path)
    for frame in VideoReader(info, start_frame=frame_index):
        return frame.image
    raise VideoError(f"{path}: no frame {frame_index}")
