"""Plain values passed between the engine, the CLI and the GUI (immutable, no ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum

import numpy as np

# Columns of a track's box path: one row per frame where the person was observed.
PATH_FRAME, PATH_TS, PATH_X1, PATH_Y1, PATH_X2, PATH_Y2, PATH_SCORE = range(7)
PATH_COLUMNS = 7

Box = tuple[float, float, float, float]  # (x1, y1, x2, y2) in an image's pixels


@dataclass(frozen=True)
class TrackRecord:
    """A finished track ready to store: where the person was, and what they look like."""

    track_id: int
    path: np.ndarray  # (N, 7) float64: frame, ts, x1, y1, x2, y2, score
    embedding: np.ndarray  # (D,) L2-normalised mean of the crop embeddings
    crop_embeddings: np.ndarray  # (K, D) embeddings of the chosen crops
    crop_frames: tuple[int, ...]
    thumbnail_jpeg: bytes
    quality: float  # best crop quality, 0..1
    colours: np.ndarray | None = None  # (2, len(PALETTE)) clothing colour shares (pipeline.clothing)

    @property
    def first_frame(self) -> int:
        return int(self.path[0, PATH_FRAME])

    @property
    def last_frame(self) -> int:
        return int(self.path[-1, PATH_FRAME])


def box_at(path: np.ndarray, frame_index: int, max_gap: int | None = None) -> np.ndarray | None:
    """The person's box (x1, y1, x2, y2) at ``frame_index``, linearly interpolated between the
    observed frames around it; None outside the path or inside a gap longer than ``max_gap`` frames."""
    frames = path[:, PATH_FRAME]
    if not len(frames) or frame_index < frames[0] or frame_index > frames[-1]:
        return None
    j = int(np.searchsorted(frames, frame_index))
    if frames[j] == frame_index:
        return path[j, PATH_X1 : PATH_Y2 + 1].copy()
    f0, f1 = frames[j - 1], frames[j]
    if max_gap is not None and f1 - f0 > max_gap:
        return None
    w = (frame_index - f0) / (f1 - f0)
    return (1 - w) * path[j - 1, PATH_X1 : PATH_Y2 + 1] + w * path[j, PATH_X1 : PATH_Y2 + 1]


def union_box(path: np.ndarray) -> tuple[float, float, float, float]:
    """The smallest box (x1, y1, x2, y2) holding every box of a track's path (zeros for none)."""
    boxes = np.asarray(path).reshape(-1, PATH_COLUMNS)[:, PATH_X1 : PATH_Y2 + 1]
    if not len(boxes):
        return 0.0, 0.0, 0.0, 0.0
    lo, hi = boxes.min(axis=0), boxes.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[2]), float(hi[3])


def overlapping(boxes: np.ndarray, region: tuple[float, float, float, float]) -> np.ndarray:
    """(N,) whether each of (N, 4) boxes (x1, y1, x2, y2) overlaps ``region``."""
    x1, y1, x2, y2 = region
    return (boxes[:, 0] < x2) & (boxes[:, 2] > x1) & (boxes[:, 1] < y2) & (boxes[:, 3] > y1)


def enters(path: np.ndarray, region: tuple[float, float, float, float]) -> bool:
    """Whether any box of a track's path overlaps ``region`` (x1, y1, x2, y2)."""
    return bool(
        overlapping(np.asarray(path).reshape(-1, PATH_COLUMNS)[:, PATH_X1 : PATH_Y2 + 1], region).any()
    )


def clock_at(start: datetime | None, offset_s: float) -> datetime | None:
    """The wall-clock time ``offset_s`` seconds into a video that started at ``start`` (None where
    unknown, or beyond the calendar: a start typed as year 9999 before such times were refused).

    Times are this computer's local time, and a recording runs on through a change to or from
    daylight saving time: 79 s into a video started at 01:59:30 on the night the clocks go forward
    is 03:00:49, not 02:00:49, a time that never was (a sweep)."""
    if start is None:
        return None
    step = timedelta(seconds=float(offset_s))
    try:
        return (start.astimezone() + step).astimezone().replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):  # beyond what this computer's zone rules cover
        try:
            return start + step
        except OverflowError:
            return None


def elapsed_s(a: datetime, b: datetime) -> float:
    """Seconds from local wall-clock time ``a`` to ``b`` as they passed (:func:`clock_at`: an hour
    less across the night the clocks go forward)."""
    try:
        return (b.astimezone() - a.astimezone()).total_seconds()
    except (OverflowError, OSError, ValueError):
        return (b - a).total_seconds()


def stored_local(stored: datetime) -> datetime:
    """A time the library stores in UTC (without a zone: when a case was opened, a mark made) in this
    computer's zone, the zone attached (``case show`` and the case report say it so)."""
    return stored.replace(tzinfo=timezone.utc).astimezone()


def end_second(end: datetime) -> datetime:
    """The clock time an operator is shown for the end of a span: the second that covers it, so the
    span shown holds all of it (0:00.0-0:02.8 from 09:00:00 reads 09:00:00-09:00:03, not 09:00:02).
    The command line and the case report say end times by this one rule."""
    return end + timedelta(microseconds=1_000_000 - end.microsecond) if end.microsecond else end


@dataclass(frozen=True)
class Hit:
    """One search result: a track of one video that matches the query."""

    hit_id: int | None  # row id in the hits table once persisted
    search_id: int | None
    video_id: int
    video_path: str
    track_pk: int  # tracks table row id
    track_id: int  # per-video track number
    score: float  # cosine similarity, higher = more similar
    start_frame: int
    end_frame: int  # inclusive
    start_s: float
    end_s: float
    fps: float
    frames: tuple[tuple[int, float, float, float, float], ...]  # (frame, x1, y1, x2, y2) observed
    person: int = 0  # linked chain of tracks in this video (hits of one person share it and a score)
    camera: str = ""
    video_start: datetime | None = None  # the video's recording start (naive local time), if known

    @property
    def start_time(self) -> datetime | None:
        """Wall-clock time of the hit's start (None when the video's start is unknown)."""
        return clock_at(self.video_start, self.start_s)

    @property
    def end_time(self) -> datetime | None:
        return clock_at(self.video_start, self.end_s)

    def to_json(self) -> dict:
        """The ``search --json`` hit object (a stable interface for tools outside the project)."""
        return {
            "camera": self.camera,
            "start_time": iso_time(self.start_time),
            "end_time": iso_time(self.end_time),
            "hit_id": self.hit_id,
            "video": self.video_path,
            "track_id": self.track_id,
            "score": round(float(self.score), 6),
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "frames": [
                [f, round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)]
                for f, x1, y1, x2, y2 in self.frames
            ],
        }

    def path_array(self) -> np.ndarray:
        """Frames as a (N, 7) path array (ts and score columns zero) for :func:`box_at`."""
        out = np.zeros((len(self.frames), PATH_COLUMNS))
        if self.frames:
            arr = np.asarray(self.frames, dtype=np.float64)
            out[:, PATH_FRAME] = arr[:, 0]
            out[:, PATH_X1 : PATH_Y2 + 1] = arr[:, 1:5]
        return out


def iso_time(when: datetime | None) -> str | None:
    """ISO 8601 (milliseconds) of a clock time, or None."""
    return None if when is None else when.isoformat(timespec="milliseconds")


class Stage(str, Enum):
    PROBING = "probing"
    INDEXING = "indexing"
    DONE = "done"
    SKIPPED = "skipped"  # already indexed with the same models and settings
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class ProgressEvent:
    """Indexing progress of one video, yielded by the indexer about once per batch of frames."""

    video_path: str
    stage: Stage
    frames_done: int = 0
    frames_total: int = 0
    elapsed_s: float = 0.0
    video_s_done: float = 0.0
    tracks: int = 0
    message: str = ""
    device: str = ""
    video_id: int | None = None
    report_json: str = ""  # with DONE: what indexing did, as JSON (see pipeline.index_report)
    reason: str = ""  # why this run does what it does (resuming; indexing again: the file changed)

    @property
    def fraction(self) -> float:
        return min(self.frames_done / self.frames_total, 1.0) if self.frames_total else 0.0

    @property
    def x_realtime(self) -> float:
        """Seconds of video indexed per second of wall time."""
        return self.video_s_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.frames_done <= 0 or self.elapsed_s <= 0 or not self.frames_total:
            return None
        return self.elapsed_s * (self.frames_total - self.frames_done) / self.frames_done


@dataclass(frozen=True)
class VideoSummary:
    """A library entry as the CLI and the GUI show it."""

    video_id: int
    path: str
    status: str
    fps: float
    frame_count: int
    frames_done: int
    duration_s: float
    width: int
    height: int
    tracks: int
    message: str = ""
    models: tuple[str, ...] = field(default_factory=tuple)
    report_json: str = "{}"  # what indexing did (pipeline.index_report)
    aliases: tuple[str, ...] = ()  # other paths of the same content (indexed once)
    camera: str = ""
    start_time: datetime | None = None  # recording start, naive local time (pipeline.cameras)
    running: bool = False  # an indexer holds the video now (its status is "indexing")

    @property
    def state(self) -> str:
        """The status as people are told it: a run left "indexing" that no indexer holds now was
        interrupted (it resumes when indexed again)."""
        if self.status != "indexing":
            return self.status
        return "indexing" if self.running else "interrupted"


def fmt_time(seconds: float) -> str:
    """``m:ss.s`` (or ``h:mm:ss.s``) for an operator."""
    seconds = round(max(float(seconds), 0.0), 1)  # 59.96 s is 1:00.0, not 0:60.0
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"{int(m)}:{s:04.1f}"
