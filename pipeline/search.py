"""Find a person: embed the query photo, score the indexed tracks, keep the ones that match.

Scoring runs in two stages. FAISS finds the nearest track embeddings (each the mean of a track's best
crops); that short list is then re-scored from the stored crop embeddings (``score_by``). A track is a
hit when its score reaches the absolute ``min_score`` AND lies within ``relative_margin`` of the
query's best track. Scores shift from query to query (lighting, pose, crop size), so the relative cut
separates the person from look-alikes better than any fixed threshold, while the absolute floor
makes sure a person who is not in the footage gets no hits instead of the best wrong track.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from models.loader import ModelSet
from pipeline.query import QueryConfig, QueryPerson, prepare_query
from pipeline.search_index import VectorIndex, VectorIndexConfig
from pipeline.storage import Library, TrackInfo
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y2, Hit

log = logging.getLogger(__name__)

SCORE_RULES = ("track", "crops", "blend")


@dataclass(frozen=True)
class SearchConfig:
    """min_score: absolute similarity floor; below it a track is never a hit. Raise it for fewer false
        alarms (and so that absent people return nothing), lower it for poorly lit or tiny appearances.
    relative_margin: hits must score within this of the query's best track. Smaller is stricter.
    score_by: how a candidate track is scored against the query: 'track' (cosine to the track's mean
        embedding), 'crops' (best cosine over its stored crops: one clear view is enough), or 'blend'
        (the average of the two).
    max_hits: at most this many hits (0: no limit).
    candidates: nearest tracks fetched from the vector index before re-scoring and thresholds.
    display_floor: lowest score kept as a candidate for interactive threshold changes (GUI slider).
    """

    min_score: float = 0.62
    relative_margin: float = 0.12
    score_by: str = "crops"
    max_hits: int = 0
    candidates: int = 500
    display_floor: float = 0.3
    query: QueryConfig = field(default_factory=QueryConfig)
    index: VectorIndexConfig = field(default_factory=VectorIndexConfig)


@dataclass(frozen=True)
class MatchResult:
    hits: tuple[Hit, ...]  # the default result: score >= cut, best first
    candidates: tuple[Hit, ...]  # every track scoring >= display_floor, best first
    cut: float  # effective threshold: max(min_score, best - relative_margin)
    best_score: float | None  # best score of any track, hit or not


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


def hit_from_track(t: TrackInfo, score: float) -> Hit:
    frames = tuple((int(r[PATH_FRAME]), *(float(v) for v in r[PATH_X1 : PATH_Y2 + 1])) for r in t.path)
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
    )


class Searcher:
    """Long-lived search service over one library (keeps the vector index warm between searches)."""

    def __init__(self, library: Library, models: ModelSet, config: SearchConfig = SearchConfig()):
        if config.score_by not in SCORE_RULES:
            raise ValueError(f"score_by must be one of {SCORE_RULES}")
        self.library, self.models, self.config = library, models, config
        self._index: VectorIndex | None = None

    @property
    def index(self) -> VectorIndex:
        if self._index is None:
            self._index = VectorIndex(self.library, self.models.reid_id, "track", self.config.index)
        self._index.refresh()
        return self._index

    def prepare(
        self, photo: str | Path | np.ndarray, box: Sequence[float] | None = None, person: int | None = None
    ) -> tuple[QueryPerson, np.ndarray]:
        """Choose the person in the photo and embed them."""
        query = prepare_query(photo, self.models.detector, self.config.query, box, person)
        return query, self.models.reid.embed([query.crop])[0]

    def search(
        self,
        photo: str | Path | np.ndarray,
        box: Sequence[float] | None = None,
        person: int | None = None,
        video: str | Path | None = None,
        min_score: float | None = None,
        max_hits: int | None = None,
        save: bool = True,
    ) -> SearchResult:
        """Search every indexed video (or only ``video``) for the person in ``photo``."""
        t0 = time.perf_counter()
        query, vec = self.prepare(photo, box, person)
        m = self.match(vec, video, min_score, max_hits)
        hits, search_id = m.hits, None
        if save:
            params = {k: v for k, v in asdict(self.config).items() if k not in ("query", "index")}
            params |= {"min_score": self._floor(min_score), "cut": m.cut, "video": str(video or "")}
            source = "<image>" if isinstance(photo, np.ndarray) else str(Path(photo).resolve())
            search_id, ids = self.library.save_search(
                source, query.box, self.models.reid_id, params, vec, [(h.track_pk, h.score) for h in hits]
            )
            hits = tuple(replace(h, search_id=search_id, hit_id=i) for h, i in zip(hits, ids))
        return SearchResult(
            query, vec, hits, m.candidates, m.cut, m.best_score, search_id, time.perf_counter() - t0
        )

    def _floor(self, min_score: float | None) -> float:
        return self.config.min_score if min_score is None else float(min_score)

    def score(self, vec: np.ndarray, pks: np.ndarray, mean_scores: np.ndarray) -> np.ndarray:
        """Re-score candidate tracks by the configured rule."""
        rule = self.config.score_by
        if rule == "track" or not len(pks):
            return mean_scores
        crops = self.library.crop_vectors(self.models.reid_id, pks.tolist())
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
    ) -> MatchResult:
        """Score the library against an embedded query; hits and candidates best first."""
        floor = self._floor(min_score)
        lowest = min(self.config.display_floor, floor)
        pks, means = self.index.search(vec, lowest - 0.2, self.config.candidates)
        video_id = self.library.video_id(video) if video else None
        if video and video_id is None:
            return MatchResult((), (), floor, None)
        scores = self.score(vec, pks, means)
        order = np.argsort(-scores, kind="stable")
        pks, scores = pks[order], scores[order]
        infos = self.library.tracks(pks[scores >= lowest].tolist())
        ranked = [
            (int(p), float(s))
            for p, s in zip(pks, scores)
            if video_id is None or (int(p) in infos and infos[int(p)].video_id == video_id)
        ]
        best = ranked[0][1] if ranked else None
        cut = max(floor, best - self.config.relative_margin) if best is not None else floor
        limit = self.config.max_hits if max_hits is None else max_hits
        candidates = tuple(hit_from_track(infos[p], s) for p, s in ranked if s >= lowest)
        hits = tuple(h for h in candidates if h.score >= cut)
        return MatchResult(hits[:limit] if limit else hits, candidates, cut, best)
