"""The search results as a table model: best-crop thumbnail, video, start-end time, score.

The model holds every candidate of a search; :class:`HitsProxy` keeps those at or above the
threshold and sorts by score or by time (video, then start).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QPixmap

from gui.util import fmt_time, hit_time_text, jpeg_to_pixmap, score_color
from pipeline.types import Hit

COL_THUMB, COL_VIDEO, COL_TIME, COL_SCORE = range(4)
HEADERS = ("", "Video", "Time", "Score")
THUMB_SIZE = QSize(40, 72)
HIT_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's Hit
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # sortable key of the cell

AnyIndex = QModelIndex | QPersistentModelIndex


VERDICT_MARKS = {"confirmed": "✓ ", "rejected": "✗ "}


class HitsModel(QAbstractTableModel):
    def __init__(self, parent: object | None = None):
        super().__init__(parent)
        self._hits: tuple[Hit, ...] = ()
        self._jpeg: dict[int, bytes] = {}
        self._pixmaps: dict[int, QPixmap] = {}
        self.verdicts: dict[int, str] = {}  # track pk -> "confirmed" | "rejected" (the review)

    def set_verdicts(self, verdicts: dict[int, str]) -> None:
        self.verdicts = dict(verdicts)
        if self._hits:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._hits) - 1, len(HEADERS) - 1))

    def set_hits(self, hits: tuple[Hit, ...], thumbnails: dict[int, bytes]) -> None:
        self.beginResetModel()
        self._hits, self._jpeg, self._pixmaps = hits, dict(thumbnails), {}
        self.endResetModel()

    def hits(self) -> tuple[Hit, ...]:
        return self._hits

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._hits)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def thumbnail(self, track_pk: int) -> QPixmap:
        if track_pk not in self._pixmaps:
            pixmap = jpeg_to_pixmap(self._jpeg.get(track_pk, b""))
            if not pixmap.isNull():
                pixmap = pixmap.scaled(
                    THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            self._pixmaps[track_pk] = pixmap
        return self._pixmaps[track_pk]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit, col = self._hits[index.row()], index.column()
        if role == HIT_ROLE:
            return hit
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_VIDEO:
                name = Path(hit.video_path).name
                mark = VERDICT_MARKS.get(self.verdicts.get(hit.track_pk, ""), "")
                return f"{mark}{hit.camera} · {name}" if hit.camera else f"{mark}{name}"
            if col == COL_TIME:
                return hit_time_text(hit)
            if col == COL_SCORE:
                return f"{hit.score:.2f}"
        elif role == Qt.ItemDataRole.DecorationRole and col == COL_THUMB:
            return self.thumbnail(hit.track_pk)
        elif role == Qt.ItemDataRole.SizeHintRole and col == COL_THUMB:
            return THUMB_SIZE + QSize(8, 6)
        elif role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{hit.video_path}\ncamera {hit.camera or 'unknown'}, {hit_time_text(hit)}"
                f"\ntrack {hit.track_id}, frames {hit.start_frame}–{hit.end_frame}, in the video "
                f"{fmt_time(hit.start_s)} – {fmt_time(hit.end_s)}\nscore {hit.score:.3f}"
            )
        elif role == Qt.ItemDataRole.BackgroundRole and col == COL_SCORE:
            color = score_color(hit.score)
            color.setAlpha(110)
            return QBrush(color)
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_SCORE, COL_TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == SORT_ROLE:
            if col == COL_VIDEO:
                return (Path(hit.video_path).name, hit.start_s)
            if col == COL_TIME:  # clock order across cameras; videos of unknown start after them
                if hit.start_time is not None:
                    return (0, hit.start_time.timestamp(), "", -hit.score)
                return (1, hit.video_path, hit.start_s, -hit.score)
            return (hit.score, -hit.start_s)
        return None


class HitsProxy(QSortFilterProxyModel):
    """Rows with a score at or above ``min_score`` (and, while ``only`` is set, only those tracks: the
    search's own hits); sorting by score, time or video."""

    def __init__(self, parent: object | None = None):
        super().__init__(parent)
        self.min_score = 0.0
        self.only: frozenset[int] | None = None
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_min_score(self, value: float, only: frozenset[int] | None = None) -> None:
        if value == self.min_score and only == self.only:
            return
        self.beginFilterChange()
        self.min_score, self.only = value, only
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:  # noqa: N802
        hit = self.sourceModel().index(source_row, 0, source_parent).data(HIT_ROLE)
        if hit is None or hit.score < self.min_score - 1e-9:
            return False
        return self.only is None or hit.track_pk in self.only

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:  # noqa: N802 - Qt override
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        return a < b if a is not None and b is not None else False

    def visible_hits(self) -> list[Hit]:
        """Hits at or above the threshold, in the order shown."""
        return [self.index(r, 0).data(HIT_ROLE) for r in range(self.rowCount())]
