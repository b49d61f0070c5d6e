"""GUI-side control of indexing: one worker thread at a time, a queue, cancel, clean shutdown."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from gui.ray_indexing import RayIndexWorker
from gui.workers import IndexWorker, WorkerThread, run_in_thread
from pipeline.engine import ModelSet
from pipeline.indexer import IndexConfig
from pipeline.storage import Library
from pipeline.types import ProgressEvent, Stage

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 10_000  # a cancel takes effect within one detector batch (well under a second)


class IndexingController(QObject):
    """Queues videos for the indexing worker and relays its signals.

    The ModelSet is created here but only ever used on the indexing thread (one worker at a time),
    so its models load once and stay loaded between batches of videos.
    """

    queued = Signal(list)  # [str] paths accepted for indexing
    progress = Signal(object)  # ProgressEvent
    video_finished = Signal(object)  # ProgressEvent (DONE, SKIPPED, CANCELLED)
    video_failed = Signal(str, str)
    running_changed = Signal(bool)
    finished = Signal()  # the worker thread has ended (after a cancel too)

    def __init__(
        self,
        library: Library,
        make_models: Callable[[], ModelSet] = ModelSet,
        config: IndexConfig = IndexConfig(),
        parent: QObject | None = None,
        cluster: str | None = None,
    ):
        super().__init__(parent)
        self.library, self.config = library, config
        self.cluster = cluster  # a Ray cluster ("local" or an address) to index on, else this process
        self._make_models = make_models
        self._models: ModelSet | None = None
        self._runner: WorkerThread | None = None
        self._worker: IndexWorker | RayIndexWorker | None = None
        self._waiting: list[str] = []  # queued while a finishing worker stopped taking work
        self._shutting_down = False

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def worker(self) -> IndexWorker | RayIndexWorker | None:
        """The worker of the current run (None when idle)."""
        return self._worker

    @property
    def thread(self) -> object | None:
        """The QThread of the current worker (tests check it has ended)."""
        return self._runner.thread if self._runner is not None else None

    def add(self, paths: Sequence[str | Path]) -> list[str]:
        """Queue videos (resolved paths); returns those queued. Already queued ones are ignored."""
        if self._shutting_down:
            return []
        items = [str(Path(p).expanduser().resolve()) for p in paths]
        items = list(dict.fromkeys(p for p in items if p not in self._waiting))
        if not items:
            return []
        self.queued.emit(items)
        if self._worker is not None and self._worker.enqueue(items):
            return items
        if self._runner is not None:  # the worker is ending: start the next run when it has
            self._waiting += items
            return items
        self._start(items)
        return items

    def waiting(self) -> list[str]:
        """The videos queued and not started yet (closing the window keeps them: gui.unindexed)."""
        return [*(self._worker.waiting() if self._worker is not None else []), *self._waiting]

    def cancel(self, path: str | None = None) -> None:
        """Stop one video (queued or running), or everything; what was indexed is kept."""
        if path is None:
            for p in self._waiting:
                self.video_finished.emit(ProgressEvent(p, Stage.CANCELLED, message="cancelled"))
            self._waiting = []
        elif path in self._waiting:
            self._waiting.remove(path)
            self.video_finished.emit(ProgressEvent(path, Stage.CANCELLED, message="cancelled"))
            return
        if self._worker is not None:
            self._worker.cancel(path)

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> None:
        """Cancel everything and wait for the thread to end (window closing).

        A cancel takes effect after the detector batch in flight; only a first model load can take
        longer, and the wait goes on then (a QThread destroyed while running would kill the app).
        """
        self._shutting_down = True
        self._waiting = []
        if self._runner is None:
            return
        if not self._runner.stop(timeout_ms):
            log.warning("indexing thread still busy after %d ms; waiting for it", timeout_ms)
            self._runner.thread.wait()
        self._on_thread_finished()

    def _start(self, paths: list[str]) -> None:
        active = self.library.active_reid()
        if self._models is None or (active and self._models.reid_id != active["id"]):
            self._models = self._make_models()  # first run, or the library switched ReID models
        if self.cluster:
            worker = RayIndexWorker(self.library, self._models.config, paths, self.config, self.cluster)
        else:
            worker = IndexWorker(self.library, self._models, paths, self.config)
        worker.progress.connect(self.progress)
        worker.video_finished.connect(self.video_finished)
        worker.video_failed.connect(self.video_failed)
        self._worker = worker
        self._runner = run_in_thread(worker, "spotter-index", self._on_thread_finished)
        self.running_changed.emit(True)

    @Slot()
    def _on_thread_finished(self) -> None:
        runner = self._runner
        if runner is None:
            return
        runner.wait()
        self._runner, self._worker = None, None
        waiting, self._waiting = self._waiting, []
        if waiting and not self._shutting_down:
            self._start(waiting)
            return
        self.running_changed.emit(False)
        self.finished.emit()
