"""Searching off the GUI thread: a long-lived worker with its own models answers query requests.

The GUI submits a :class:`SearchRequest` (the photo's pixels, read-only, plus which person) and gets
back a :class:`SearchOutcome` of plain values: the people found, the one chosen, every candidate hit
with its thumbnail, and the default threshold. Answers to superseded requests are dropped, so only
the operator's latest choice is shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from gui.workers import error_text
from pipeline.description import describe, wearing
from pipeline.engine import ModelSet, SpotterError
from pipeline.refine import Review, refine
from pipeline.search import SearchConfig, Searcher
from pipeline.search_filter import SearchFilter
from pipeline.storage import Library
from pipeline.types import Box, Hit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    """Another photo of the person searched for: its pixels (BGR, read-only), the person in it (None:
    found in it) and what it is called (its file's name), said where it cannot be used."""

    image: np.ndarray
    box: Box | None
    name: str


@dataclass(frozen=True)
class SearchRequest:
    request_id: int
    image: np.ndarray | None  # BGR, read-only; None: a search by description only
    box: Box | None = None  # region chosen by the operator (photo pixels)
    person: int | None = None  # index into the people found, None = the engine's choice
    source: str = "photo"
    where: SearchFilter = field(default_factory=SearchFilter)  # cameras and clock window searched
    confirmed: tuple[int, ...] = ()  # refine: tracks the operator confirmed (examples of the person)
    rejected: tuple[int, ...] = ()  # and rejected (counter-examples)
    upper: str | None = None  # clothing colours: a description, or a photo's hits narrowed by them
    lower: str | None = None
    examples: tuple[Example, ...] = ()  # other photos of the same person
    query_id: int = 0  # the request that asked this query first: its repeats (``repeat``) keep it


@dataclass(frozen=True)
class SearchOutcome:
    request_id: int
    people: tuple[Box, ...]  # every person found in the photo, largest first
    chosen: int  # index into people, -1 when the operator's box was used
    box: Box  # the region that was searched for
    whole_photo: bool  # the photo was taken as a person crop
    hits: tuple[Hit, ...]  # the engine's default result
    candidates: tuple[Hit, ...]  # every track scoring above the display floor, best first
    cut: float  # the engine's default threshold
    best_score: float | None
    elapsed_s: float
    thumbnails: tuple[tuple[int, bytes], ...]  # (track pk, JPEG) of each candidate
    note: str = ""  # what the operator should know about the query (a small photo, no detection)
    vector: np.ndarray | None = None  # the query's appearance vector (read-only), kept with a case
    model: str = ""  # the ReID model that made it
    more_vectors: tuple[np.ndarray, ...] = ()  # the other photos' vectors, kept with a case too
    greys: tuple[np.ndarray | None, ...] = ()  # each photo turned grey (vector's, then more_vectors')
    photo_boxes: tuple[Box | None, ...] = ()  # the person in each photo (None: used whole), same order
    photo_turns: tuple[int | None, ...] = ()  # the cv2.rotate code standing each photo upright (or None)
    query_id: int = 0  # the request's (``SearchRequest.query_id``): the same query searched again
    examples_used: tuple[int, ...] = ()  # which of the request's other photos ``more_vectors`` are


def frozen_image(image: np.ndarray) -> np.ndarray:
    """A read-only copy, safe to hand to another thread."""
    out = np.array(image, copy=True)
    out.flags.writeable = False
    return out


class SearchWorker(QObject):
    """Lives on the search thread; owns the ModelSet and Searcher used there (never shared)."""

    searched = Signal(object)  # SearchOutcome
    failed = Signal(int, str)  # request id, message
    device_known = Signal(str)

    def __init__(self, library: Library, make_models: Callable[[], ModelSet], config: SearchConfig):
        super().__init__()
        self.library, self._make_models, self.config = library, make_models, config
        self._searcher: Searcher | None = None

    def _get_searcher(self) -> Searcher:
        active = self.library.active_reid()
        if self._searcher is not None and active and self._searcher.models.reid_id != active["id"]:
            self._searcher = None  # the library switched to an adapted model: load that one
        if self._searcher is None:
            self._searcher = Searcher(self.library, self._make_models(), self.config)
        return self._searcher

    @Slot()
    def run(self) -> None:
        """Report the device the models will run on, then load them (a search sent meanwhile waits
        in the thread's queue), so that the operator's first search is as quick as any other."""
        try:
            searcher = self._get_searcher()
            self.device_known.emit(searcher.models.device.label)
            searcher.warm_up()
        except Exception as e:
            if not isinstance(e, SpotterError):
                log.exception("loading the search models failed")
            self.failed.emit(-1, error_text(e))

    @Slot(object)
    def search(self, request: SearchRequest) -> None:
        try:
            searcher = self._get_searcher()
            if request.image is None:
                self._describe(searcher, request)
                return
            result = searcher.search(
                request.image, request.box, request.person, where=request.where, name=request.source or None
            )
            hits, candidates, cut, best = result.hits, result.candidates, result.cut, result.best_score
            more, used, left = [], [], []  # a photo that cannot be used is left out, and said
            for k, example in enumerate(request.examples):
                try:
                    more.append(searcher.prepare(example.image, example.box, name=example.name))
                    used.append(k)
                except SpotterError as e:
                    left.append(f"{example.name} left out: {error_text(e)}")
            vectors = tuple(frozen_image(v) for _, v in more)
            greys = (result.grey_vector, *(searcher.grey_vector(q, v) for q, v in more))
            if request.confirmed or request.rejected or more:  # several examples of the person
                review = Review((result.vector, *vectors), request.confirmed, request.rejected, greys)
                refined = refine(searcher, review, request.where)
                hits, candidates, cut, best = (
                    refined.hits,
                    refined.candidates,
                    refined.cut,
                    refined.best_score,
                )
            if request.upper or request.lower:
                hits = tuple(wearing(self.library, hits, request.upper, request.lower))
                candidates = tuple(wearing(self.library, candidates, request.upper, request.lower))
            pks = [h.track_pk for h in candidates]
            thumbs = tuple(self.library.thumbnails(pks).items())
            q = result.query
            people = tuple(tuple(float(v) for v in row) for row in q.people.xyxy)
            self.searched.emit(
                SearchOutcome(
                    request.request_id,
                    people,  # type: ignore[arg-type]
                    q.chosen,
                    tuple(float(v) for v in q.box),  # type: ignore[arg-type]
                    q.whole_photo,
                    hits,
                    candidates,
                    cut,
                    best,
                    result.elapsed_s,
                    thumbs,
                    " ".join((q.note, *left)).strip(),
                    frozen_image(result.vector),
                    searcher.models.reid_id,
                    vectors,
                    tuple(None if g is None else frozen_image(g) for g in greys),
                    (q.person_box, *(mq.person_box for mq, _ in more)),
                    (q.turn, *(mq.turn for mq, _ in more)),
                    request.query_id,
                    tuple(used),
                )
            )
        except Exception as e:  # the thread must keep serving: report every failure
            if not isinstance(e, SpotterError):
                log.exception("search %d failed", request.request_id)
            self.failed.emit(request.request_id, error_text(e))

    def _describe(self, searcher: Searcher, request: SearchRequest) -> None:
        t0 = time.perf_counter()
        if request.confirmed:  # refining a description: the confirmed people are the examples now
            review = Review((), request.confirmed, request.rejected)
            hits = refine(searcher, review, request.where).hits
        else:
            hits = tuple(describe(searcher, request.upper, request.lower, request.where))
        thumbs = tuple(self.library.thumbnails([h.track_pk for h in hits]).items())
        best = hits[0].score if hits else None
        outcome = SearchOutcome(
            request.request_id, (), -1, (0.0, 0.0, 0.0, 0.0), False, hits, hits, 0.0, best,
            time.perf_counter() - t0, thumbs, "a description: people ranked by their clothing colours",
            query_id=request.query_id,
        )  # fmt: skip
        self.searched.emit(outcome)


class SearchService(QObject):
    """GUI-side handle of the search thread: submit photos, receive the latest outcome."""

    result_ready = Signal(object)  # SearchOutcome of the latest request
    failed = Signal(str)
    device_known = Signal(str)
    busy_changed = Signal(bool)
    _request = Signal(object)

    def __init__(
        self,
        library: Library,
        make_models: Callable[[], ModelSet] = ModelSet,
        config: SearchConfig = SearchConfig(),
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._latest = 0
        self._pending = 0
        self.last_request: SearchRequest | None = None
        self.where = SearchFilter()
        self.colours: tuple[str | None, str | None] = (None, None)  # narrow photo hits by clothing
        self.worker = SearchWorker(library, make_models, config)
        self.thread = QThread()
        self.thread.setObjectName("spotter-search")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self._request.connect(self.worker.search)
        self.worker.searched.connect(self._on_searched)
        self.worker.failed.connect(self._on_failed)
        self.worker.device_known.connect(self.device_known)
        self.thread.start()

    def submit(
        self,
        image: np.ndarray,
        box: Box | None = None,
        person: int | None = None,
        source: str = "photo",
        more: Sequence[tuple[np.ndarray, Box | None, str]] = (),
    ) -> int:
        """Queue a search; returns its request id. Earlier requests' answers will be ignored.
        ``more``: other photos of the same person, each with the person's box (or None) and name."""
        self._latest += 1
        upper, lower = self.colours
        self.last_request = SearchRequest(
            self._latest, frozen_image(image), box, person, source, self.where, upper=upper, lower=lower,
            query_id=self._latest, examples=tuple(Example(frozen_image(m), b, n) for m, b, n in more),
        )  # fmt: skip
        self._send(self.last_request)
        return self._latest

    def repeat(self) -> int | None:
        """Search again for the last query (after new videos were indexed)."""
        if self.last_request is None:
            return None
        self._latest += 1
        r = self.last_request
        upper, lower = self.colours
        self.last_request = replace(r, request_id=self._latest, where=self.where, upper=upper, lower=lower)
        self._send(self.last_request)
        return self._latest

    def add_photo(self, image: np.ndarray, name: str = "") -> int | None:
        """Search again for the last photo's person with another photo of them as a second example
        (a multi-example query, as refining with confirmed hits); None without a photo query."""
        r = self.last_request
        if r is None or r.image is None:
            return None
        self._latest += 1
        added = Example(frozen_image(image), None, name or f"photo {len(r.examples) + 2}")
        examples = (*r.examples, added)
        self.last_request = replace(
            r, request_id=self._latest, where=self.where, query_id=self._latest, examples=examples
        )
        self._send(self.last_request)
        return self._latest

    def refine(self, confirmed: tuple[int, ...], rejected: tuple[int, ...]) -> int | None:
        """Search again for the last query with the operator's review (see ``pipeline.refine``)."""
        if self.last_request is None:
            return None
        self._latest += 1
        r = self.last_request
        # kept as the last request: a filter change or a corrected clock searches again with the review
        self.last_request = replace(
            r, request_id=self._latest, where=self.where, confirmed=confirmed, rejected=rejected,
            query_id=self._latest,
        )  # fmt: skip
        self._send(self.last_request)
        return self._latest

    def describe(self, upper: str | None, lower: str | None) -> int:
        """Queue a search by clothing colours (no photo); its request id."""
        self._latest += 1
        self.last_request = SearchRequest(
            self._latest, None, source="description", where=self.where, upper=upper, lower=lower,
            query_id=self._latest,
        )  # fmt: skip
        self._send(self.last_request)
        return self._latest

    def search_review(self, confirmed: tuple[int, ...], rejected: tuple[int, ...]) -> int:
        """Search with confirmed hits (and counter-examples) alone: a case whose photo is gone."""
        self._latest += 1
        self.last_request = SearchRequest(
            self._latest, None, source="case", where=self.where, confirmed=confirmed, rejected=rejected
        )
        self._send(self.last_request)
        return self._latest

    def set_colours(self, upper: str | None, lower: str | None) -> int | None:
        """Narrow the last photo's hits to these colours (or search the description again; a
        description with no colour left is not searched)."""
        self.colours = (upper, lower)
        r = self.last_request
        if r is not None and r.image is None and not (upper or lower):
            return None
        return self.repeat()

    def set_filter(self, where: SearchFilter) -> int | None:
        """Search within ``where`` from now on; searches again for the last query (its request id)."""
        self.where = where
        return self.repeat()

    def _send(self, request: SearchRequest) -> None:
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        self._request.emit(request)

    def _settle(self) -> None:
        self._pending = max(0, self._pending - 1)
        if self._pending == 0:
            self.busy_changed.emit(False)

    @Slot(object)
    def _on_searched(self, outcome: SearchOutcome) -> None:
        self._settle()
        if outcome.request_id == self._latest:
            self.result_ready.emit(outcome)

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id >= 0:
            self._settle()
        if request_id in (-1, self._latest):
            self.failed.emit(message)

    def shutdown(self) -> None:
        """Stop the thread after the search in flight (if any) returns."""
        self.thread.quit()
        self.thread.wait()
