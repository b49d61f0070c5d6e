"""A non-modal message bar: errors and notices show in the window, never in a blocking dialog."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

log = logging.getLogger(__name__)

INFO_HIDE_MS = 8000  # notices hide themselves; errors stay until dismissed


class Level(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_STYLE = {
    Level.INFO: "background:#e3f0ff; border:1px solid #8fb8e8; color:#123;",
    Level.WARNING: "background:#fff4d6; border:1px solid #e0b94f; color:#332200;",
    Level.ERROR: "background:#fde2e1; border:1px solid #e08a85; color:#4a0b07;",
}


@dataclass(frozen=True)
class Message:
    level: Level
    text: str


class MessageBar(QFrame):
    """Shows the latest message (with a count of earlier unread ones) until dismissed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.history: list[Message] = []
        self._unread = 0
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._close = QToolButton()
        self._close.setText("✕")
        self._close.setAutoRaise(True)
        self._close.setToolTip("Dismiss")
        self._close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    @property
    def text(self) -> str:
        """The message on show ('' when hidden)."""
        return self._label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def info(self, text: str) -> None:
        self.show_message(Level.INFO, text)

    def warning(self, text: str) -> None:
        self.show_message(Level.WARNING, text)

    def error(self, text: str) -> None:
        self.show_message(Level.ERROR, text)

    def ongoing(self, text: str) -> None:
        """A notice of work under way (a folder being walked): it stays until :meth:`settle` or a
        newer message replaces it, however long the work takes."""
        self.show_message(Level.INFO, text, stays=True)

    def settle(self, text: str) -> None:
        """The work ``text`` announced is over: its notice goes, unless a newer message is on show."""
        if self.history and self.history[-1] == Message(Level.INFO, text) and self.text:
            self.dismiss()

    def show_message(self, level: Level, text: str, stays: bool = False) -> None:
        """Show ``text``; an INFO notice hides itself after ``INFO_HIDE_MS`` unless it ``stays``."""
        self.history.append(Message(level, text))
        (log.warning if level == Level.ERROR else log.info)("%s: %s", level.value, text)
        self._unread += 1
        more = f"   (+{self._unread - 1} earlier)" if self._unread > 1 else ""
        self._label.setText(text + more)
        self.setStyleSheet(f"#messageBar {{{_STYLE[level]} border-radius:4px;}}")
        self.show()
        if level == Level.INFO and not stays:
            self._timer.start(INFO_HIDE_MS)
        else:
            self._timer.stop()

    def dismiss(self) -> None:
        self._unread = 0
        self._timer.stop()
        self.hide()
