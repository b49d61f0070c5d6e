"""Find a person: embed the query photo, score the indexed tracks, keep the ones that match.

Scoring runs in two stages. FAISS finds the nearest track embeddings (each the mean of a track's best
crops); that short list is then re-scored from the stored crop embeddings (``score_by``). Tracks are
grouped into people (the linked fragments of one walk), each scored by its best track. A person is a
hit when their score reaches the library's floor (for their kind of track: in colour, or recorded
without colour) AND lies within ``relative_margin`` of the best person *of the same video*
(:mod:`pipeline.hit_selection`):
- the floor is calibrated from the library itself (:mod:`pipeline.calibration`: the equal-error point
  between same-person and certainly-different-people scores of its own footage), so that a person
  who is not in the footage gets no hits, whatever the cameras; ``min_score`` is the floor until the
  library holds enough pairs to calibrate;
- the relative cut separates the person from look-alikes in the same footage better than any fixed
  threshold (scores shift from query to query with light, pose and crop size), and judging it per
  video keeps a person who appears in many videos from being cut everywhere but in their best one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from models.loader import ModelSet
from pipeline.calibration import COLOUR, Floors, library_floors, library_histograms
from pipeline.errors import StorageError
from pipeline.file_names import shown
from pipeline.filter_scope import among, filter_scope
from pipeline.grey_query import GREY_PHOTO_NOTE, ColourlessTracks, GreyTracks, is_grey_photo
from pipeline.hit_selection import PersonFloors, best_track_flagged, chosen_people, margin_scope
from pipeline.monochrome import grey, without_colour
from pipeline.prepared_queries import PreparedQueries, embed_query, photo_key
from pipeline.query import QueryPerson
from pipeline.search_config import SCORE_RULES, SearchConfig
from pipeline.search_filter import SearchFilter, TrackFilter, filter_json
from pipeline.search_index import VectorIndex
from pipeline.storage import Library, TrackInfo
from pipeline.storage.clock import VideoClock
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y2, Hit, enters

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchResult:
    hits: tuple[Hit, ...]  # the default result: score >= cut, best first
    candidates: tuple[Hit, ...]  # every track scoring >= display_floor, best first
    cut: float  # the floor applied (hits also lie within the margin of their video's best person)
    best_score: float | None  # best score of any track, hit or not
    videos_without_start: int = 0  # videos a time window left out: their start is unknown


@dataclass(frozen=True)
class SearchResult:
    query: QueryPerson
    vector: np.ndarray
    hits: tuple[Hit, ...]
    candidates: tuple[Hit, ...]
    cut: float
    best_score: float | None
    search_id: int | None
    elapsed_s: float
    videos_without_start: int = 0  # videos a time window left out: their start is unknown
    grey_vector: np.ndarray | None = None  # the query turned grey (footage without colour)
    unsaved: str = ""  # why the search could not be saved (its hits have no ids), where it could not


def hit_from_track(t: TrackInfo, score: float, clock: VideoClock | None = None) -> Hit:
    rows = t.path[:, [PATH_FRAME, PATH_X1, PATH_X1 + 1, PATH_X1 + 2, PATH_Y2]].tolist()
    frames = tuple((int(f), x1, y1, x2, y2) for f, x1, y1, x2, y2 in rows)
    return Hit(
        None,
        None,
        t.video_id,
        t.video_path,
        t.pk,
        t.track_id,
        float(score),
        t.first_frame,
        t.last_frame,
        t.start_s,
        t.end_s,
        t.fps,
        frames,
        t.person,
        clock.camera if clock else "",
        clock.start if clock else None,
    )


class Searcher:
    """Long-lived search service over one library (keeps the vector index warm between searches)."""

    def __init__(self, library: Library, models: ModelSet, config: SearchConfig = SearchConfig()):
        if config.score_by not in SCORE_RULES:
            raise ValueError(f"score_by must be one of {SCORE_RULES}")
        self.library, self.models, self.config = library, models, config
        self._index: VectorIndex | None = None
        self.filter = TrackFilter(library)
        self._floor_gen: tuple[int, int] | None = None
        self._calibrated = Floors(config.min_score, config.min_score, False)
        self.colourless = ColourlessTracks(library, config.monochrome)  # track keys -> without colour?
        self._grey_tracks: GreyTracks | None = None  # colour tracks turned grey, for a grey photo
        self.prepared = PreparedQueries()  # query photos already prepared, for the next search

    @property
    def index(self) -> VectorIndex:
        if self._index is None:
            self._index = VectorIndex(self.library, self.models.reid_id, self.config.index)
        self._index.refresh()
        return self._index

    def warm_up(self) -> None:
        """Load both models and bring the vector index up to date, so that the first search is as
        fast as the ones after it (an interactive caller runs this on its search thread at start)."""
        _ = self.models.reid, self.models.detector, self.index

    def prepare(
        self,
        photo: str | Path | np.ndarray,
        box: Sequence[float] | None = None,
        person: int | None = None,
        name: str | None = None,
    ) -> tuple[QueryPerson, np.ndarray]:
        """Choose the person in the photo and embed them (``name``: what errors call the photo); a
        photo without colour is embedded turned grey (a night camera's tint taken out), as the
        colour tracks it is compared with are (:mod:`pipeline.grey_query`)."""
        return self.prepared.get(
            photo_key(photo, box, person),
            lambda: embed_query(photo, self.models, self.config, box, person, name),
        )

    def search(
        self,
        photo: str | Path | np.ndarray,
        box: Sequence[float] | None = None,
        person: int | None = None,
        video: str | Path | None = None,
        min_score: float | None = None,
        max_hits: int | None = None,
        save: bool = True,
        where: SearchFilter | None = None,
        name: str | None = None,
    ) -> SearchResult:
        """Search every indexed video (or only ``video``, or the tracks inside ``where``) for the
        person in ``photo`` (``name``: what errors call the photo)."""
        t0 = time.perf_counter()
        query, vec = self.prepare(photo, box, person, name)
        grey_vec = self.grey_vector(query, vec)
        if is_grey_photo(vec, grey_vec):
            query = replace(query, note=f"{query.note}; {GREY_PHOTO_NOTE}" if query.note else GREY_PHOTO_NOTE)
        m = self.match(vec, video, min_score, max_hits, where, grey_vec)
        hits, search_id, unsaved = m.hits, None, ""
        if save:
            params = {k: v for k, v in asdict(self.config).items() if k not in ("query", "index")}
            params |= {"floor": m.cut, "calibrated": min_score is None and self.calibrated_floor()[1]}
            params |= {"video": str(video or "")}
            if where is not None and where.active:
                params |= {"filter": filter_json(where)}
            source = "<image>" if isinstance(photo, np.ndarray) else shown(Path(photo).resolve())
            try:
                search_id, ids = self.library.save_search(
                    source, query.box, self.models.reid_id, params, vec, [(h.track_pk, h.score) for h in hits]
                )
            except StorageError as e:  # a library on a read-only share, a full disk: the hits still stand
                log.info("%s", e)  # (the caller says it: SearchResult.unsaved)
                unsaved = str(e)
            else:
                hits = tuple(replace(h, search_id=search_id, hit_id=i) for h, i in zip(hits, ids))
        return SearchResult(
            query,
            vec,
            hits,
            m.candidates,
            m.cut,
            m.best_score,
            search_id,
            time.perf_counter() - t0,
            m.videos_without_start,
            grey_vec,
            unsaved,
        )

    def grey_vector(self, query: QueryPerson, vec: np.ndarray | None = None) -> np.ndarray | None:
        """The query person turned grey, embedded (for footage without colour); a photo without
        colour is its own grey copy (``vec``, its vector, when given): then colour tracks are compared
        turned grey (:func:`pipeline.grey_query.is_grey_photo`). None when like is not compared with
        like."""
        if not self.config.like_with_like:
            return None
        if without_colour(query.crop, self.config.monochrome) and vec is not None:
            return vec  # embedded turned grey already (``prepare``)
        key = photo_key(query.crop, None, None)
        return self.prepared.get(key and ("grey", key), lambda: self.models.reid.embed([grey(query.crop)])[0])

    def _like_with_like(
        self, found: tuple[np.ndarray, np.ndarray], grey_found: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates of the colour and the grey query together, each track scored by the one of
        its kind (grey for tracks without colour), best first; and which are without colour."""
        pks = np.concatenate([found[0], grey_found[0]])
        scores = np.concatenate([found[1], grey_found[1]]).astype(np.float64)
        by_grey = np.arange(len(pks)) >= len(found[0])
        keep = self.colourless(pks) == by_grey
        pks, scores, dark = pks[keep], scores[keep], by_grey[keep]
        order = np.argsort(-scores, kind="stable")
        return pks[order], scores[order], dark[order]

    def _colour_in_grey(
        self, vec: np.ndarray, least: float, inside: np.ndarray | None, found: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates of a query without colour, the colour tracks nearest to it scored by their
        best crop turned grey (:meth:`GreyTracks.candidates`), best first; and which were so scored."""
        top = self.index.search(vec, -1.0, self.config.grey_photo.candidates, inside)
        return self.grey_tracks.candidates(vec, top, ~self.colourless(top[0]), found, least)

    @property
    def grey_tracks(self) -> GreyTracks:
        if self._grey_tracks is None:
            self._grey_tracks = GreyTracks(self.library, self.models.reid)
        return self._grey_tracks

    def _grey_floor(self, colour_floor: float) -> float:
        """The floor of a person compared in grey (:mod:`pipeline.grey_query`), from the colour one."""
        found = library_histograms(self.library, self.models.reid_id)
        cfg = self.config
        impostor = found[1][COLOUR] if found is not None else None
        return self.grey_tracks.floor(impostor, colour_floor, cfg.grey_photo, cfg.calibration)[0]

    def calibrated_floors(self) -> Floors:
        """The library's floors now, for tracks in colour and without (recomputed when its tracks
        change; :mod:`pipeline.calibration`)."""
        cfg = self.config
        if not cfg.calibrate:
            return Floors(cfg.min_score, cfg.min_score, False)
        gen = self.library.generation()
        if gen != self._floor_gen:
            self._calibrated = library_floors(
                self.library, self.models.reid_id, cfg.calibration, cfg.min_score
            )
            self._floor_gen = gen
        return self._calibrated

    def calibrated_floor(self) -> tuple[float, bool]:
        """(floor, calibrated) of the library's colour tracks now."""
        floors = self.calibrated_floors()
        return floors.colour, floors.calibrated

    def _floors(self, min_score: float | None) -> tuple[float, float]:
        """(colour, colourless) floors of a search: ``min_score`` for both when given."""
        if min_score is not None:
            return float(min_score), float(min_score)
        floors = self.calibrated_floors()
        return floors.colour, floors.colourless

    def rerank(self, vec: np.ndarray, pks: np.ndarray) -> np.ndarray:
        """k-reciprocal re-ranked scores of the candidate tracks (their mean embeddings as gallery)."""
        found = self.library.embeddings_of(self.models.reid_id, "track", pks.tolist())
        gallery = np.stack([found[int(p)][0] for p in pks])
        k1 = max(2, min(self.config.rerank_config.k1, len(pks) // 2))
        cfg = replace(self.config.rerank_config, k1=k1, k2=min(self.config.rerank_config.k2, k1))
        from pipeline.rerank import rerank_scores  # scipy.sparse: imported only when re-ranking

        return rerank_scores(vec, gallery, cfg)

    def score(self, vec: np.ndarray, pks: np.ndarray, mean_scores: np.ndarray) -> np.ndarray:
        """Re-score candidate tracks by the configured rule."""
        rule = self.config.score_by
        if rule == "track" or not len(pks):
            return mean_scores
        crops = self.library.embeddings_of(self.models.reid_id, "crop", pks.tolist())
        best_crop = np.array(
            [float((crops[p] @ vec).max()) if p in crops else s for p, s in zip(pks.tolist(), mean_scores)]
        )
        return best_crop if rule == "crops" else (best_crop + mean_scores) / 2

    def match(
        self,
        vec: np.ndarray,
        video: str | Path | None = None,
        min_score: float | None = None,
        max_hits: int | None = None,
        where: SearchFilter | None = None,
        grey_vec: np.ndarray | None = None,
    ) -> MatchResult:
        """Score the library (or the tracks inside ``where``, and of ``video``) against an embedded
        query; hits and candidates best first. Under a filter, a person is scored by all their tracks,
        and only people seen inside it are weighed against each other (:mod:`pipeline.filter_scope`).
        With ``grey_vec`` (the query turned grey), tracks recorded without colour are scored against it;
        when it is the query itself (a photo without colour), colour tracks are scored turned grey."""
        cfg = self.config
        floor, night_floor = self._floors(min_score)  # for tracks in colour, and without colour
        low = min(floor, night_floor)
        grey_photo = is_grey_photo(vec, grey_vec)
        margin = cfg.relative_margin
        lowest = min(cfg.display_floor, low)
        where = where or SearchFilter()
        if video:
            video_id = self.library.video_id(video)
            if video_id is None:
                return MatchResult((), (), floor, None)
            where = replace(where, videos=(video_id,))
        clocks = self.library.clocks()
        allowed = self.filter.allowed(where, clocks) if where.active else None
        inside = allowed.pks if allowed is not None else None  # the tracks a hit may show
        least = min(lowest, low - cfg.rescore_window)
        partial = where.timed or where.region is not None  # a filter that cuts through videos
        searches = [(vec, least, cfg.candidates)]
        if grey_vec is not None and grey_vec is not vec:
            searches.append((grey_vec, least, cfg.candidates))
        if grey_photo:  # as _colour_in_grey finds its candidates
            searches.append((vec, -1.0, cfg.grey_photo.candidates))
        scope = filter_scope(self.index, self.library, searches, inside, where.region, partial)
        pks, scores = self.index.search(vec, least, cfg.candidates, scope.pks)
        dark = np.zeros(len(pks), bool)  # tracks without colour, scored against the grey query
        if grey_vec is not None:
            grey_found = self.index.search(grey_vec, least, cfg.candidates, scope.pks)
            pks, scores, dark = self._like_with_like((pks, scores), grey_found)
        in_grey = np.zeros(len(pks), bool)  # colour tracks scored turned grey (a photo without colour)
        if grey_photo:
            pks, scores, in_grey = self._colour_in_grey(vec, least, scope.pks, (pks, scores))
            dark = np.zeros(len(pks), bool)
        owners = self.library.track_people(pks.tolist())  # the tracks themselves are read once, by person
        keep = [i for i, p in enumerate(pks.tolist()) if p in owners]
        if scope.people is not None:  # only the people seen inside the filter are weighed
            keep = [i for i in keep if owners[int(pks[i])] in scope.people]
        pks, scores, dark, in_grey = pks[keep], scores[keep].astype(np.float64), dark[keep], in_grey[keep]
        if len(pks):
            # re-score the tracks that could reach the floor (the rest keep their mean score); by the
            # floor alone, not by the best track found, so that a track scores the same under any
            # filter (under --video, a track the whole library's best left unscored was re-scored)
            near = scores >= low - cfg.rescore_window
            near &= np.arange(len(pks)) < cfg.rescore_max
            if dark.any():  # each track against the query of its kind
                scores[near & dark] = self.score(grey_vec, pks[near & dark], scores[near & dark])
            near &= ~in_grey  # scored by their grey best crop already
            scores[near & ~dark] = self.score(vec, pks[near & ~dark], scores[near & ~dark])
        people = self._people(pks, scores, owners, lowest)
        greyed, grey_floor = set(), floor  # people whose colour track met a grey photo in grey
        if in_grey.any() and min_score is None and cfg.calibrate:
            greyed, grey_floor = best_track_flagged(pks, scores, in_grey, owners), self._grey_floor(floor)
        nighted = set()  # people recorded without colour, however met (a confirmed night track too)
        if night_floor != floor and cfg.like_with_like:
            nighted = best_track_flagged(pks, scores, self.colourless(pks), owners)
        floors = PersonFloors(floor, night_floor, grey_floor, frozenset(nighted), frozenset(greyed))
        limit = cfg.max_hits if max_hits is None else max_hits
        candidates = tuple(
            hit_from_track(t, score, clocks.get(t.video_id))
            for score, members in people
            for t in members
            if (inside is None or among(inside, t.pk))
            and (where.region is None or enters(t.path, where.region))
        )
        best = candidates[0].score if candidates else None  # people are best first
        chosen = chosen_people(people, floors, margin, margin_scope(cfg.margin_over, clocks), cfg.one_place)
        hits = tuple(h for h in candidates if (h.video_id, h.person) in chosen)
        if cfg.rerank and len(hits) > 1:  # re-ranking orders the hits; the cosine rule chose them
            hits = self._reranked(vec, hits)
        left_out = allowed.videos_without_start if allowed is not None else 0
        applied = grey_floor if grey_photo else floor  # the floor the photo's hits had to reach
        return MatchResult(hits[:limit] if limit else hits, candidates, applied, best, left_out)

    def _reranked(self, vec: np.ndarray, hits: tuple[Hit, ...]) -> tuple[Hit, ...]:
        """The hits, people ordered by their best k-reciprocal re-ranked track score (computed over
        the best ``rerank_candidates`` tracks of the library for the query)."""
        pks, _ = self.index.search(vec, -1.0, self.config.rerank_candidates)
        pks = np.unique(np.concatenate([pks, [h.track_pk for h in hits]]))
        rr = dict(zip(pks.tolist(), self.rerank(vec, pks).tolist()))
        person_rr: dict[tuple[int, int], float] = {}
        for h in hits:
            key = (h.video_id, h.person)
            person_rr[key] = max(person_rr.get(key, -2.0), rr.get(h.track_pk, -2.0))
        return tuple(sorted(hits, key=lambda h: -person_rr[(h.video_id, h.person)]))

    def _people(
        self, pks: np.ndarray, scores: np.ndarray, owners: dict[int, tuple[int, int]], lowest: float
    ) -> list[tuple[float, list[TrackInfo]]]:
        """Tracks grouped into people (linked chains), each scored by its best track, best first;
        a person's fragments that did not come up as candidates are fetched, so a person is complete."""
        best: dict[tuple[int, int], float] = {}
        for p, s in zip(pks.tolist(), scores.tolist()):
            key = owners[p]
            best[key] = max(best.get(key, -2.0), float(s))
        keys = [k for k, s in sorted(best.items(), key=lambda kv: -kv[1]) if s >= lowest]
        members = self.library.people_tracks(keys)
        return [(best[k], members.get(k, [])) for k in keys]
