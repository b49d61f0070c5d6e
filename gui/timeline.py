"""The timeline: one lane per video (its whole length), hit intervals coloured by score; or, by
camera, one lane per camera on one shared wall clock (each video where its recording falls; videos
with no known start keep a lane of their own after them).

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
from pipeline.types import Hit, clock_at

HEADER_H = 20  # title row with the colour legend
LANE_H = 36  # bar plus tick labels
BAR_H = 16
LABEL_W_MIN, LABEL_W_MAX = 90, 240  # the column of video names on the left fits the longest name
RIGHT_PAD = 12
HIT_MIN_W = 3.0  # pixels: a one-frame hit stays visible and clickable
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


@dataclass(frozen=True)
class Lane:
    path: str
    duration_s: float
    camera: str = ""
    start: datetime | None = None  # the video's recording start (naive local time), if known

    @property
    def name(self) -> str:
        return f"{self.camera} · {Path(self.path).name}" if self.camera else Path(self.path).name


@dataclass(frozen=True)
class Segment:
    path: str
    offset_s: float  # where the video starts in its row
    duration_s: float


@dataclass(frozen=True)
class Row:
    name: str
    span_s: float  # seconds the row's width stands for
    segments: tuple[Segment, ...]
    origin: datetime | None = None  # wall-clock time at the row's left end, if known
    clock: bool = False  # a camera's row on the shared clock (ticks show clock times)

    def at(self, t: float) -> tuple[str, float] | None:
        """(video, seconds into it) at ``t`` seconds from the row's left end; None in a gap."""
        for seg in self.segments:
            if seg.offset_s <= t <= seg.offset_s + seg.duration_s:
                return seg.path, t - seg.offset_s
        return None


def lay_rows(lanes: list[Lane], by_camera: bool) -> list[Row]:
    """One row per video; or one per camera on a shared clock, then one per video of unknown start."""
    per_video = [
        Row(lane.name, lane.duration_s, (Segment(lane.path, 0.0, lane.duration_s),), lane.start)
        for lane in lanes
    ]
    timed = [lane for lane in lanes if lane.start is not None]
    if not by_camera or not timed:
        return per_video
    t0 = min(lane.start for lane in timed)  # type: ignore[type-var]
    t1 = max(clock_at(lane.start, lane.duration_s) for lane in timed)  # type: ignore[type-var]
    span = max((t1 - t0).total_seconds(), 1e-3)
    cameras: dict[str, list[Segment]] = {}
    for lane in sorted(timed, key=lambda lane: lane.start):  # type: ignore[arg-type, return-value]
        offset = (lane.start - t0).total_seconds()  # type: ignore[operator]
        cameras.setdefault(lane.camera or "unknown camera", []).append(
            Segment(lane.path, offset, lane.duration_s)
        )
    rows = [Row(name, span, tuple(segs), t0, clock=True) for name, segs in sorted(cameras.items())]
    return rows + [row for row, lane in zip(per_video, lanes) if lane.start is None]


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
        self.rows: list[Row] = []
        self.by_camera = False  # one lane per camera on a shared clock
        self.hits: list[Hit] = []
        self.current: Hit | None = None
        self.cursor: tuple[str, float] | None = None  # (video path, seconds) on show in the player
        self.hover_text = ""
        self._label_w = LABEL_W_MIN

    def set_lanes(self, lanes: list[Lane]) -> None:
        self.lanes = [lane for lane in lanes if lane.duration_s > 0]
        self._lay()

    def set_by_camera(self, on: bool) -> None:
        self.by_camera = bool(on)
        self._lay()

    def _lay(self) -> None:
        self.rows = lay_rows(self.lanes, self.by_camera)
        widest = max((self.fontMetrics().horizontalAdvance(row.name) for row in self.rows), default=0)
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
        return HEADER_H + LANE_H * max(len(self.rows), 1) + 4

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

    def _place(self, path: str, seconds: float) -> tuple[int, float] | None:
        """(row, x) of a moment of a video."""
        for i, row in enumerate(self.rows):
            for seg in row.segments:
                if seg.path == path:
                    bar = self.bar_rect(i)
                    return i, bar.x() + (seg.offset_s + seconds) / row.span_s * bar.width()
        return None

    def hit_rect(self, hit: Hit) -> QRectF | None:
        start, end = self._place(hit.video_path, hit.start_s), self._place(hit.video_path, hit.end_s)
        if start is None or end is None:
            return None
        bar = self.bar_rect(start[0])
        w = max(end[1] - start[1], HIT_MIN_W)
        return QRectF(min(start[1], bar.right() - w), bar.y(), w, bar.height())

    def lane_at(self, y: float) -> int:
        i = int((y - HEADER_H) // LANE_H)
        return i if y >= HEADER_H and 0 <= i < len(self.rows) else -1

    def time_at(self, lane_index: int, x: float) -> float:
        """Seconds from the row's left end at ``x``."""
        bar = self.bar_rect(lane_index)
        frac = min(max((x - bar.x()) / bar.width(), 0.0), 1.0)
        return frac * self.rows[lane_index].span_s

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
        for i, row in enumerate(self.rows):
            self._paint_lane(p, i, row, small)
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
        if self.cursor is not None and (at := self._place(*self.cursor)) is not None:
            bar = self.bar_rect(at[0])
            x = min(at[1], bar.right())
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

    def _paint_lane(self, p: QPainter, i: int, row: Row, small: QFont) -> None:
        bar = self.bar_rect(i)
        p.setPen(self.palette().color(self.foregroundRole()))
        name_rect = QRectF(4, bar.y() - 2, self._label_w - 10, BAR_H + 4)
        name = p.fontMetrics().elidedText(row.name, Qt.TextElideMode.ElideMiddle, int(name_rect.width()))
        p.drawText(name_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), name)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(240, 241, 243) if row.clock else QColor(225, 228, 232))
        p.drawRect(bar)
        if row.clock:  # where the camera recorded: its videos on the shared clock
            p.setBrush(QColor(215, 219, 225))
            for seg in row.segments:
                x = bar.x() + seg.offset_s / row.span_s * bar.width()
                p.drawRect(
                    QRectF(x, bar.y(), max(seg.duration_s / row.span_s * bar.width(), 1.0), bar.height())
                )
        step = tick_step(row.span_s, bar.width(), 90.0 if row.clock else 60.0)
        p.setFont(small)
        p.setPen(QColor(120, 120, 120))
        t = 0.0
        while t <= row.span_s + 1e-6:
            x = bar.x() + t / row.span_s * bar.width()
            p.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 3))
            if row.clock and row.origin is not None:
                label = f"{clock_at(row.origin, t):%H:%M:%S}"
            else:
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
        row = self.rows[i]
        t = self.time_at(i, pos.x())
        text = f"{row.name}  {clock_label(row.origin, t)}"
        if row.clock:
            at = row.at(t)
            text += f"\n{Path(at[0]).name} at {fmt_time(at[1])}" if at else "\nnot recording"
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
            at = self.rows[i].at(self.time_at(i, pos.x()))
            if at is not None:
                self.seek_requested.emit(*at)
