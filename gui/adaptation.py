"""Library > "Adapt the model to these cameras": ``pipeline.reid_training.adapt`` on a worker thread,
with a progress dialog (stage, bar, time left) and Cancel. Cancelled before the switch, the library is
unchanged; when the library switches, searches and indexing load the adapted model from then on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from gui.util import close_job_dialog, job_dialog
from gui.workers import Throttle, WorkerThread, error_text, run_in_thread
from pipeline.engine import ModelSet, SpotterError
from pipeline.reid_training.adapt import AdaptProgress, adapt_library, default_output
from pipeline.storage import Library

log = logging.getLogger(__name__)

STAGE_TEXT = {
    "set": "Reading the library's tracks",
    "train": "Training on the library's tracks",
    "reembed": "Re-embedding the library",
    "done": "Done",
}


class AdaptWorker(QObject):
    progress = Signal(object)  # AdaptProgress
    done = Signal(str)  # the last line (switched, or cancelled)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, library: Library, make_models: Callable[[], ModelSet], out: Path, epochs: int | None):
        super().__init__()
        self.library, self.make_models, self.out, self.epochs = library, make_models, out, epochs
        self._stop = threading.Event()
        self._throttle = Throttle(0.1)

    def cancel(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        last = ""
        try:
            for ev in adapt_library(
                self.library, self.make_models(), self.out, cancelled=self._stop.is_set, epochs=self.epochs
            ):
                if ev.message:
                    last = ev.message
                if ev.message or self._throttle.ready():
                    self.progress.emit(ev)
            self.done.emit(last)
        except Exception as e:  # the thread must end with a message, whatever went wrong
            if not isinstance(e, SpotterError):
                log.exception("adapting the model failed")
            self.failed.emit(error_text(e))
        finally:
            self.finished.emit()


class AdaptController(QObject):
    """One adaptation at a time, shown in a non-modal progress dialog with Cancel."""

    info = Signal(str)
    error = Signal(str)
    model_changed = Signal()

    def __init__(
        self,
        library: Library,
        make_models: Callable[[], ModelSet],
        parent: QWidget,
        indexing: Callable[[], bool] = lambda: False,
    ):
        super().__init__(parent)
        self.library, self.make_models, self.indexing = library, make_models, indexing
        self._runner: WorkerThread | None = None
        self.dialog: QProgressDialog | None = None
        self.epochs: int | None = None  # None: the training config's default
        self._eta: float | None = None  # seconds of training left, from the last step

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self, out: Path | None = None) -> bool:
        if self._runner is not None:
            self.error.emit("Adapting: one adaptation is running already")
            return False
        if self.indexing():  # videos indexed meanwhile would miss the switch to the new model
            self.error.emit("Videos are being indexed: adapt the model when indexing has finished")
            return False
        worker = AdaptWorker(self.library, self.make_models, out or default_output(self.library), self.epochs)
        self.dialog = job_dialog(
            self.parent(), "Adapt the model to these cameras", "Reading the library's tracks…", worker.cancel
        )
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(lambda m: self.error.emit(f"Adapting the model: {m}"))
        self._runner = run_in_thread(worker, "spotter-adapt", self._on_finished)
        return True

    @Slot(object)
    def _on_progress(self, ev: AdaptProgress) -> None:
        if self.dialog is None:
            return
        if ev.eta_s is not None:
            self._eta = ev.eta_s
        eta = self._eta if ev.stage == "train" else None
        left = (
            f"  (about {eta / 60:.0f} min left)"
            if eta and eta > 90
            else f"  ({eta:.0f} s left)"
            if eta
            else ""
        )
        text = ev.message or self.dialog.labelText().split("\n")[-1]
        self.dialog.setLabelText(f"{STAGE_TEXT.get(ev.stage, ev.stage)}{left}\n{text}")
        self.dialog.setValue(round(100 * ev.done / max(ev.total, 1)))

    @Slot(str)
    def _on_done(self, message: str) -> None:
        self.info.emit(message)
        if message.startswith("the library now uses"):
            self.model_changed.emit()

    def cancel(self) -> None:
        if self._runner is not None:
            self._runner.worker.cancel()

    def shutdown(self) -> None:
        if self._runner is not None:
            self._runner.stop(timeout_ms=60_000)
            self._runner.thread.wait()
            self._on_finished()

    @Slot()
    def _on_finished(self) -> None:
        if self._runner is not None:
            self._runner.wait()
            self._runner = None
        if self.dialog is not None:
            close_job_dialog(self.dialog)
            self.dialog = None
