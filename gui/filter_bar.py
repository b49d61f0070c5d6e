"""Search filters: a camera, a wall-clock window and a region drawn on the player. A change searches
again for the same photo; the engine applies the filter to the candidate set (see
``pipeline.search_filter``)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from pipeline.clothing import PALETTE
from pipeline.search_filter import SearchFilter

ALL_CAMERAS = "All cameras"
ANY_COLOUR = "any"
SHOWN = "yyyy-MM-dd HH:mm:ss"


class FilterBar(QWidget):
    """Camera choice and optional from/to times; ``changed`` carries the new :class:`SearchFilter`."""

    changed = Signal(object)  # SearchFilter
    colours_changed = Signal(object, object)  # upper, lower colour names (None: any)
    describe_requested = Signal(object, object)  # upper, lower: search by description

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.camera = QComboBox()
        self.camera.addItem(ALL_CAMERAS)
        self.camera.setToolTip("Search only this camera's videos")
        self.use_from, self.use_to = QCheckBox("From"), QCheckBox("to")
        self.time_from, self.time_to = QDateTimeEdit(), QDateTimeEdit()
        self.region: tuple[float, float, float, float] | None = None  # drawn on the player
        # what a case's filter holds that the bar has no control for: its videos, kept (and searched)
        # until the operator chooses a camera; cameras the library lacks, or several, are an item
        # of their own (their data: the names), so a case's filter is never dropped in silence
        self.videos: tuple[int, ...] = ()
        self.videos_label = QLabel("")  # a case's videos, where its filter names some
        self.clear_videos = QPushButton("Clear")
        self.clear_videos.setAutoDefault(False)
        self.clear_videos.clicked.connect(lambda: self._set_videos(()) or self._emit())
        self.region_label = QLabel("Region: none")
        self.region_label.setToolTip("Draw a region on the picture with the player's Region button")
        self.clear_region = QPushButton("Clear")
        self.clear_region.setAutoDefault(False)
        self.clear_region.setEnabled(False)
        self.clear_region.clicked.connect(lambda: self.set_region(None))
        self.upper, self.lower = QComboBox(), QComboBox()
        for combo, part in ((self.upper, "upper body"), (self.lower, "legs")):
            combo.addItems([ANY_COLOUR, *PALETTE])
            combo.setToolTip(
                f"Clothing colour on the {part}: narrows a photo's hits, or describes the person"
            )
            combo.currentIndexChanged.connect(self._emit_colours)
        self.describe_button = QPushButton("Search by description")
        self.describe_button.setAutoDefault(False)
        self.describe_button.setToolTip("No photo: rank people by the clothing colours chosen")
        self.describe_button.clicked.connect(
            lambda: self.describe_requested.emit(*self.colours()) if any(self.colours()) else None
        )
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
        layout.addWidget(self.region_label, 3, 0, 1, 2)
        layout.addWidget(self.clear_region, 3, 2)
        layout.addWidget(self.videos_label, 4, 0, 1, 2)
        layout.addWidget(self.clear_videos, 4, 2)
        colours = QHBoxLayout()
        colours.addWidget(QLabel("Upper"))
        colours.addWidget(self.upper, 1)
        colours.addWidget(QLabel("Lower"))
        colours.addWidget(self.lower, 1)
        layout.addLayout(colours, 5, 0, 1, 3)
        layout.addWidget(self.describe_button, 6, 0, 1, 3)
        layout.setColumnStretch(1, 1)
        self._set_videos(())
        self.camera.currentIndexChanged.connect(self._camera_chosen)  # the operator's (others block it)
        for box, edit in ((self.use_from, self.time_from), (self.use_to, self.time_to)):
            box.toggled.connect(edit.setEnabled)
            box.toggled.connect(self._emit)
            edit.editingFinished.connect(self._emit)
        self._last = SearchFilter()

    def set_cameras(self, names: list[str]) -> None:
        """The library's cameras (the current choice kept when it still exists, and followed when it
        was renamed: one name gone and one new in its place; the library's cases follow a rename
        too, and a case's filter reset to all cameras here was written back to it)."""
        current = self.camera.currentText()
        before = [  # the library's cameras as listed (not a case's own items)
            self.camera.itemText(k) for k in range(1, self.camera.count()) if self.camera.itemData(k) is None
        ]
        gone, came = set(before) - set(names), [n for n in names if n not in before]
        if current in gone and len(gone) == 1 and len(came) == 1:
            current = came[0]
        kept = self._case_items()  # a case's cameras the library lacks stay choosable
        self.camera.blockSignals(True)
        self.camera.clear()
        self.camera.addItems([ALL_CAMERAS, *names])
        for text, data in kept:
            if self.camera.findText(text) < 0:
                self.camera.addItem(text, data)
        self.camera.setCurrentIndex(max(self.camera.findText(current), 0))
        self.camera.blockSignals(False)
        self._emit()

    def _case_items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            (self.camera.itemText(k), self.camera.itemData(k))
            for k in range(self.camera.count())
            if isinstance(self.camera.itemData(k), tuple)
        ]

    def _camera_chosen(self, _index: int) -> None:
        """The operator chose a camera: a case's videos no longer narrow the search (one search)."""
        self._set_videos(())
        self._emit()

    def _set_videos(self, videos: tuple[int, ...]) -> None:
        """A case's videos narrow the search, said under the camera (not only in a tooltip: a sweep's
        new photo searched those videos alone while the bar read all cameras)."""
        self.videos = tuple(videos)
        self.videos_label.setText(f"Videos: {len(self.videos)} of the case" if self.videos else "")
        self.videos_label.setVisible(bool(self.videos))
        self.clear_videos.setVisible(bool(self.videos))

    def follow_camera(self, old: str, new: str) -> None:
        """The camera ``old`` was renamed ``new``, or merged into the camera ``new``: a choice of it
        follows (the library's cases do; one left on all cameras was written back to the case at the
        next mark). The list itself is updated by :meth:`set_cameras`, which tells who listens."""
        if not old:
            return
        self.camera.blockSignals(True)
        for k in range(self.camera.count()):  # a case's item of several cameras names it too
            data = self.camera.itemData(k)
            if isinstance(data, tuple) and old in data:
                named = tuple(dict.fromkeys(new if c == old else c for c in data))
                self.camera.setItemData(k, named)
                self.camera.setItemText(k, " + ".join(named))
        if self.camera.currentText() == old:
            if self.camera.findText(new) < 0:
                self.camera.addItem(new)
            self.camera.setCurrentIndex(self.camera.findText(new))
        self.camera.blockSignals(False)

    def set_region(self, region: tuple[float, float, float, float] | None) -> None:
        """Limit the search to people who enter ``region`` (video pixels), or not (None)."""
        self.region = None if region is None else tuple(float(v) for v in region)  # type: ignore[assignment]
        shown = "none" if region is None else ", ".join(f"{v:.0f}" for v in region)
        self.region_label.setText(f"Region: {shown}")
        self.clear_region.setEnabled(region is not None)
        self._emit()

    def set_value(self, where: SearchFilter) -> None:
        """Show a filter (a case's) and search with it."""
        for w in (self.camera, self.use_from, self.use_to, self.time_from, self.time_to):
            w.blockSignals(True)
        self._show_cameras(where.cameras)
        self._set_videos(where.videos)
        for box, edit, when in (
            (self.use_from, self.time_from, where.start),
            (self.use_to, self.time_to, where.end),
        ):
            box.setChecked(when is not None)
            edit.setEnabled(when is not None)
            if when is not None:
                edit.setDateTime(QDateTime(when))
        for w in (self.camera, self.use_from, self.use_to, self.time_from, self.time_to):
            w.blockSignals(False)
        self.set_region(where.region)  # emits the whole filter once

    def _show_cameras(self, cameras: tuple[str, ...]) -> None:
        """Choose a case's cameras: one the library has, else an item of their own (a case file from
        another library, a filter of several cameras): shown and searched, not all cameras instead
        (a sweep: the next mark wrote all cameras over the case's filter)."""
        if not cameras:
            self.camera.setCurrentIndex(0)
            return
        known = len(cameras) == 1 and self.camera.findText(cameras[0]) >= 0
        text = cameras[0] if known else " + ".join(cameras)
        if not known and self.camera.findText(text) < 0:
            self.camera.addItem(text, tuple(cameras))
        self.camera.setCurrentIndex(self.camera.findText(text))

    def colours(self) -> tuple[str | None, str | None]:
        """The clothing colours chosen (None: any)."""
        pick = [c.currentText() for c in (self.upper, self.lower)]
        return tuple(None if p == ANY_COLOUR else p for p in pick)  # type: ignore[return-value]

    def _emit_colours(self) -> None:
        self.colours_changed.emit(*self.colours())

    def value(self) -> SearchFilter:
        """The filter as set; a window whose end is before its start is taken the other way round."""
        camera = self.camera.currentText()
        start = _py(self.time_from.dateTime()) if self.use_from.isChecked() else None
        end = _py(self.time_to.dateTime()) if self.use_to.isChecked() else None
        if start is not None and end is not None and end < start:
            start, end = end, start
        data = self.camera.currentData()
        cameras = (
            tuple(data) if isinstance(data, tuple) else (camera,) if camera and camera != ALL_CAMERAS else ()
        )
        return SearchFilter(cameras=cameras, start=start, end=end, videos=self.videos, region=self.region)

    def _emit(self) -> None:
        value = self.value()
        if value != self._last:
            self._last = value
            self.changed.emit(value)


def _py(value: QDateTime) -> datetime:
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second())
