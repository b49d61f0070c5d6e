"""Results: the hits table with a live threshold slider and sorting by score or time."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.results_model import (
    COL_SCORE,
    COL_THUMB,
    COL_TIME,
    COL_VIDEO,
    HIT_ROLE,
    THUMB_SIZE,
    HitsModel,
    HitsProxy,
)
from gui.search_service import SearchOutcome
from pipeline.search import SearchConfig
from pipeline.types import Hit

SLIDER_STEPS = 100  # the slider works in hundredths of a score


class ResultsPanel(QWidget):
    """Emits ``hit_activated`` when the operator picks a hit and ``visible_hits_changed`` as the
    threshold moves."""

    hit_activated = Signal(object)  # Hit
    visible_hits_changed = Signal()
    reviewed = Signal(object, str)  # Hit, "confirmed" | "rejected"
    refine_requested = Signal()
    route_requested = Signal()
    report_requested = Signal()
    notes_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = HitsModel(self)
        self.proxy = HitsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.outcome: SearchOutcome | None = None
        self._new: int | None = None  # candidates that a search of the same query again added
        self.setMinimumWidth(360)  # the three panes fit a 1024-px screen with its window frame
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(THUMB_SIZE)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab moves on to Confirm, Reject...; arrows move in the table
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE.height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_THUMB, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_THUMB, THUMB_SIZE.width() + 12)
        header.setSectionResizeMode(COL_VIDEO, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_TIME, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_SCORE, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setTextElideMode(
            Qt.TextElideMode.ElideRight
        )  # the camera first (NVR names differ at their ends)
        self.table.sortByColumn(COL_SCORE, Qt.SortOrder.DescendingOrder)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.clicked.connect(self._on_clicked)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        defaults = SearchConfig()  # the engine's thresholds: one place for them
        self.slider.setRange(round(defaults.display_floor * SLIDER_STEPS), SLIDER_STEPS)
        self.slider.setValue(round(defaults.min_score * SLIDER_STEPS))
        self.slider.setToolTip("Least score shown; drag to see weaker or only stronger matches")
        self.slider.valueChanged.connect(self._on_slider)
        self.threshold_label = QLabel()
        self.sort = QComboBox()
        self.sort.addItems(["Sort by score", "Sort by time"])
        self.sort.currentIndexChanged.connect(lambda i: self.sort_by("time" if i else "score"))
        # two rows: the verdicts and refining, then the case (six buttons in one row were cut off at a
        # 1300 px window: "Confirm (C" on X11)
        review, case_row = QHBoxLayout(), QHBoxLayout()

        def button(text: str, tip: str, slot: object, row: QHBoxLayout = review) -> QPushButton:
            b = QPushButton(text)
            b.setAutoDefault(False)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            row.addWidget(b)
            return b

        for label, key, verdict in (("Confirm (C)", "C", "confirmed"), ("Reject (X)", "X", "rejected")):
            who = "the person" if verdict == "confirmed" else "not the person"
            button(
                label, f"Mark the selected hits as {who}", lambda _=False, v=verdict: self.review_selected(v)
            )
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda v=verdict: self.review_selected(v))
        self.refine_button = button(
            "Refine",
            "Search again with the confirmed hits as examples and the rejected as counter-examples",
            self.refine_requested,
        )
        self.route_button = button(
            "Route",
            "Where the person was seen, in clock order across cameras",
            self.route_requested,
            case_row,
        )
        self.notes_button = button(
            "Notes…",
            "The case's notes, kept with it and printed in its report",
            self.notes_requested,
            case_row,
        )
        self.report_button = button(
            "Report…",
            "Write the case's PDF report with the confirmed hits' clips",
            self.report_requested,
            case_row,
        )
        review.addStretch(1)
        case_row.addStretch(1)
        self.summary = QLabel("Search results appear here.")
        self.summary.setWordWrap(True)

        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Results</b>"))
        head.addStretch(1)
        head.addWidget(self.sort)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Threshold"))
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.threshold_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addLayout(slider_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(review)
        layout.addLayout(case_row)
        self._update_label()

    @property
    def threshold(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def set_threshold(self, value: float) -> None:
        self.slider.setValue(round(value * SLIDER_STEPS))

    def set_outcome(self, outcome: SearchOutcome, keep_view: bool = False) -> None:
        """Show a search's hits; the slider starts at the engine's floor. Until it is moved, only the
        engine's own hits show (they also had to stand out in their video); once moved, every
        candidate at or above it. ``keep_view``: the same query searched again (a video finished
        indexing, a clock was corrected): a threshold the operator set stays, the selected hits stay
        selected, and the summary says how many candidates are new (a sweep: every video finished
        during a folder's indexing reset the operator's 0.40 to 0.73 and emptied the selection)."""
        before = self.outcome if keep_view and _same_query(self.outcome, outcome) else None
        moved = before is not None and self.proxy.only is None  # the operator set the threshold
        chosen = {h.track_pk for h in self.selected_hits()} if before is not None else set()
        current = self.table.currentIndex().data(HIT_ROLE) if before is not None else None
        self.outcome = outcome
        self._new = (
            len({h.track_pk for h in outcome.candidates} - {h.track_pk for h in before.candidates})
            if before is not None
            else None
        )
        self.model.set_hits(outcome.candidates, dict(outcome.thumbnails))
        if not moved:
            self.slider.blockSignals(True)
            self.slider.setValue(int(outcome.cut * SLIDER_STEPS + 0.999))  # round up: keep the cut's hits
            self.slider.blockSignals(False)
        self.proxy.set_min_score(
            self.threshold, None if moved else frozenset(h.track_pk for h in outcome.hits)
        )
        if chosen:
            self._reselect(chosen, None if current is None else current.track_pk)
        self._update_label()
        self.visible_hits_changed.emit()

    def _reselect(self, pks: set[int], current: int | None) -> None:
        """Select the rows of these tracks again (and make ``current``'s row current), silently: the
        player stays on the hit it shows."""
        model = self.table.selectionModel()
        model.blockSignals(True)
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, COL_VIDEO)
            hit = index.data(HIT_ROLE)
            if hit is not None and hit.track_pk in pks:
                if hit.track_pk == current:
                    model.setCurrentIndex(index, flags)
                else:
                    model.select(index, flags)
        model.blockSignals(False)
        self.table.viewport().update()

    def clear(self, text: str = "Search results appear here.") -> None:
        self.outcome, self._new = None, None
        self.model.set_hits((), {})
        self.summary.setText(text)
        self._update_label()
        self.visible_hits_changed.emit()

    def sort_by(self, key: str) -> None:
        """'score' (best first) or 'time' (video, then start)."""
        if key == "time":
            self.table.sortByColumn(COL_TIME, Qt.SortOrder.AscendingOrder)
        else:
            self.table.sortByColumn(COL_SCORE, Qt.SortOrder.DescendingOrder)
        self.sort.blockSignals(True)
        self.sort.setCurrentIndex(1 if key == "time" else 0)
        self.sort.blockSignals(False)

    def review_selected(self, verdict: str) -> None:
        """The operator's verdict on the selected hits (``reviewed`` for each)."""
        for hit in self.selected_hits():
            self.reviewed.emit(hit, verdict)

    def visible_hits(self) -> list[Hit]:
        return self.proxy.visible_hits()

    def selected_hits(self) -> list[Hit]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(HIT_ROLE) for r in rows]

    def select_hit(self, hit: Hit) -> None:
        """Make ``hit`` the current row (e.g. after a click on the timeline), without re-emitting."""
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, COL_VIDEO)
            if index.data(HIT_ROLE) == hit:
                self.table.blockSignals(True)
                self.table.selectionModel().blockSignals(True)
                self.table.selectionModel().setCurrentIndex(
                    index,
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
                )
                self.table.selectionModel().blockSignals(False)
                self.table.blockSignals(False)
                self.table.scrollTo(index)
                self.table.viewport().update()
                return

    def _on_slider(self, _value: int) -> None:
        self.proxy.set_min_score(self.threshold)
        self._update_label()
        self.visible_hits_changed.emit()

    def _update_label(self) -> None:
        n = self.proxy.rowCount()
        self.threshold_label.setText(f"{self.threshold:.2f}")
        o = self.outcome
        if o is None:
            return
        if n:
            text = f"{n} hit{'s' if n != 1 else ''} at or above {self.threshold:.2f}"
            text += f" (of {len(o.candidates)} candidates; search took {o.elapsed_s * 1000:.0f} ms)"
            if self._new:  # the same query searched again: what the videos indexed since added
                text += f"; {self._new} new since the last search"
        elif o.best_score is None:
            text = "No indexed video to search yet: results appear as videos finish indexing."
        else:
            text = (
                f"No hit at or above {self.threshold:.2f} (best score {o.best_score:.2f}): "
                "the person was not found. Lower the threshold to see weaker matches."
            )
        self.summary.setText(text)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        hit = current.data(HIT_ROLE) if current.isValid() else None
        if hit is not None:
            self.hit_activated.emit(hit)

    def _on_clicked(self, index: QModelIndex) -> None:
        # also for the row that is already current (currentRowChanged stays silent then); the player
        # ignores a repeat of the hit it is already showing at the same frame
        hit = index.data(HIT_ROLE)
        if hit is not None:
            self.hit_activated.emit(hit)


def _same_query(shown: SearchOutcome | None, new: SearchOutcome) -> bool:
    """Whether a search's answer is for the query whose results are on screen (the request that
    asked it first): a photo dropped just before a repeat was asked for is repeated as the new
    query, and kept the old person's threshold and selection (a review)."""
    return shown is not None and new.query_id != 0 and shown.query_id == new.query_id
