"""Dropped or chosen folders looked through on a worker thread.

A recorder's export (a day of 1 fps snapshots is 86,400 files), a network share, or a folder dropped
by mistake can take seconds to walk; on the GUI thread the window froze for all of it. Paths that
include a folder are sorted (:func:`gui.util.classify_paths`) on a worker; the window says it is
looking and routes what was found when the worker is done. Paths without a folder are sorted at
once, as before (a file's type is known from its name).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from gui.util import DroppedPaths, classify_paths
from gui.workers import WorkerThread, error_text, run_in_thread

log = logging.getLogger(__name__)

Route = Callable[[DroppedPaths], object]


def holds_folder(paths: Sequence[str | Path]) -> bool:
    """Whether any of the paths is a folder (a path that cannot even be asked is not)."""
    for p in paths:
        try:
            if Path(p).expanduser().is_dir():
                return True
        except (OSError, RuntimeError, ValueError):
            continue
    return False


class FolderScanWorker(QObject):
    scanned = Signal(int, object)  # (token, DroppedPaths)
    failed = Signal(int, str)
    finished = Signal()

    def __init__(self, token: int, paths: Sequence[str | Path]):
        super().__init__()
        self.token, self.paths = token, tuple(paths)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            found = classify_paths(self.paths, self._cancel.is_set)
            if not self._cancel.is_set():
                self.scanned.emit(self.token, found)
        except Exception as e:  # the thread must end with a message, whatever went wrong
            log.exception("looking through %s failed", self.paths)
            self.failed.emit(self.token, error_text(e))
        finally:
            self.finished.emit()


class FolderScanner(QObject):
    """Sorts paths holding folders on worker threads; each result goes to the route it was asked
    for, on the GUI thread. ``looking(text)`` says what is being looked through, ``looked(text)``
    (the same text) that the walk is over, before its result is routed."""

    looking = Signal(str)
    looked = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._tokens = itertools.count()
        self._routes: dict[int, Route] = {}
        self._texts: dict[int, str] = {}
        self._runners: dict[int, WorkerThread] = {}
        self._workers: dict[int, FolderScanWorker] = {}

    @property
    def running(self) -> bool:
        return bool(self._runners)

    def sort(self, paths: Sequence[str | Path], route: Route) -> None:
        """``route(classify_paths(paths))``: at once without folders, else after a worker walked them."""
        if not holds_folder(paths):
            route(classify_paths(paths))
            return
        token = next(self._tokens)
        worker = FolderScanWorker(token, paths)
        worker.scanned.connect(self._on_scanned)
        worker.failed.connect(self._on_failed)
        self._routes[token], self._workers[token] = route, worker
        self._runners[token] = run_in_thread(worker, "spotter-folder-scan", self._reap)
        names = ", ".join(Path(p).name or str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        self._texts[token] = f"Looking through {names}…"
        self.looking.emit(self._texts[token])

    def cancel(self) -> None:
        """Stop every walk under way; what they found is not routed (Cancel all indexing: a folder
        still being looked through was queued for indexing once its walk ended)."""
        for token in list(self._routes):
            worker = self._workers.get(token)
            if worker is not None:
                worker.cancel()
            self._routes.pop(token, None)
            self._done(token)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        for runner in list(self._runners.values()):
            runner.stop(timeout_ms)
        self._runners.clear()
        self._workers.clear()
        self._routes.clear()
        self._texts.clear()

    @Slot(int, object)
    def _on_scanned(self, token: int, found: DroppedPaths) -> None:
        self._done(token)
        route = self._routes.pop(token, None)
        if route is not None:
            route(found)

    @Slot(int, str)
    def _on_failed(self, token: int, message: str) -> None:
        self._done(token)
        self._routes.pop(token, None)
        self.failed.emit(f"Could not look through the folder: {message}")

    def _done(self, token: int) -> None:
        text = self._texts.pop(token, None)
        if text is not None:
            self.looked.emit(text)

    @Slot()
    def _reap(self) -> None:
        """Forget the runners whose threads have ended."""
        for token, runner in list(self._runners.items()):
            if not runner.is_running():
                runner.wait()
                del self._runners[token]
                self._workers.pop(token, None)
