"""The operator's review in the app: confirm or reject hits (kept in a case in the library, with who
and when), and refine the search with them (``pipeline.refine``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from gui.report_runner import ReportRunner
from gui.results_panel import ResultsPanel
from gui.route_view import RouteDialog
from gui.search_service import SearchService
from pipeline.engine import ModelSet, SpotterError
from pipeline.storage import Library
from pipeline.types import Hit

CASE_SOURCE_CHARS = 70  # of the query's name in a case's name (case names have at most 100)


class ReviewController(QObject):
    """One case per query photo, opened at its first verdict; ``error`` / ``info`` for the window."""

    error = Signal(str)
    info = Signal(str)
    play = Signal(object)  # Hit: a route stop was clicked

    def __init__(
        self,
        library: Library,
        results: ResultsPanel,
        search: SearchService,
        make_models: Callable[[], ModelSet],
        parent: QObject,
    ):
        super().__init__(parent)
        self.library, self.results, self.search = library, results, search
        self.reports = ReportRunner(library, make_models, self)
        self.reports.written.connect(lambda pdf: self.info.emit(f"Report written: {pdf}"))
        self.reports.failed.connect(self.error)
        results.report_requested.connect(self.ask_report)
        self.case_name: str | None = None
        results.reviewed.connect(self.mark)
        results.refine_requested.connect(self.refine)
        results.route_requested.connect(self.show_route)
        self.route_dialog: RouteDialog | None = None

    def new_query(self) -> None:
        """A new photo is a new person: its review starts afresh."""
        self.case_name = None
        self.results.model.set_verdicts({})

    def mark(self, hit: Hit, verdict: str) -> None:
        try:
            if self.case_name is None:
                source = self.search.last_request.source if self.search.last_request else "photo"
                name = f"{source[:CASE_SOURCE_CHARS]} {datetime.now():%Y-%m-%d %H:%M:%S}"
                outcome = self.results.outcome
                photos = []
                if outcome is not None and outcome.vector is not None:  # the query photo's vector
                    photos.append((source, outcome.model, outcome.vector))
                self.library.create_case(name, photos)
                self.case_name = name
            self.library.mark(self.case_name, hit.track_pk, verdict)
        except SpotterError as e:
            self.error.emit(str(e))
            return
        self.results.model.set_verdicts({**self.results.model.verdicts, hit.track_pk: verdict})
        self.info.emit(f"Track {hit.track_id} {verdict} (case {self.case_name!r})")

    def show_route(self) -> RouteDialog:
        """The route of the confirmed hits (else of the hits on show), in a non-modal window."""
        if self.route_dialog is None:
            self.route_dialog = RouteDialog(self.parent())
            self.route_dialog.hit_chosen.connect(self.play.emit)
        hits = self.results.visible_hits()
        confirmed = [pk for pk, v in self.results.model.verdicts.items() if v == "confirmed"]
        try:
            thumbnails = self.library.thumbnails([h.track_pk for h in hits])
        except SpotterError as e:
            self.error.emit(str(e))
            thumbnails = {}
        self.route_dialog.show_route(hits, confirmed, thumbnails)
        self.route_dialog.show()
        self.route_dialog.raise_()
        return self.route_dialog

    def ask_report(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parent(), "Write the case report into")
        if folder:
            self.write_report(folder)

    def write_report(self, folder: str) -> bool:
        """The case's PDF, clips and checksums in a new folder under ``folder`` (on a worker thread)."""
        if self.case_name is None:
            self.error.emit("Confirm (C) the hits that are the person first: the report lists them")
            return False
        return self.reports.start(self.case_name, folder, self.search.where)

    def refine(self) -> None:
        verdicts = self.results.model.verdicts
        if not verdicts:
            self.error.emit("Confirm (C) or reject (X) some hits first: refining searches with them")
            return
        confirmed = tuple(pk for pk, v in verdicts.items() if v == "confirmed")
        rejected = tuple(pk for pk, v in verdicts.items() if v == "rejected")
        self.search.refine(confirmed, rejected)
