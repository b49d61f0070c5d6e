"""The operator's review in the app: confirm or reject hits (kept in a case in the library, with who
and when), and refine the search with them (``pipeline.refine``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from gui.report_runner import ReportRunner
from gui.results_panel import ResultsPanel
from gui.route_view import RouteDialog
from gui.search_service import SearchService
from pipeline.case_file import CASE_SUFFIX, import_case, write_case_file
from pipeline.case_photos import CasePhoto, open_case
from pipeline.engine import ModelSet, SpotterError
from pipeline.query import upright_photo
from pipeline.search_filter import filter_from_json, filter_json
from pipeline.storage import Library
from pipeline.types import Hit

CASE_SOURCE_CHARS = 70  # of the query's name in a case's name (case names have at most 100)


class ReviewController(QObject):
    """One case per query photo, opened at its first verdict; ``error`` / ``info`` for the window."""

    error = Signal(str)
    info = Signal(str)
    play = Signal(object)  # Hit: a route stop was clicked
    opened = Signal(object)  # SearchFilter of a case taken up again
    # a case taken up again: its query photo, the box in it, and its other photos ((path, box) pairs)
    photo_requested = Signal(str, object, object)

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
        self.reports = ReportRunner(
            library, make_models, self, parent if isinstance(parent, QWidget) else None
        )
        self.reports.written.connect(lambda pdf: self.info.emit(f"Report written: {pdf}"))
        self.reports.cancelled.connect(self.info)
        self.reports.failed.connect(self.error)
        results.report_requested.connect(self.ask_report)
        results.notes_requested.connect(self.edit_notes)
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
                request = self.search.last_request
                outcome = self.results.outcome
                if request is not None and outcome is not None and request.query_id != outcome.query_id:
                    request = None  # a newer query is being searched: not the photos of the hits on show
                source = request.source if request else "photo"
                name = f"{source[:CASE_SOURCE_CHARS]} {datetime.now():%Y-%m-%d %H:%M:%S}"
                photos, greys = [], ()
                if outcome is not None and outcome.vector is not None:  # the query photo's vector
                    vectors = [outcome.vector, *outcome.more_vectors]  # and the other photos'
                    used = (request.examples[k].image for k in outcome.examples_used) if request else ()
                    images = [request.image, *used] if request is not None else []
                    if len(images) != len(vectors):
                        images = [None] * len(vectors)
                    # a copy of each photo goes with the case (a pasted image or a video frame has
                    # no file; a file may move): the case and its report show the person
                    boxes = list(outcome.photo_boxes) + [None] * len(vectors)
                    turns = list(outcome.photo_turns) + [None] * len(vectors)
                    for k, (vector, image, box, turn) in enumerate(zip(vectors, images, boxes, turns), 1):
                        label = source if k == 1 else f"{source} (photo {k})"
                        if image is not None:  # kept the right way up, as searched
                            image, box = upright_photo(image, box, turn)
                        photos.append(CasePhoto(label, outcome.model, vector, image, box))
                    greys = outcome.greys
                open_case(self.library, name, photos, greys=greys)
                self.case_name = name
            self.library.update_case(self.case_name, filter_json=json.dumps(filter_json(self.search.where)))
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
        return self.reports.start(self.case_name, folder, None)  # the case's filter, as `case report`

    def open_case(self, name: str) -> bool:
        """Take up a case again: its photos (those still on disk; the first is the query, the others
        examples of the same person, as when they were added), its filter and its marks; a case with
        no photo on disk searches with its confirmed hits."""
        try:
            case = self.library.case(name)
        except SpotterError as e:
            self.error.emit(str(e))
            return False
        where = filter_from_json(json.loads(case.filter_json or "{}"))
        self.opened.emit(where)  # the window shows the filter (and the search uses it)
        boxes = list(case.photo_boxes) + [None] * len(case.photos)
        on_disk = [(p, b) for (p, _, _), b in zip(case.photos, boxes) if Path(p).is_file()]
        photo, box = on_disk[0] if on_disk else (None, None)
        verdicts = {m.track_pk: m.verdict for m in case.marks}
        before = self.search.last_request
        if photo is not None:  # a new query: resets the review, restored below; the person searched
            # in a group photo (else the largest was: another), with the case's other photos of them
            self.photo_requested.emit(photo, box, tuple(on_disk[1:]))
        if self.search.last_request is before:  # none of them could be read (each said so)
            photo = None
        self.case_name = name
        self.results.model.set_verdicts(verdicts)
        confirmed = tuple(pk for pk, v in verdicts.items() if v == "confirmed")
        rejected = tuple(pk for pk, v in verdicts.items() if v == "rejected")
        if photo is None and confirmed:
            self.search.search_review(confirmed, rejected)
        elif photo is None:
            self.error.emit(f"case {name!r}: no photo of it can be read and nothing is confirmed yet")
        self.info.emit(f"Case {name!r}: {len(confirmed)} confirmed, {len(rejected)} rejected")
        return True

    def edit_notes(self) -> None:
        """The case's notes (what it is about, what was seen), kept with it and put in its report."""
        if self.case_name is None:
            self.error.emit("Confirm (C) or reject (X) a hit first: that opens the case the notes belong to")
            return
        current = self.library.case(self.case_name).notes
        text, ok = QInputDialog.getMultiLineText(
            self.parent(), "Case notes", f"Notes of {self.case_name}:", current
        )
        if ok:
            self.set_notes(text)

    def set_notes(self, text: str) -> None:
        try:
            self.library.update_case(self.case_name, notes=text)  # type: ignore[arg-type]
        except SpotterError as e:
            self.error.emit(str(e))
            return
        self.info.emit(f"Notes kept with case {self.case_name!r}")

    def choose_case(self) -> None:
        names = [n for n, _, _ in self.library.cases()]
        if not names:
            self.error.emit("No case yet: confirm (C) or reject (X) hits to open one")
            return
        name, ok = QInputDialog.getItem(self.parent(), "Open case", "Case:", names, 0, False)
        if ok and name:
            self.open_case(name)

    def ask_export(self) -> None:
        if self.case_name is None:
            self.error.emit("Open a case first (confirm or reject a hit, or File ▸ Open case…)")
            return
        path, _ = QFileDialog.getSaveFileName(
            self.parent(),
            "Export the case",
            f"{self.case_name}{CASE_SUFFIX}",
            f"Spotter cases (*{CASE_SUFFIX})",
        )
        if path:
            self.export_case(path)

    def export_case(self, path: str) -> bool:
        """The open case as one file (photos, filter, notes, review), to hand over or archive."""
        try:
            written = write_case_file(self.library, self.case_name, Path(path))  # type: ignore[arg-type]
        except SpotterError as e:
            self.error.emit(str(e))
            return False
        self.info.emit(f"Case {self.case_name!r} written to {written}")
        return True

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent(), "Import a case", "", f"Spotter cases (*{CASE_SUFFIX});;All files (*)"
        )
        if path:
            self.import_case_file(path)

    def import_case_file(self, path: str) -> bool:
        """Take up a case file in this library (under a free name if its own is another case's; the
        same case again takes up the marks it lacks) and open it."""
        try:
            done = import_case(self.library, Path(path), rename_if_taken=True)
        except SpotterError as e:
            self.error.emit(str(e))
            return False
        opened = self.open_case(done.name)
        line = done.summary()  # what it did, left out (of the marks, the filter) and chose
        line = line[:1].upper() + line[1:]
        if done.notes or done.marks_left_out:  # after the case's own notice, which hid it (a sweep)
            self.error.emit(line)
        elif done.updated:  # the same case imported again: what it took up
            self.info.emit(line)
        return opened

    def refine(self) -> None:
        verdicts = self.results.model.verdicts
        if not verdicts:
            self.error.emit("Confirm (C) or reject (X) some hits first: refining searches with them")
            return
        confirmed = tuple(pk for pk, v in verdicts.items() if v == "confirmed")
        rejected = tuple(pk for pk, v in verdicts.items() if v == "rejected")
        if self.case_name is not None:
            self.library.update_case(self.case_name, filter_json=json.dumps(filter_json(self.search.where)))
        self.search.refine(confirmed, rejected)
