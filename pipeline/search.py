"""Find a person: embed the query photo, score every indexed track, keep the ones that match.

A track is a hit when its cosine similarity to the query reaches the absolute ``min_score`` AND lies
within ``relative_margin`` of the best track's score for this query. Scores shift from query to
query (lighting, pose, crop size), so the relative cut separates the person from look-alikes better
than any fixed threshold; the absolute floor makes sure that a person who is not in the footage gets
no hits instead of the best wrong track.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.loader import ModelSet
from pipeline.query import QueryConfig, QueryPerson, prepare_query
from pipeline.search_index import VectorIndex, VectorIndexConfig
from pipeline.storage import Library
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y2, Hit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchConfig:
    """min_score: absolute cosine floor; below it a track is never a hit. Raise it for fewer false
        alarms (and to make absent people return nothing), lower it to catch poorly lit or tiny
        appearances.
    relative_margin: hits must score within this of the query's best track. Smaller is stricter.
    max_hits: at most this many hits (0: no limit).
    candidates: nearest vectors fetched from the index before thresholds are applied.
    """

    min_score: float = 0.62
    relative_margin: float = 0.12
    max_hits: int = 0
    candidates: int = 2000
    query: QueryConfig = field(default_factory=QueryConfig)
    index: VectorIndexConfig = field(default_factory=VectorIndexConfig)


@dataclass(frozen=True)
class SearchResult:
    query: QueryPerson
    vector: np.ndarray
    hits: tuple[Hit, ...]
    search_id: int | None
    elapsed_s: float
    best_score: float | None  # best score of any track, hit or not (diagnostics)


class Searcher:
    """Long-lived search service over one library (keeps the vector index warm between searches)."""

    def __init__(self, library: Library, models: ModelSet, config: SearchConfig = SearchConfig()):
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
        hits, best = self.match(vec, video, min_score, max_hits)
        search_id = None
        if save:
            params = asdict(self.config) | {"min_score": self._floor(min_score), "video": str(video or "")}
            params.pop("query"), params.pop("index")
            search_id, ids = self.library.save_search(
                "<image>" if isinstance(photo, np.ndarray) else str(Path(photo).resolve()),
                query.box,
                self.models.reid_id,
                params,
                vec,
                [(h.track_pk, h.score) for h in hits],
            )
            hits = [_with_ids(h, search_id, i) for h, i in zip(hits, ids)]
        return SearchResult(query, vec, tuple(hits), search_id, time.perf_counter() - t0, best)

    def _floor(self, min_score: float | None) -> float:
        return self.config.min_score if min_score is None else float(min_score)

    def match(
        self,
        vec: np.ndarray,
        video: str | Path | None = None,
        min_score: float | None = None,
        max_hits: int | None = None,
    ) -> tuple[list[Hit], float | None]:
        """Hits for an embedded query, best first, and the best score seen."""
        floor = self._floor(min_score)
        pks, scores = self.index.search(vec, -1.0, self.config.candidates)
        video_id = self.library.video_id(video) if video else None
        if video and video_id is None:
            return [], None
        infos = self.library.tracks(pks[scores >= floor].tolist())
        best = float(scores[0]) if len(scores) else None
        if video_id is not None:
            keep = [i for i, pk in enumerate(pks.tolist()) if pk in infos and infos[pk].video_id == video_id]
            pks, scores = pks[keep], scores[keep]
            best = float(scores[0]) if len(scores) else best
        if not len(scores):
            return [], best
        cut = max(floor, float(scores[0]) - self.config.relative_margin)
        limit = self.config.max_hits if max_hits is None else max_hits
        hits = []
        for pk, score in zip(pks.tolist(), scores.tolist()):
            if score < cut or (limit and len(hits) >= limit):
                break
            t = infos[pk]
            frames = tuple(
                (int(r[PATH_FRAME]), *(float(v) for v in r[PATH_X1 : PATH_Y2 + 1])) for r in t.path
            )
            hits.append(
                Hit(
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
            )
        return hits, best


def _with_ids(hit: Hit, search_id: int, hit_id: int) -> Hit:
    from dataclasses import replace

    return replace(hit, search_id=search_id, hit_id=hit_id)
