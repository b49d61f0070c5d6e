"""The operator corrects a video's camera and recording start (the library list's context menu)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QWidget

from pipeline.cameras import parse_clock
from pipeline.engine import SpotterError
from pipeline.storage import Library
from pipeline.storage.clock import VideoClock


class ClockEditor(QObject):
    """Asks for a camera name or a start time, checks it and writes it to the library; ``changed``
    tells the window to show the new values (the library list, timeline lanes, hits).
    ``camera_renamed`` (old, new) comes first where no video keeps the old name: the library's cases
    follow such a rename, or a merge into a camera that exists, and the app's filter must too."""

    changed = Signal()
    camera_renamed = Signal(str, str)
    error = Signal(str)

    def __init__(self, library: Library, parent: QWidget):
        super().__init__(parent)
        self.library, self.window = library, parent

    def edit_camera(self, path: str) -> None:
        clock = self._clock(path)
        if clock is None:
            return
        name, ok = QInputDialog.getText(
            self.window, "Camera", f"Camera of {Path(path).name}:", text=clock.camera
        )
        if ok:
            self.set_camera(path, name)

    def edit_start(self, path: str) -> None:
        clock = self._clock(path)
        if clock is None:
            return
        shown = clock.start.isoformat(sep=" ", timespec="seconds") if clock.start else ""
        text, ok = QInputDialog.getText(
            self.window,
            "Recording start",
            f"When the recording of {Path(path).name} started\n"
            "(local time, e.g. 2026-11-21 14:30:00; empty: unknown):",
            text=shown,
        )
        if ok:
            self.set_start(path, text)

    def set_camera(self, path: str, name: str) -> bool:
        video_id = self.library.video_id(path)
        try:
            if video_id is None:
                raise SpotterError(f"{Path(path).name} is not in the library yet")
            old = self.library.clocks()[video_id].camera
            self.library.set_camera(video_id, name)
            new = self.library.clocks()[video_id].camera
            gone = old and old != new and old not in self.library.cameras()
        except SpotterError as e:
            self.error.emit(str(e))
            return False
        if gone:
            self.camera_renamed.emit(old, new)
        self.changed.emit()
        return True

    def set_start(self, path: str, text: str) -> bool:
        """``text`` in ISO 8601 (local time); empty: the start is unknown."""
        video_id = self.library.video_id(path)
        try:
            if video_id is None:
                raise SpotterError(f"{Path(path).name} is not in the library yet")
            when = parse_clock(text) if text.strip() else None
            self.library.set_start(video_id, when)
        except ValueError as e:
            self.error.emit(f"Recording start of {Path(path).name}: {e}")
            return False
        except SpotterError as e:
            self.error.emit(str(e))
            return False
        self.changed.emit()
        return True

    def _clock(self, path: str) -> VideoClock | None:
        video_id = self.library.video_id(path)
        if video_id is None:
            self.error.emit(f"{Path(path).name} is not in the library yet: index it first")
            return None
        return self.library.clocks().get(video_id)
