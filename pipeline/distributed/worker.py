"""What a Ray worker runs: one :class:`IndexWorker` actor per worker process, models loaded once.

The actor indexes whole videos with the ordinary indexer (``pipeline.indexer.index_video``):

- into the shared library itself when the library is on a server (PostgreSQL): chunks commit as
  they are indexed, the per-video advisory lock keeps a second worker off a video, and a retry after
  a worker died resumes from the last committed chunk;
- into a private SQLite library in the worker's temporary folder when the job's library is an
  SQLite file (which lives on the driver's machine): the finished library's bytes go back to the
  driver, which copies the video in (``Library.copy_video_from``).

Progress goes to the job's :class:`ProgressBoard` actor (at most a few messages a second), and the
board also carries the driver's cancel request back to the workers.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from models.loader import ModelConfig, ModelSet
from models.providers import limit_cpu_threads
from pipeline.errors import SpotterError
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library
from pipeline.types import Stage

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.5  # least time between two progress messages of one worker to the board
CANCEL_POLL_S = 1.0  # how often a worker asks the board whether the job was cancelled


@dataclass(frozen=True)
class VideoOutcome:
    """What a worker did with one video: the final stage, its message, tracks, and for an SQLite job
    the private library holding the video (bytes of the SQLite file; empty otherwise)."""

    video: str
    stage: str  # Stage value: done | skipped | cancelled | failed
    message: str
    tracks: int
    frames: int
    worker_pid: int
    stored_path: str = ""  # the video's path as the library stores it
    library_bytes: bytes = b""

    @classmethod
    def without_work(cls, path: str | Path, stage: str, message: str) -> VideoOutcome:
        """The outcome of a video nothing was indexed of (failed before it began, or cancelled)."""
        return cls(str(path), stage, message, 0, 0, 0, str(path))


class ProgressBoard:
    """Latest progress of every video of a job, and the job's cancel flag (a Ray actor)."""

    def __init__(self) -> None:
        # video -> (frames done, total, worker pid, tracks so far, seconds of video per frame)
        self.progress: dict[str, tuple[int, int, int, int, float]] = {}
        self.cancelled = False
        self.cancelled_videos: set[str] = set()

    def report(self, video: str, done: int, total: int, pid: int, tracks: int = 0, spf: float = 0.0) -> bool:
        """Record progress; returns whether the job was cancelled."""
        self.progress[video] = (done, total, pid, tracks, spf)
        return self.cancelled

    def snapshot(self) -> dict[str, tuple[int, int, int, int, float]]:
        return dict(self.progress)

    def cancel(self) -> None:
        self.cancelled = True

    def cancel_video(self, video: str) -> None:
        self.cancelled_videos.add(video)

    def is_cancelled(self, key: str = "") -> bool:
        """Whether the job, or the video of ``key`` (a path, or ``path@first-end`` for a segment), was
        cancelled."""
        return self.cancelled or key.split("@")[0] in self.cancelled_videos


class IndexWorker:
    """A Ray actor: loads the models once, then indexes the videos it is given, one at a time."""

    def __init__(
        self, models: ModelConfig, config: IndexConfig, db: str | None, board: object, cpu_threads: int = 0
    ):
        limit_cpu_threads(cpu_threads)  # its share of the node's cores (0: all of them)
        self.models = ModelSet(models)
        self.config, self.db, self.board = config, db, board
        self._library = Library(db) if db else None
        self._last_poll, self._cancelled, self._key = 0.0, False, ""

    def pid(self) -> int:
        return os.getpid()

    def device(self) -> str:
        return self.models.device.label

    def _cancel(self) -> bool:
        now = time.monotonic()
        if now - self._last_poll >= CANCEL_POLL_S:
            import ray

            self._cancelled = bool(ray.get(self.board.is_cancelled.remote(self._key)))
            self._last_poll = now
        return self._cancelled

    def index(
        self,
        video: str,
        force: bool,
        seed: bytes = b"",
        segment: tuple[int, int] | None = None,
        label: str = "",
    ) -> VideoOutcome:
        """Index one video (or the frames ``segment`` of it); errors that concern the video come back as
        a ``failed`` outcome. For an SQLite job, ``seed`` is a library holding what the job's library
        has of the video (empty: none). A segment is always indexed into a private library (the driver
        stitches the parts); ``label`` names it in progress reports."""
        if self._library is not None and segment is None:
            return self._run(video, self._library, force)
        with tempfile.TemporaryDirectory(prefix="spotter-ray-") as tmp:
            if seed:
                (Path(tmp) / "part.db").write_bytes(seed)
            private = Library(Path(tmp) / "part.db")
            outcome = self._run(video, private, force, segment, label)
            private.close()
            if outcome.stage in (Stage.DONE.value, Stage.CANCELLED.value):
                data = _sqlite_bytes(Path(tmp) / "part.db")
                return VideoOutcome(**{**outcome.__dict__, "library_bytes": data})
            return outcome

    def _run(
        self,
        video: str,
        library: Library,
        force: bool,
        segment: tuple[int, int] | None = None,
        label: str = "",
    ) -> VideoOutcome:
        last = 0.0
        pid = os.getpid()
        final = None
        key = self._key = label or video
        self._last_poll, self._cancelled = 0.0, False
        first, total = (segment[0], segment[1] - segment[0]) if segment else (0, 0)
        try:
            for ev in index_video(video, library, self.models, self.config, self._cancel, force, segment):
                now = time.monotonic()
                if ev.stage == Stage.INDEXING and now - last >= PROGRESS_INTERVAL_S:
                    last = now
                    done = ev.frames_done - first
                    spf = ev.video_s_done / max(ev.frames_done - first, 1) if ev.video_s_done else 0.0
                    self.board.report.remote(key, done, total or ev.frames_total, pid, ev.tracks, spf)
                final = ev
        except SpotterError as e:
            return VideoOutcome(key, "failed", str(e), 0, 0, pid)
        assert final is not None
        done = final.frames_done - first
        self.board.report.remote(key, done, max(total or final.frames_total, done), pid, final.tracks)
        return VideoOutcome(
            key, final.stage.value, final.message, final.tracks, final.frames_done, pid, final.video_path
        )


def _sqlite_bytes(path: Path) -> bytes:
    """The library file as one self-contained database (its write-ahead log folded in)."""
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes()
