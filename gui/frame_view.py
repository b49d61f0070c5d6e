"""The player's picture: a video frame scaled to fit, with people's boxes drawn from stored paths.

Right-clicking a person offers "Search for this person" (their box in frame pixels is emitted).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from gui.query_panel import fit_rect
from gui.util import BOX_COLOR

Box = tuple[float, float, float, float]

MATCH, CURRENT, OTHER = "match", "current", "other"  # box styles: a hit, the selected hit, anyone else


@dataclass(frozen=True)
class DrawnBox:
    track_pk: int
    box: Box  # frame pixels
    style: str
    label: str = ""


class FrameView(QWidget):
    search_requested = Signal(object)  # Box of the person right-clicked, in frame pixels

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self.boxes: tuple[DrawnBox, ...] = ()
        self.placeholder = "Click a result or a timeline lane to play a video here."
        self.last_menu: QMenu | None = None  # kept for tests: the context menu last shown

    def set_frame(self, image: QImage | None, boxes: tuple[DrawnBox, ...]) -> None:
        self._image, self.boxes = image, boxes
        self.update()

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        return fit_rect(self._image.width(), self._image.height(), QRectF(self.rect()))

    def to_widget(self, box: Box) -> QRectF:
        r = self.image_rect()
        s = r.width() / self._image.width() if self._image is not None and self._image.width() else 1.0
        return QRectF(r.x() + box[0] * s, r.y() + box[1] * s, (box[2] - box[0]) * s, (box[3] - box[1]) * s)

    def box_at(self, pos: QPointF) -> DrawnBox | None:
        """The smallest drawn box under ``pos`` (widget coordinates)."""
        under = [(b.box[2] - b.box[0]) * (b.box[3] - b.box[1]) for b in self.boxes]
        found = [
            (a, i) for i, (a, b) in enumerate(zip(under, self.boxes)) if self.to_widget(b.box).contains(pos)
        ]
        return self.boxes[min(found)[1]] if found else None

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
