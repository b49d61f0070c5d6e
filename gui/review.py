"""The operator's review in the app: confirm or reject hits (kept in a case in the library, with who
and when), and refine the search with them (``pipeline.refine``)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QObject, Signal

from gui.results_panel import ResultsPanel
from gui.search_service import SearchService
from pipeline.engine import SpotterError
from pipeline.storage import Library
from pipeline.types import Hit


class ReviewController(QObject):
    """One case per query photo, opened at its first verdict; ``error`` / ``info`` for the window."""

    error = Signal(str)
    info = Signal(str)

    def __init__(self, library: Library, results: ResultsPanel, search: SearchService, parent: QObject):
        super().__init__(parent)
        self.library, self.results, self.search = library, results, search
        self.case_name: str | None = None
        results.reviewed.connect(self.mark)
        results.refine_requested.connect(self.refine)

    def new_query(self) -> None:
        """A new photo is a new person: its review starts afresh."""
        self.case_name = None
        self.results.model.set_verdicts({})

    def mark(self, hit: Hit, verdict: str) -> None:
        try:
            if self.case_name is None:
                source = self.search.last_request.source if self.search.last_request else "photo"
                name = f"{source} {datetime.now():%Y-%m-%d %H:%M:%S}"
                self.library.create_case(name, [])
                self.case_name = name
            self.library.mark(self.case_name, hit.track_pk, verdict)
        except SpotterError as e:
            self.error.emit(str(e))
            return
        self.results.model.set_verdicts({**self.results.model.verdicts, hit.track_pk: verdict})
        self.info.emit(f"Track {hit.track_id} {verdict} (case {self.case_name!r})")

    def refine(self) -> None:
        verdicts = self.results.model.verdicts
        if not verdicts:
            self.error.emit("Confirm (C) or reject (X) some hits first: refining searches with them")
            return
        confirmed = tuple(pk for pk, v in verdicts.items() if v == "confirmed")
        rejected = tuple(pk for pk, v in verdicts.items() if v == "rejected")
        self.search.refine(confirmed, rejected)
