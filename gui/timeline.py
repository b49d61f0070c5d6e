"""The timeline: one lane per video (its whole length), hit intervals coloured by score.

Hovering shows the time and the hit's score; clicking a hit selects it, clicking elsewhere in a lane
seeks the player to that moment of that video.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from gui.util import SCORE_HIGH, SCORE_LOW, fmt_time, hit_time_text, score_color
from pipeline.cameras import clock_label
from pipeline.types import Hit

HEADER_H = 20  # title row with the colour legend
LANE_H = 36  # bar plus tick labels
BAR_H = 16
LABEL_W_MIN, LABEL_W_MAX = 90, 240  # the column of video names on the left fits the longest name
RIGHT_PAD = 12
HIT_MIN_W = 3.0  # pixels: a one-frame hit stays visible and clickable
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


@dataclass(frozen=True)
class Lane:
    path: str
    duration_s: float
    camera: str = ""
    start: datetime | None = None  # the video's recording start (naive local time), if known

    @property
    def name(self) -> str:
        return f"{self.camera} · {Path(self.path).name}" if self.camera else Path(self.path).name


def tick_step(duration_s: float, width_px: float, min_px: float = 60.0) -> float:
    """The smallest 'nice' step (seconds) whose labels are at least ``min_px`` apart."""
    for step in TICK_STEPS:
        if duration_s <= 0 or step / duration_s * width_px >= min_px:
            return float(step)
    return float(TICK_STEPS[-1])


class TimelineWidget(QWidget):
    hit_clicked = Signal(object)  # Hit
    seek_requested = Signal(str, float)  # video path, seconds

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.lanes: list[Lane] = []
        self.hits: list[Hit] = []
        self.current: Hit | None = None
        self.cursor: tuple[str, float] | None = None  # (video path, seconds) on show in the player
        self.hover_text = ""
        self._label_w = LABEL_W_MIN

    def set_lanes(self, lanes: list[Lane]) -> None:
        self.lanes = [lane for lane in lanes if lane.duration_s > 0]
        widest = max((self.fontMetrics().horizontalAdvance(lane.name) for lane in self.lanes), default=0)
        self._label_w = min(max(widest + 16, LABEL_W_MIN), LABEL_W_MAX)
        self.setMinimumHeight(self._height())
        self.updateGeometry()
        self.update()

    def set_hits(self, hits: list[Hit]) -> None:
        self.hits = sorted(hits, key=lambda h: h.score)  # strongest painted last, on top
        self.update()

    def set_current(self, hit: Hit | None) -> None:
        self.current = hit
        self.update()

    def set_cursor(self, video_path: str, seconds: float) -> None:
        self.cursor = (video_path, seconds)
        self.update()

    def _height(self) -> int:
        return HEADER_H + LANE_H * max(len(self.lanes), 1) + 4

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(600, self._height())

    # ----- geometry -------------------------------------------------------------------------------

    def _x0(self) -> float:
        return float(self._label_w)

    def _track_width(self) -> float:
        return max(self.width() - self._label_w - RIGHT_PAD, 10)

    def bar_rect(self, lane_index: int) -> QRectF:
        y = HEADER_H + lane_index * LANE_H + 2
        return QRectF(self._x0(), y, self._track_width(), BAR_H)

    def hit_rect(self, hit: Hit) -> QRectF | None:
        for i, lane in enumerate(self.lanes):
            if lane.path == hit.video_path:
                bar = self.bar_rect(i)
                x1 = bar.x() + hit.start_s / lane.duration_s * bar.width()
                x2 = bar.x() + hit.end_s / lane.duration_s * bar.width()
                w = max(x2 - x1, HIT_MIN_W)
                return QRectF(min(x1, bar.right() - w), bar.y(), w, bar.height())
        return None

    def lane_at(self, y: float) -> int:
        i = int((y - HEADER_H) // LANE_H)
        return i if y >= HEADER_H and 0 <= i < len(self.lanes) else -1

    def time_at(self, lane_index: int, x: float) -> float:
        bar = self.bar_rect(lane_index)
        frac = min(max((x - bar.x()) / bar.width(), 0.0), 1.0)
        return frac * self.lanes[lane_index].duration_s

    def hit_at(self, pos: QPointF) -> Hit | None:
        """The strongest hit under ``pos`` (a pixel of slack each side)."""
        for hit in reversed(self.hits):
            r = self.hit_rect(hit)
            if r is not None and r.adjusted(-1, -2, 1, 2).contains(pos):
                return hit
        return None

    # ----- painting -------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_header(p)
        if not self.lanes:
            p.setPen(QColor(130, 130, 130))
            p.drawText(
                QRectF(0, HEADER_H, self.width(), LANE_H),
                Qt.AlignmentFlag.AlignCenter,
                "Indexed videos appear here, one lane each, with the hits of the search.",
            )
            return
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() * 0.8, 6.5))
        for i, lane in enumerate(self.lanes):
            self._paint_lane(p, i, lane, small)
        for hit in self.hits:
            r = self.hit_rect(hit)
            if r is None:
                continue
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(score_color(hit.score))
            p.drawRect(r)
        if self.current is not None and (r := self.hit_rect(self.current)) is not None:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor(20, 20, 20), 2))
            p.drawRect(r.adjusted(-1, -1, 1, 1))
        if self.cursor is not None:
            for i, lane in enumerate(self.lanes):
                if lane.path == self.cursor[0]:
                    bar = self.bar_rect(i)
                    x = bar.x() + min(self.cursor[1] / lane.duration_s, 1.0) * bar.width()
                    p.setPen(QPen(QColor(220, 30, 30), 2))
                    p.drawLine(QPointF(x, bar.y() - 2), QPointF(x, bar.bottom() + 2))

    def _paint_header(self, p: QPainter) -> None:
        p.setPen(self.palette().color(self.foregroundRole()))
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(QRectF(4, 0, self._label_w, HEADER_H), Qt.AlignmentFlag.AlignVCenter, "Timeline")
        p.setFont(self.font())
        legend = QRectF(self.width() - RIGHT_PAD - 120, 5, 120, 10)
        steps = 6  # discrete swatches: the same colours the hits are painted with
        for k in range(steps):
            swatch = QRectF(legend.x() + k * legend.width() / steps, legend.y(), legend.width() / steps, 10)
            p.fillRect(swatch, score_color(SCORE_LOW + (k + 0.5) / steps * (SCORE_HIGH - SCORE_LOW)))
        p.drawText(
            QRectF(legend.x() - 130, 0, 125, HEADER_H),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            f"score {SCORE_LOW:.1f} … {SCORE_HIGH:.1f}",
        )

    def _paint_lane(self, p: QPainter, i: int, lane: Lane, small: QFont) -> None:
        bar = self.bar_rect(i)
        p.setPen(self.palette().color(self.foregroundRole()))
        name_rect = QRectF(4, bar.y() - 2, self._label_w - 10, BAR_H + 4)
        name = p.fontMetrics().elidedText(lane.name, Qt.TextElideMode.ElideMiddle, int(name_rect.width()))
        p.drawText(name_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), name)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(225, 228, 232))
        p.drawRect(bar)
        step = tick_step(lane.duration_s, bar.width())
        p.setFont(small)
        p.setPen(QColor(120, 120, 120))
        t = 0.0
        while t <= lane.duration_s + 1e-6:
            x = bar.x() + t / lane.duration_s * bar.width()
            p.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 3))
            label = fmt_time(t).removesuffix(".0") if step >= 1 else fmt_time(t)
            w = p.fontMetrics().horizontalAdvance(label)
            lx = min(max(x - w / 2, bar.x()), bar.right() - w)
            p.drawText(QPointF(lx, bar.bottom() + 4 + p.fontMetrics().ascent()), label)
            t += step
        p.setFont(self.font())

    # ----- interaction ----------------------------------------------------------------------------

    def describe(self, pos: QPointF) -> str:
        """What hovering at ``pos`` shows: the lane's video and time, and the hit there if any."""
        i = self.lane_at(pos.y())
        if i < 0 or pos.x() < self._x0() - 2:
            return ""
        lane = self.lanes[i]
        text = f"{lane.name}  {clock_label(lane.start, self.time_at(i, pos.x()))}"
        hit = self.hit_at(pos)
        if hit is not None:
            text += f"\nhit: {hit_time_text(hit)}, score {hit.score:.2f} (track {hit.track_id})"
        return text

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.hover_text = self.describe(event.position())
        hit = self.hit_at(event.position())
        self.setCursor(Qt.CursorShape.PointingHandCursor if hit else Qt.CursorShape.ArrowCursor)
        if self.hover_text:
            QToolTip.showText(event.globalPosition().toPoint(), self.hover_text, self)
        else:
            QToolTip.hideText()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        hit = self.hit_at(pos)
        if hit is not None:
            self.hit_clicked.emit(hit)
            return
        i = self.lane_at(pos.y())
        if i >= 0 and pos.x() >= self._x0():
            self.seek_requested.emit(self.lanes[i].path, self.time_at(i, pos.x()))
