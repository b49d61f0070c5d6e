"""Evidence export: hits to MP4 clips in a folder, with a progress bar and a summary file.

:class:`ExportRunner` runs the engine's export on a worker thread; :class:`ExportDialog` is the
non-modal window where the operator picks what to export, where, and whether to draw the box.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from gui.workers import ExportWorker, WorkerThread, run_in_thread
from pipeline.evidence import EvidenceProgress
from pipeline.export import not_a_folder
from pipeline.storage import Library
from pipeline.types import Hit

log = logging.getLogger(__name__)


class ExportRunner(QObject):
    """Starts one export at a time. ``finished(summary json path)`` or ``failed(message)`` ends it."""

    progress = Signal(object)  # EvidenceProgress
    finished = Signal(str)  # summary JSON path ('' when nothing was written)
    failed = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, library: Library, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self._runner: WorkerThread | None = None
        self._worker: ExportWorker | None = None
        self.last: EvidenceProgress | None = None
        self._outcome = ("failed", "Export stopped unexpectedly")

    @property
    def running(self) -> bool:
        return self._runner is not None

    def start(self, hits: Sequence[Hit], folder: str | Path, annotate: bool) -> bool:
        """Begin exporting; False (and ``failed``) when there is nothing to do or the folder is wrong."""
        folder = Path(folder).expanduser()
        problem = ""
        if self._runner is not None:
            problem = "an export is already running"
        elif not hits:
            problem = "no hit to export: select hits in the results, or lower the threshold"
        elif not_a_folder(folder):
            problem = not_a_folder(folder)
        elif not os.access(folder, os.W_OK | os.X_OK):
            problem = f"{folder}: folder is not writable; choose another"
        if problem:
            self.failed.emit(f"Export: {problem}")
            return False
        self.last = None
        worker = ExportWorker(self.library, hits, folder, annotate)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        self._worker = worker
        self._runner = run_in_thread(worker, "spotter-export", self._on_thread_finished)
        self.running_changed.emit(True)
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel the export (no half-written clip is left) and wait for the thread to end."""
        if self._runner is None:
            return
        if not self._runner.stop(timeout_ms):
            log.warning("export thread still busy after %d ms; waiting for it", timeout_ms)
            self._runner.thread.wait()
        self._on_thread_finished()

    @Slot(object)
    def _on_progress(self, ev: EvidenceProgress) -> None:
        self.last = ev
        self.progress.emit(ev)

    @Slot(object)
    def _on_done(self, ev: EvidenceProgress | None) -> None:
        self.last = ev
        self._outcome = ("finished", ev.summary_json if ev is not None else "")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._outcome = ("failed", f"Export stopped: {message}")

    @Slot()
    def _on_thread_finished(self) -> None:
        """Report the outcome once the thread has ended, so that the next export can start at once."""
        if self._runner is None:
            return
        self._runner.wait()
        self._runner, self._worker = None, None
        kind, text = self._outcome
        self._outcome = ("failed", "Export stopped unexpectedly")
        self.running_changed.emit(False)
        (self.finished if kind == "finished" else self.failed).emit(text)


class ExportDialog(QDialog):
    """Non-modal: choose hits, folder and annotation; shows the export's progress."""

    folder_chosen = Signal(str)

    def __init__(
        self,
        runner: ExportRunner,
        selected: Callable[[], list[Hit]],
        visible: Callable[[], list[Hit]],
        folder: str,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Export evidence clips")
        self.setModal(False)
        self.runner, self._selected, self._visible = runner, selected, visible
        self.only_selected = QRadioButton()
        self.all_visible = QRadioButton()
        self.folder = QLineEdit(folder)
        browse = QPushButton("Choose…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        self.annotate = QCheckBox("Draw the person's box on the clips")
        self.annotate.setChecked(True)
        self.bar = QProgressBar()
        self.status = QLabel(
            "Each clip covers the hit plus 2 s before and after. Files are never overwritten."
        )
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self._start)
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(runner.cancel)
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Folder"))
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.export_button, self.cancel_button, close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.only_selected)
        layout.addWidget(self.all_visible)
        layout.addLayout(folder_row)
        layout.addWidget(self.annotate)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.running_changed.connect(self._on_running)
        self.resize(520, self.sizeHint().height())
        self.refresh()

    def refresh(self) -> None:
        """Update the counts of selected and visible hits (call before showing)."""
        n_sel, n_vis = len(self._selected()), len(self._visible())
        self.only_selected.setText(f"Selected hits ({n_sel})")
        self.all_visible.setText(f"All hits at or above the threshold ({n_vis})")
        self.only_selected.setEnabled(n_sel > 0)
        (self.only_selected if n_sel else self.all_visible).setChecked(True)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export clips to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _start(self) -> None:
        hits = self._selected() if self.only_selected.isChecked() else self._visible()
        self.folder_chosen.emit(self.folder.text())
        self.bar.setRange(0, max(len(hits), 1))
        self.bar.setValue(0)
        if self.runner.start(hits, self.folder.text(), self.annotate.isChecked()):
            self.status.setText(f"Exporting {len(hits)} clip{'s' if len(hits) != 1 else ''}…")

    def _on_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_progress(self, ev: EvidenceProgress) -> None:
        self.bar.setRange(0, max(ev.clips_total, 1))
        self.bar.setValue(ev.clips_done)
        if not ev.finished:
            self.status.setText(
                f"Clip {min(ev.clips_done + 1, ev.clips_total)} of {ev.clips_total}: {ev.current}"
            )

    def _on_finished(self, summary: str) -> None:
        self.bar.setValue(self.bar.maximum())
        self.status.setText(f"Done. Summary: {summary}" if summary else "Nothing was exported.")

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
