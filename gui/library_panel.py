"""The video library: one row per video with its indexing state, progress, speed, ETA and Cancel."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.util import ElidedLabel, fmt_eta, fmt_time
from pipeline.index_report import summary, warning_labels
from pipeline.types import ProgressEvent, Stage, VideoSummary

ACTIVE = ("queued", "probing", "indexing")
ELSEWHERE_POLL_MS = 5000  # how often the library is read again while another process indexes a video
BUTTON_FOR = {"queued": "Cancel", "probing": "Cancel", "indexing": "Cancel", "partial": "Resume",
              "interrupted": "Resume", "failed": "Retry", "cancelled": "Resume",
              "unindexed": "Index"}  # fmt: skip


class VideoRow(QWidget):
    """Name, state line, progress bar and the Cancel / Resume button of one video."""

    button_clicked = Signal(str, str)  # path, button text

    def __init__(self, path: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = path
        self.state = ""
        self.name = ElidedLabel(Path(path).name)
        self.name.setToolTip(path)
        font = self.name.font()
        font.setBold(True)
        self.name.setFont(font)
        self.status = ElidedLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.button = QPushButton("Cancel")
        self.button.setAutoDefault(False)
        self.button.setFixedWidth(72)
        self.button.clicked.connect(lambda: self.button_clicked.emit(self.path, self.button.text()))
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.button, 0, 1, 2, 1, Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(self.status, 1, 0)
        grid.addWidget(self.bar, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)

    def set_state(self, state: str, text: str, done: int = 0, total: int = 0) -> None:
        self.state = state
        self.status.setText(text)
        self.status.setToolTip(text)
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))
        pct = f" ({100 * done / total:.0f}%)" if total else ""
        self.bar.setFormat(f"{done} / {total} frames{pct}" if total else "waiting")
        self.bar.setVisible(state in ACTIVE or state in ("partial", "interrupted", "elsewhere"))
        label = BUTTON_FOR.get(state)
        self.button.setVisible(label is not None)
        self.button.setText(label or "")

    def show_progress(self, ev: ProgressEvent) -> None:
        if ev.stage == Stage.PROBING:
            self.set_state("probing", ev.message if ev.message != "reading file" else "opening the video…")
            return
        speed = f"{ev.x_realtime:.1f}× real time" if ev.elapsed_s > 0 else "starting"
        text = f"{speed} · {fmt_eta(ev.eta_s)} · {ev.tracks} people"
        self.set_state("indexing", text, ev.frames_done, ev.frames_total)

    def show_summary(self, v: VideoSummary) -> None:
        status = "elsewhere" if v.state == "indexing" else v.state  # (this app's runs show progress)
        report = json.loads(v.report_json or "{}")
        if status == "done":
            note = f" · {v.message}" if v.message else ""
            warn = "".join(f" · ⚠ {label}" for label in warning_labels(report))
            text = f"{camera_text(v)}indexed · {fmt_time(v.duration_s)} · {v.tracks} people{note}{warn}"
        elif status == "partial":
            at = fmt_time(v.frames_done / v.fps if v.fps else 0)
            text = f"cancelled at {at} · {v.tracks} people so far · resumable"
        elif status == "interrupted":
            text = "interrupted · resumable"
        elif status == "elsewhere":
            text = "being indexed by another Spotter process"
        else:
            text = f"failed: {reason_only(v.message, v.path)}" if v.message else "failed"
        self.set_state(status, text, v.frames_done, v.frame_count)
        details = report_text(report)
        if details:
            self.status.setToolTip(f"{text}\n{details}")


def copy_text(v: VideoSummary) -> str:
    """What the row of another path of an indexed video says (a copy, or where it was before a move)."""
    if v.status != "done":  # its twin being indexed, or left unfinished: not searchable whole yet
        return f"same content as {Path(v.path).name}, whose indexing has not finished"
    return f"same content as {Path(v.path).name}: indexed once · {v.tracks} people"


def reason_only(message: str, path: str) -> str:
    """A failure's reason without the file's path or name in front ("PATH: frames do not decode"):
    the row names the file already, and eliding a long path left no reason to read."""
    for prefix in (path, Path(path).name):
        if prefix and message.startswith(prefix + ": "):
            return message[len(prefix) + 2 :]
    return message


def camera_text(v: VideoSummary) -> str:
    """``Entrance, 2026-11-21 14:30 · `` (what is known of the video's camera and start)."""
    parts = [v.camera] if v.camera else []
    if v.start_time is not None:
        parts.append(v.start_time.strftime("%Y-%m-%d %H:%M:%S"))
    return f"{', '.join(parts)} · " if parts else ""


def report_text(report: dict) -> str:
    """What indexing did, as lines for a tooltip: how the detector looked, notes and warnings."""
    lines = [summary(report)] if report else []
    lines += [f"Note: {n}" for n in report.get("notes", [])]
    lines += [f"Warning: {w}" for w in report.get("warnings", [])]
    return "\n".join(line for line in lines if line)


class LibraryPanel(QWidget):
    """The library list with the device in use; the window feeds it the worker's signals."""

    cancel_requested = Signal(str)  # path
    resume_requested = Signal(str)  # path: index again (resume, retry)
    cancel_all_requested = Signal()
    refresh_wanted = Signal()  # a video another process indexes may have finished: read the library
    add_requested = Signal()
    open_requested = Signal(str)  # path: show in the player
    camera_edit_requested = Signal(str)  # path: the operator names the video's camera
    start_edit_requested = Signal(str)  # path: the operator sets the video's recording start

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: dict[str, tuple[QListWidgetItem, VideoRow]] = {}
        title = QLabel("<b>Video library</b>")
        self.device = QLabel("Device: …")
        self.device.setToolTip("Where the models run")
        add = QPushButton("Add videos…")
        add.setAutoDefault(False)
        add.clicked.connect(self.add_requested)
        self.cancel_all = QPushButton("Cancel all")
        self.cancel_all.setAutoDefault(False)
        self.cancel_all.clicked.connect(self.cancel_all_requested)
        self.cancel_all.setEnabled(False)
        self._poll = QTimer(self)  # rows indexed elsewhere change without a signal of this app's
        self._poll.setInterval(ELSEWHERE_POLL_MS)
        self._poll.timeout.connect(self._check_elsewhere)
        self._poll.start()
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.device)
        self.list = QListWidget()
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.list.itemDoubleClicked.connect(self._on_double_click)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.hint = QLabel("Drop videos or a folder anywhere on the window,\nor use File ▸ Add videos…")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color:#777;")
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.cancel_all)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)

    def _check_elsewhere(self) -> None:
        if any(row.state == "elsewhere" for _, row in self._rows.values()):
            self.refresh_wanted.emit()

    def row(self, path: str) -> VideoRow | None:
        found = self._rows.get(path)
        return found[1] if found else None

    def paths(self) -> list[str]:
        return list(self._rows)

    def set_device(self, label: str) -> None:
        self.device.setText(f"Device: {label}")

    def _row(self, path: str) -> VideoRow:
        if path not in self._rows:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, path)
            row = VideoRow(path)
            row.button_clicked.connect(self._on_button)
            self.list.addItem(item)
            self.list.setItemWidget(item, row)
            item.setSizeHint(QSize(100, row.sizeHint().height() + 4))
            self._rows[path] = (item, row)
            self.hint.hide()
        return self._rows[path][1]

    def _refresh_size(self, path: str) -> None:
        item, row = self._rows[path]
        item.setSizeHint(QSize(100, row.sizeHint().height() + 4))
        self.cancel_all.setEnabled(any(r.state in ACTIVE for _, r in self._rows.values()))

    def sync(self, videos: list[VideoSummary]) -> None:
        """Show the database's state of every video that is not being indexed right now."""
        for v in videos:
            row = self._row(v.path)
            if row.state not in ACTIVE:
                row.show_summary(v)
                self._refresh_size(v.path)
            for alias in v.aliases:  # a row under a path that is now another name of it (a move)
                if alias in self._rows and self._rows[alias][1].state not in ACTIVE:
                    done = v.status == "done"
                    self._rows[alias][1].set_state("done" if done else "copy", copy_text(v))

    def mark_unindexed(self, paths: list[str]) -> None:
        """Videos queued when Spotter last closed, never started: Resume indexes them."""
        for p in paths:
            self._row(p).set_state("unindexed", "not indexed: still queued when Spotter closed")
            self._refresh_size(p)

    def unindexed(self) -> list[str]:
        """The rows :meth:`mark_unindexed` shows that are still not indexed."""
        return [p for p, (_, row) in self._rows.items() if row.state == "unindexed"]

    def mark_queued(self, paths: list[str]) -> None:
        for p in paths:
            self._row(p).set_state("queued", "queued")
            self._refresh_size(p)

    def show_progress(self, ev: ProgressEvent) -> None:
        self._row(ev.video_path).show_progress(ev)
        self._refresh_size(ev.video_path)

    def show_finished(self, ev: ProgressEvent, summary: VideoSummary | None) -> None:
        """A video's run ended (done, skipped, cancelled); ``summary`` is its database entry."""
        row = self._row(ev.video_path)
        if summary is not None and summary.path != ev.video_path and summary.status != "done":
            row.set_state("copy", ev.message or f"same content as {summary.path}")  # its twin: not done yet
        elif summary is not None and summary.path != ev.video_path:  # the same footage at another path
            row.set_state("done", copy_text(summary))
        elif summary is not None:
            row.show_summary(summary)
            if ev.stage == Stage.SKIPPED and summary.status == "done":
                row.set_state(row.state, f"already indexed · {summary.tracks} people")
        elif ev.stage == Stage.SKIPPED:
            row.set_state("done", f"skipped: {ev.message}" if ev.message else "skipped")
        else:
            row.set_state("cancelled", "cancelled before it started")
        self._refresh_size(ev.video_path)

    def show_failed(self, path: str, message: str) -> None:
        self._row(path).set_state("failed", f"failed: {reason_only(message, path)}")
        self._refresh_size(path)

    def _on_button(self, path: str, text: str) -> None:
        if text == "Cancel":
            self.cancel_requested.emit(path)
        else:
            self.resume_requested.emit(path)

    def _on_double_click(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def context_menu(self, path: str) -> QMenu:
        """The menu of one video: correct its camera and its recording start."""
        menu = QMenu(self)
        menu.addAction("Set camera…", lambda: self.camera_edit_requested.emit(path))
        menu.addAction("Set recording start…", lambda: self.start_edit_requested.emit(path))
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.context_menu(str(item.data(Qt.ItemDataRole.UserRole))).exec(self.list.mapToGlobal(pos))
