"""The player's picture: a video frame scaled to fit, with people's boxes drawn from stored paths.

Right-clicking a person offers "Search for this person" (their box in frame pixels is emitted). In
region mode a left-button drag draws the region a search is limited to (emitted in frame pixels);
the region in force is drawn shaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QMenu, QWidget

from gui.image_view import Box, ImageView
from gui.util import BOX_COLOR, WRAPPED_CENTRE

MATCH, CURRENT, OTHER = "match", "current", "other"  # box styles: a hit, the selected hit, anyone else


@dataclass(frozen=True)
class DrawnBox:
    track_pk: int
    box: Box  # frame pixels
    style: str
    label: str = ""


REGION_COLOR = QColor(0, 200, 255)
MIN_REGION_PX = 4.0  # a drag shorter than this (frame pixels) is a click, not a region


class FrameView(ImageView):
    search_requested = Signal(object)  # Box of the person right-clicked, in frame pixels
    region_drawn = Signal(object)  # Box dragged in region mode, in frame pixels

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 200)
        self.boxes: tuple[DrawnBox, ...] = ()
        self.placeholder = "Click a result or a timeline lane to play a video here."
        self.last_menu: QMenu | None = None  # kept for tests: the context menu last shown
        self.region_mode = False  # a left drag draws a region
        self.region: Box | None = None  # the search's region, shown shaded
        self._drag: tuple[float, float] | None = None
        self._dragged: Box | None = None

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
            p.drawText(self.rect().adjusted(6, 6, -6, -6), WRAPPED_CENTRE, self.placeholder)  # a narrow panel
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(self.image_rect(), self._image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for region, alpha in ((self.region, 40), (self._dragged, 70)):
            if region is not None:
                fill = QColor(REGION_COLOR)
                fill.setAlpha(alpha)
                p.setPen(QPen(REGION_COLOR, 2, Qt.PenStyle.DashLine))
                p.setBrush(fill)
                p.drawRect(self.to_widget(region))
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

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.region_mode and self._image is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag = self.to_image(event.position())
            self._dragged = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag is not None:
            self._dragged = _box(self._drag, self.to_image(event.position()))
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag is None:
            return
        box = _box(self._drag, self.to_image(event.position()))
        self._drag, self._dragged = None, None
        self.update()
        if box[2] - box[0] >= MIN_REGION_PX and box[3] - box[1] >= MIN_REGION_PX:
            self.region_drawn.emit(box)


def _box(a: tuple[float, float], b: tuple[float, float]) -> Box:
    return (round(min(a[0], b[0])), round(min(a[1], b[1])), round(max(a[0], b[0])), round(max(a[1], b[1])))
