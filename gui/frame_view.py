"""The player's picture: a video frame scaled to fit, with people's boxes drawn from stored paths.

Right-clicking a person offers "Search for this person" (their box in frame pixels is emitted).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QMenu, QWidget

from gui.image_view import Box, ImageView
from gui.util import BOX_COLOR

MATCH, CURRENT, OTHER = "match", "current", "other"  # box styles: a hit, the selected hit, anyone else


@dataclass(frozen=True)
class DrawnBox:
    track_pk: int
    box: Box  # frame pixels
    style: str
    label: str = ""


class FrameView(ImageView):
    search_requested = Signal(object)  # Box of the person right-clicked, in frame pixels

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 200)
        self.boxes: tuple[DrawnBox, ...] = ()
        self.placeholder = "Click a result or a timeline lane to play a video here."
        self.last_menu: QMenu | None = None  # kept for tests: the context menu last shown

    def set_frame(self, image: QImage | None, boxes: tuple[DrawnBox, ...]) -> None:
        self._image, self.boxes = image, boxes
        self.update()

    def box_at(self, pos: QPointF) -> DrawnBox | None:
        """The smallest drawn box under ``pos`` (widget coordinates)."""
        i = self.smallest_box_at([b.box for b in self.boxes], pos)
        return self.boxes[i] if i >= 0 else None

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 20))
        if self._image is None:
            p.setPen(QColor(160, 160, 160))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(self.image_rect(), self._image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        order = {OTHER: 0, MATCH: 1, CURRENT: 2}
        for b in sorted(self.boxes, key=lambda b: order[b.style]):
            r = self.to_widget(b.box)
            if b.style == OTHER:
                p.setPen(QPen(QColor(235, 235, 235, 150), 1, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(r)
                continue
            p.setPen(QPen(BOX_COLOR, 3 if b.style == CURRENT else 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r)
            if b.label:
                fm = p.fontMetrics()
                tw, th = fm.horizontalAdvance(b.label) + 6, fm.height() + 2
                top = r.y() - th if r.y() - th >= self.image_rect().y() else r.y()
                tag = QRectF(r.x() - 1, top, tw, th)
                p.fillRect(tag, BOX_COLOR)
                p.setPen(QColor(0, 0, 0))
                p.drawText(tag, Qt.AlignmentFlag.AlignCenter, b.label)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt override
        found = self.box_at(QPointF(event.pos()))
        menu = QMenu(self)
        action = menu.addAction("Search for this person")
        action.setEnabled(found is not None)
        if found is None:
            action.setText("Search for this person (right-click inside a box)")
        else:
            action.triggered.connect(lambda: self.search_requested.emit(found.box))
        self.last_menu = menu
        menu.popup(event.globalPos())
