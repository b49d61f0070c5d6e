"""A case's report (``pipeline.case_report``) written on a worker thread: the PDF, the clips and
their checksums, with a progress dialog and Cancel (as adapting the model has); the GUI learns the
PDF's path, that the report was cancelled, or one error line.

Cancel closes the pipeline's generator between two of its steps (a clip's few frames): the report
is built in a hidden folder that the generator removes when closed, so a cancelled report leaves
nothing in the chosen folder. A cancel that comes after the last clip, while the PDF and the
checksums are written (a second or so), is too late: that report is whole, and said written.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from gui.util import close_job_dialog, job_dialog
from gui.workers import PROGRESS_INTERVAL_S, Throttle, WorkerThread, run_in_thread
from pipeline.case_report import ReportFiles, write_case_report
from pipeline.engine import ModelSet, SpotterError
from pipeline.evidence import EvidenceProgress
from pipeline.search_filter import SearchFilter
from pipeline.storage import Library

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 10_000  # a cancel takes effect within a few frames of a clip (the PDF: a second)


@dataclass(frozen=True)
class ReportProgress:
    """How far a report is: ``clips_done`` of ``clips_total`` clips written (the bar, as the export's),
    and a line saying what is being written."""

    clips_done: int
    clips_total: int
    text: str


def report_progress(ev: EvidenceProgress) -> ReportProgress:
    """The step of the report's clips ``ev`` as the dialog shows it."""
    if ev.finished:  # the clips are written: the PDF and the checksums come next
        return ReportProgress(ev.clips_done, ev.clips_total, "Writing the PDF and the checksums…")
    if ev.clip_written:
        text = f"Clip {ev.clips_done} of {ev.clips_total} written: {ev.current}"
    else:
        text = f"Clip {min(ev.clips_done + 1, ev.clips_total)} of {ev.clips_total}: {ev.current}"
    return ReportProgress(ev.clips_done, ev.clips_total, text)


class ReportWorker(QObject):
    """Writes one report: ``progress(ReportProgress)`` throttled, then ``done(PDF path)``,
    ``cancelled()`` or ``failed(message)``, then ``finished()``."""

    progress = Signal(object)  # ReportProgress
    done = Signal(str)  # the PDF's path
    cancelled = Signal()
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        library: Library,
        make_models: Callable[[], ModelSet],
        case_name: str,
        folder: Path,
        where: SearchFilter | None = None,
        interval_s: float = PROGRESS_INTERVAL_S,
    ):
        super().__init__()
        self.library, self.make_models, self.case_name, self.folder = library, make_models, case_name, folder
        self.where = where
        self._interval_s = interval_s
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Stop at the next step; nothing of the report is left. Thread-safe."""
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            self._write()
        except Exception as e:  # the thread must end with a message, whatever went wrong
            if not isinstance(e, SpotterError):
                log.exception("case report failed")
            self.failed.emit(str(e).splitlines()[0] if str(e) else type(e).__name__)
        finally:
            self.finished.emit()

    def _write(self) -> None:
        models = self.make_models()
        if self._stop.is_set():  # before anything is built
            self.cancelled.emit()
            return
        throttle = Throttle(self._interval_s)
        steps = write_case_report(self.library, models, self.case_name, self.folder, self.where)
        with closing(steps):  # closed on a cancel: the generator removes the folder it was building
            for step in steps:
                if isinstance(step, ReportFiles):  # whole and in place, whatever was asked since
                    self.done.emit(str(step.pdf))
                    return
                if self._stop.is_set():
                    break
                if step.finished or throttle.ready():
                    self.progress.emit(report_progress(step))
        if self._stop.is_set():  # the generator is closed by now: the part folder is gone
            self.cancelled.emit()


class ReportRunner(QObject):
    """One report at a time, shown in a non-modal progress dialog (under ``window``) with Cancel;
    ``written(pdf path)``, ``cancelled(message)`` or ``failed(message)`` ends it."""

    progress = Signal(object)  # ReportProgress
    written = Signal(str)
    cancelled = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        library: Library,
        make_models: Callable[[], ModelSet],
        parent: QObject | None = None,
        window: QWidget | None = None,
    ):
        super().__init__(parent)
        self.library, self.make_models, self._window = library, make_models, window
        self._runner: WorkerThread | None = None
        self.dialog: QProgressDialog | None = None
        self._folder = Path()

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self, case_name: str, folder: str | Path, where: SearchFilter | None = None) -> bool:
        if self._runner is not None:
            self.failed.emit("Report: one is being written already")
            return False
        self._folder = Path(folder)
        worker = ReportWorker(self.library, self.make_models, case_name, self._folder, where)
        self.dialog = job_dialog(
            self._window, "Case report", f"Writing the report of {case_name}…", worker.cancel, "Cancel report"
        )
        worker.progress.connect(self._on_progress)
        worker.done.connect(self.written)
        worker.cancelled.connect(self._on_cancelled)
        worker.failed.connect(self._on_failed)
        self._runner = run_in_thread(worker, "spotter-report", self._on_finished)
        return True

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> None:
        """Cancel the report (nothing half-written is left) and wait for the thread to end."""
        if self._runner is None:
            return
        if not self._runner.stop(timeout_ms):
            log.warning("report thread still busy after %d ms; waiting for it", timeout_ms)
            self._runner.thread.wait()
        self._on_finished()

    @Slot(object)
    def _on_progress(self, step: ReportProgress) -> None:
        if self.dialog is not None:
            self.dialog.setLabelText(step.text)
            self.dialog.setRange(0, max(step.clips_total, 1))
            self.dialog.setValue(step.clips_done)
        self.progress.emit(step)

    @Slot()
    def _on_cancelled(self) -> None:
        self.cancelled.emit(f"Report cancelled: nothing was written in {self._folder}")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.failed.emit(f"Report: {message}")

    @Slot()
    def _on_finished(self) -> None:
        if self._runner is not None:
            self._runner.wait()
            self._runner = None
        if self.dialog is not None:
            close_job_dialog(self.dialog)
            self.dialog = None
