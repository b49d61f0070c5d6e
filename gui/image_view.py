"""A picture scaled to fit a widget, with boxes in the picture's pixels: the geometry the query photo
and the player's frame share (where the picture is drawn, where a box lands, which box is under the
mouse). A picture whose pixels are not square (a DVR's D1 footage: ``pixel_aspect`` 12/11) is drawn
stretched as players show it; boxes stay in its stored pixels."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QSizePolicy, QWidget

from pipeline.types import Box
from pipeline.video import display_width


def fit_rect(image_w: int, image_h: int, area: QRectF) -> QRectF:
    """Where an image of this size is drawn inside ``area`` (scaled to fit, centred)."""
    if image_w <= 0 or image_h <= 0:
        return QRectF()
    scale = min(area.width() / image_w, area.height() / image_h)
    w, h = image_w * scale, image_h * scale
    return QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)


class ImageView(QWidget):
    """Base of the views that paint a picture scaled to fit with boxes on it."""

    margin = 0.0  # space kept around the picture (pixels)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self.pixel_aspect = 1.0  # a picture pixel's width over its height

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        m = self.margin
        wide = display_width(self._image.width(), self.pixel_aspect)
        return fit_rect(wide, self._image.height(), QRectF(self.rect()).adjusted(m, m, -m, -m))

    def _scales(self) -> tuple[QRectF, float, float]:
        """Where the picture is drawn, and widget pixels per picture pixel across and down."""
        r = self.image_rect()
        if self._image is None or not self._image.width() or not self._image.height():
            return r, 1.0, 1.0
        return r, r.width() / self._image.width(), r.height() / self._image.height()

    def to_widget(self, box: Box) -> QRectF:
        """A box in picture pixels, in widget coordinates."""
        r, sx, sy = self._scales()
        return QRectF(
            r.x() + box[0] * sx, r.y() + box[1] * sy, (box[2] - box[0]) * sx, (box[3] - box[1]) * sy
        )

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        """A widget position in picture pixels, clamped to the picture."""
        r, sx, sy = self._scales()
        if self._image is None or r.width() <= 0 or r.height() <= 0:
            return 0.0, 0.0
        x = min(max((pos.x() - r.x()) / sx, 0.0), float(self._image.width()))
        y = min(max((pos.y() - r.y()) / sy, 0.0), float(self._image.height()))
        return x, y

    def smallest_box_at(self, boxes: Sequence[Box], pos: QPointF) -> int:
        """Index of the smallest of ``boxes`` under ``pos`` (widget coordinates), or -1."""
        inside = [(self.to_widget(b), i) for i, b in enumerate(boxes)]
        inside = [(r.width() * r.height(), i) for r, i in inside if r.contains(pos)]
        return min(inside)[1] if inside else -1
