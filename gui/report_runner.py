"""A case's report (``pipeline.case_report``) written on a worker thread: the PDF, the clips and
their checksums; the GUI learns the PDF's path or one error line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from gui.workers import WorkerThread, run_in_thread
from pipeline.case_report import ReportFiles, write_case_report
from pipeline.engine import ModelSet, SpotterError
from pipeline.search_filter import SearchFilter
from pipeline.storage import Library

log = logging.getLogger(__name__)


class ReportWorker(QObject):
    done = Signal(str)  # the PDF's path
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        library: Library,
        make_models: Callable[[], ModelSet],
        case_name: str,
        folder: Path,
        where: SearchFilter | None = None,
    ):
        super().__init__()
        self.library, self.make_models, self.case_name, self.folder = library, make_models, case_name, folder
        self.where = where

    def cancel(self) -> None:  # a report is a few clips: it runs to its end
        pass

    @Slot()
    def run(self) -> None:
        try:
            steps = write_case_report(
                self.library, self.make_models(), self.case_name, self.folder, self.where
            )
            for step in steps:
                if isinstance(step, ReportFiles):
                    self.done.emit(str(step.pdf))
        except Exception as e:  # the thread must end with a message, whatever went wrong
            if not isinstance(e, SpotterError):
                log.exception("case report failed")
            self.failed.emit(str(e).splitlines()[0] if str(e) else type(e).__name__)
        finally:
            self.finished.emit()


class ReportRunner(QObject):
    """One report at a time; ``written(pdf path)`` or ``failed(message)`` ends it."""

    written = Signal(str)
    failed = Signal(str)

    def __init__(self, library: Library, make_models: Callable[[], ModelSet], parent: QObject | None = None):
        super().__init__(parent)
        self.library, self.make_models = library, make_models
        self._runner: WorkerThread | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self, case_name: str, folder: str | Path, where: SearchFilter | None = None) -> bool:
        if self._runner is not None:
            self.failed.emit("Report: one is being written already")
            return False
        worker = ReportWorker(self.library, self.make_models, case_name, Path(folder), where)
        worker.done.connect(self.written)
        worker.failed.connect(lambda m: self.failed.emit(f"Report: {m}"))
        self._runner = run_in_thread(worker, "spotter-report", self._on_finished)
        return True

    def shutdown(self) -> None:
        if self._runner is not None:
            self._runner.thread.wait()
            self._on_finished()

    @Slot()
    def _on_finished(self) -> None:
        if self._runner is not None:
            self._runner.wait()
            self._runner = None
