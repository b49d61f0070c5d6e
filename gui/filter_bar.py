"""Search filters: a camera and a wall-clock window. A change searches again for the same photo; the
engine applies the filter to the candidate set (see ``pipeline.search_filter``)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateTimeEdit, QGridLayout, QLabel, QWidget

from pipeline.search_filter import SearchFilter

ALL_CAMERAS = "All cameras"
SHOWN = "yyyy-MM-dd HH:mm:ss"


class FilterBar(QWidget):
    """Camera choice and optional from/to times; ``changed`` carries the new :class:`SearchFilter`."""

    changed = Signal(object)  # SearchFilter

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.camera = QComboBox()
        self.camera.addItem(ALL_CAMERAS)
        self.camera.setToolTip("Search only this camera's videos")
        self.use_from, self.use_to = QCheckBox("From"), QCheckBox("to")
        self.time_from, self.time_to = QDateTimeEdit(), QDateTimeEdit()
        for edit in (self.time_from, self.time_to):
            edit.setDisplayFormat(SHOWN)
            edit.setCalendarPopup(True)
            edit.setEnabled(False)
            edit.setDateTime(QDateTime.currentDateTime())
        layout = QGridLayout(self)  # one above the other: narrow enough for the results column
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Filter:"), 0, 0)
        layout.addWidget(self.camera, 0, 1)
        layout.addWidget(self.use_from, 1, 0)
        layout.addWidget(self.time_from, 1, 1)
        layout.addWidget(self.use_to, 2, 0)
        layout.addWidget(self.time_to, 2, 1)
        layout.setColumnStretch(1, 1)
        self.camera.currentIndexChanged.connect(self._emit)
        for box, edit in ((self.use_from, self.time_from), (self.use_to, self.time_to)):
            box.toggled.connect(edit.setEnabled)
            box.toggled.connect(self._emit)
            edit.editingFinished.connect(self._emit)
        self._last = SearchFilter()

    def set_cameras(self, names: list[str]) -> None:
        """The library's cameras (the current choice kept when it still exists)."""
        current = self.camera.currentText()
        self.camera.blockSignals(True)
        self.camera.clear()
        self.camera.addItems([ALL_CAMERAS, *names])
        self.camera.setCurrentIndex(max(self.camera.findText(current), 0))
        self.camera.blockSignals(False)
        self._emit()

    def value(self) -> SearchFilter:
        """The filter as set; a window whose end is before its start is taken the other way round."""
        camera = self.camera.currentText()
        start = _py(self.time_from.dateTime()) if self.use_from.isChecked() else None
        end = _py(self.time_to.dateTime()) if self.use_to.isChecked() else None
        if start is not None and end is not None and end < start:
            start, end = end, start
        return SearchFilter(
            cameras=(camera,) if camera and camera != ALL_CAMERAS else (), start=start, end=end
        )

    def _emit(self) -> None:
        value = self.value()
        if value != self._last:
            self._last = value
            self.changed.emit(value)


def _py(value: QDateTime) -> datetime:
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second())
