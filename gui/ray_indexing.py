"""Indexing from the app on a Ray cluster (``main.py --ray local|ADDRESS``, or ``cluster=`` in the
settings file): a worker with the signals of :class:`gui.workers.IndexWorker`, driving one
:class:`pipeline.distributed.ray_index.RayIndexJob` per batch of videos on its own thread.

Each video's row shows its own progress (a long video's segments added up) and the job's videos are
cancelled one by one or all together, as with local indexing. A Ray job takes its videos when it
starts: videos dropped in while it runs wait for the next job (the controller starts it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from PySide6.QtCore import Slot

from gui.workers import PROGRESS_INTERVAL_S, IndexSignals, error_text
from pipeline.engine import ModelConfig, SpotterError
from pipeline.indexer import IndexConfig
from pipeline.storage import Library
from pipeline.types import ProgressEvent, Stage

log = logging.getLogger(__name__)


class RayIndexWorker(IndexSignals):
    def __init__(
        self,
        library: Library,
        models: ModelConfig,
        paths: Iterable[str],
        config: IndexConfig,
        cluster: str,
        interval_s: float = PROGRESS_INTERVAL_S,
    ):
        super().__init__()
        self.library, self.models, self.config, self.cluster = library, models, config, cluster
        self.paths = list(paths)
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._job = None
        self._stop = threading.Event()
        self._pending_cancels: set[str] = set()
        self._done: set[str] = set()

    @property
    def current(self) -> str | None:
        return None  # a job indexes several videos at once

    def enqueue(self, paths: list[str]) -> bool:
        return False  # a job's videos are fixed when it starts: the next job takes these

    def waiting(self) -> list[str]:
        return []  # a job starts all its videos at once: each has its row

    def cancel(self, path: str | None = None) -> None:
        """Stop one video, or the whole job. Thread-safe."""
        with self._lock:
            if path is None:
                self._stop.set()
                if self._job is not None:
                    self._job.cancel()
            elif self._job is not None:
                self._job.cancel_video(path)
            else:
                self._pending_cancels.add(path)

    @Slot()
    def run(self) -> None:
        import time

        from pipeline.distributed.ray_index import RayIndexJob, start_ray

        try:
            start_ray(self.cluster)
            with self._lock:
                if self._stop.is_set():
                    return
                self._job = RayIndexJob(self.paths, self.library, self.models, self.config)
                for path in self._pending_cancels:
                    self._job.cancel_video(path)
            last, started = 0.0, {}  # video -> when its progress was first seen
            for p in self._job.run():
                if p.finished is not None:
                    self._finished(p.finished)
                elif time.monotonic() - last >= self._interval_s:
                    last = time.monotonic()
                    now = time.monotonic()
                    for path, (done, total, tracks, seconds) in p.per_video.items():
                        if done < total:
                            elapsed = now - started.setdefault(path, now)
                            ev = ProgressEvent(
                                path, Stage.INDEXING, done, total, elapsed, seconds, tracks, device=p.hardware
                            )
                            self.progress.emit(ev)
        except Exception as e:  # the cluster cannot be reached, Ray is missing, the library fails
            if not isinstance(e, SpotterError):
                log.exception("indexing on Ray failed")
            for path in self.paths:
                if path not in self._done:
                    self.video_failed.emit(path, error_text(e))
        finally:
            self.finished.emit()

    def _finished(self, outcome: object) -> None:
        path = outcome.stored_path or outcome.video
        self._done.add(path)
        if outcome.stage == "failed":
            self.video_failed.emit(path, outcome.message)
            return
        stage = Stage(outcome.stage)
        self.video_finished.emit(
            ProgressEvent(
                path, stage, outcome.frames, outcome.frames, tracks=outcome.tracks, message=outcome.message
            )
        )
