"""Background work: a worker QObject on its own QThread drives one of the engine's generators.

The pattern (Qt for Python's, and superqt's): ``thread.started -> worker.run``; the worker checks a
cancel flag between the generator's yields and emits small immutable values (the engine's frozen
dataclasses, strings); ``worker.finished -> thread.quit``. Progress is throttled to about ten signals
a second. Workers never touch widgets: the GUI thread receives the signals through queued
connections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from pipeline.engine import ModelSet, SpotterError
from pipeline.evidence import EvidenceProgress, export_hits
from pipeline.export import ExportConfig
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library
from pipeline.types import Hit, ProgressEvent, Stage

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1  # least time between two progress signals (about 10 updates a second)
FINAL_STAGES = (Stage.DONE, Stage.SKIPPED, Stage.CANCELLED)


def error_text(e: BaseException) -> str:
    """One line for the operator: the engine's messages as they are, anything else with its type."""
    if isinstance(e, SpotterError):
        return str(e)
    return f"unexpected error ({type(e).__name__}: {e}); see the log"


class WorkerThread:
    """Owns a QThread running ``worker.run`` once; the worker has a ``finished`` signal and a
    thread-safe ``cancel()``. Keep a reference until the thread has ended."""

    def __init__(self, worker: QObject, name: str):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: quit from the worker thread itself, so a GUI thread blocked in wait() is released.
        worker.finished.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Cancel the work and wait for the thread to end; True when it has ended."""
        self.worker.cancel()
        self.thread.quit()
        return self.wait(timeout_ms)

    def wait(self, timeout_ms: int = 5000) -> bool:
        return self.thread.wait(timeout_ms) if self.thread.isRunning() else True


class Throttle:
    def __init__(self, interval_s: float):
        self.interval_s, self._last = interval_s, 0.0

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            return True
        return False


class IndexSignals(QObject):
    """What an indexing worker (here, or on a Ray cluster: ``gui.ray_indexing``) tells the controller:
    ``progress(ProgressEvent)`` throttled; ``video_finished(ProgressEvent)`` once per video with stage
    DONE, SKIPPED or CANCELLED; ``video_failed(path, message)``; ``finished()`` at the end."""

    progress = Signal(object)
    video_finished = Signal(object)
    video_failed = Signal(str, str)
    finished = Signal()


class IndexWorker(IndexSignals):
    """Indexes a queue of videos one after the other; more can be queued while it runs."""

    def __init__(
        self,
        library: Library,
        models: ModelSet,
        paths: Iterable[str],
        config: IndexConfig = IndexConfig(),
        interval_s: float = PROGRESS_INTERVAL_S,
    ):
        super().__init__()
        self.library, self.models, self.config = library, models, config
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._queue: deque[str] = deque(paths)
        self._closed = False
        self._stop = threading.Event()
        self._skip: set[str] = set()
        self._current: str | None = None

    def enqueue(self, paths: Sequence[str]) -> bool:
        """Add videos to the queue; False once the worker has stopped taking work (start another)."""
        with self._lock:
            if self._closed or self._stop.is_set():
                return False
            self._skip.difference_update(paths)  # cancelled earlier, wanted again now
            self._queue.extend(p for p in paths if p not in self._queue and p != self._current)
            return True

    def cancel(self, path: str | None = None) -> None:
        """Stop one video (queued or running) or, with no path, everything. Thread-safe."""
        with self._lock:
            if path is None:
                self._stop.set()
            else:
                self._skip.add(path)

    @property
    def current(self) -> str | None:
        return self._current

    def waiting(self) -> list[str]:
        """The videos queued and not started (nor cancelled: after Cancel all, none). Thread-safe."""
        with self._lock:
            return [] if self._stop.is_set() else [p for p in self._queue if p not in self._skip]

    def _next(self) -> str | None:
        with self._lock:
            while self._queue and not self._stop.is_set():
                path = self._queue.popleft()
                if path not in self._skip:
                    self._current = path
                    return path
                self.video_finished.emit(ProgressEvent(path, Stage.CANCELLED, message="cancelled"))
            for path in self._queue:
                self.video_finished.emit(ProgressEvent(path, Stage.CANCELLED, message="cancelled"))
            self._queue.clear()
            self._closed, self._current = True, None
            return None

    @Slot()
    def run(self) -> None:
        try:
            while (path := self._next()) is not None:
                self._index(path)
        finally:
            self.finished.emit()

    def _index(self, path: str) -> None:
        def cancelled() -> bool:
            return self._stop.is_set() or path in self._skip

        throttle = Throttle(self._interval_s)
        try:
            for ev in index_video(path, self.library, self.models, self.config, cancelled):
                if ev.stage in FINAL_STAGES:
                    self.video_finished.emit(ev)
                elif ev.stage == Stage.PROBING or throttle.ready():
                    self.progress.emit(ev)
        except Exception as e:
            if not isinstance(e, SpotterError):
                log.exception("indexing %s failed", path)
            self.video_failed.emit(path, error_text(e))


class ExportWorker(QObject):
    """Exports hits to clips in a folder. ``progress(EvidenceProgress)`` throttled, ``done(last
    EvidenceProgress or None when nothing was written)``, ``failed(message)``, then ``finished()``."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        library: Library,
        hits: Sequence[Hit],
        folder: str | Path,
        annotate: bool,
        config: ExportConfig = ExportConfig(),
        interval_s: float = PROGRESS_INTERVAL_S,
    ):
        super().__init__()
        self.library, self.hits, self.folder = library, tuple(hits), Path(folder)
        self.annotate, self.config = annotate, config
        self._interval_s = interval_s
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        throttle = Throttle(self._interval_s)
        last: EvidenceProgress | None = None
        try:
            for ev in export_hits(
                self.library, self.hits, self.folder, self.annotate, self.config, self._stop.is_set
            ):
                last = ev
                if ev.finished or throttle.ready():
                    self.progress.emit(ev)
            self.done.emit(last if last is not None and last.finished else None)
        except Exception as e:
            if not isinstance(e, SpotterError):
                log.exception("export to %s failed", self.folder)
            self.failed.emit(error_text(e))
        finally:
            self.finished.emit()


def run_in_thread(worker: QObject, name: str, on_finished: Callable[[], None]) -> WorkerThread:
    """Start ``worker.run`` on a new thread; ``on_finished`` runs on the GUI thread afterwards."""
    runner = WorkerThread(worker, name)
    runner.thread.finished.connect(on_finished)
    runner.start()
    return runner
