"""What a search keeps and how it judges a hit: :class:`SearchConfig` (see :mod:`pipeline.search`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.validation import Range, check_fields
from pipeline.calibration import CalibrationConfig
from pipeline.grey_query import GreyQueryConfig
from pipeline.monochrome import MonochromeConfig
from pipeline.query import QueryConfig
from pipeline.rerank import RerankConfig
from pipeline.search_index import VectorIndexConfig

SCORE_RULES = ("track", "crops", "blend")
MARGIN_SCOPES = ("video", "camera", "library")


SEARCH_RULES = {
    "min_score": Range(0.0, 1.0),
    "relative_margin": Range(0.0, 2.0),
    "rerank_candidates": Range(3, 100_000, integer=True),
    "max_hits": Range(0, 1_000_000, integer=True),
    "candidates": Range(1, 1_000_000, integer=True),
    "rescore_window": Range(0.0, 2.0),
    "rescore_max": Range(0, 1_000_000, integer=True),
    "display_floor": Range(0.0, 1.0),
}


@dataclass(frozen=True)
class SearchConfig:
    """min_score: the floor (least similarity of a hit) until the library can calibrate its own
        (``calibrate``); an explicit threshold (``--threshold``) replaces both.
    calibrate: take the floor from the library's own same-person and different-people scores.
    margin_over: whose best person a hit must lie within ``relative_margin`` of: its own video's
        ('video'), its camera's ('camera': every file of a recording split into files together), or
        the whole library's ('library', Spotter's rule before calibration). The other two are kept
        to measure against (``python -m bench.split_recording``): per camera, a person seen in one
        file of a camera lost their hits in its other files.
    one_place: a person seen in the same frames as a better-scoring hit of their video, apart from them
        (:mod:`pipeline.cooccurrence`), is someone else: not a hit, still a candidate. False keeps
        such look-alikes within the margin (the rule before 2026-12-01, kept to measure against).
    relative_margin: hits must score within this of the best person of their video. Smaller is
        stricter.
    score_by: how a candidate track is scored against the query: 'track' (cosine to the track's mean
        embedding), 'crops' (best cosine over its stored crops: one clear view is enough), or 'blend'
        (the average of the two).
    rerank: order the hits by k-reciprocal re-ranking (Zhong et al. 2017) over the
        ``rerank_candidates`` best tracks. Which tracks are hits is still decided by the calibrated
        cosine rule: re-ranked distances have no calibrated floor, and deciding by them let people
        who are not in the footage through (26 of 26 cross-video searches got hits).
    max_hits: at most this many hits (0: no limit).
    candidates: nearest tracks fetched from the vector index before re-scoring and thresholds.
    rescore_window: tracks whose mean score is within this of the floor (or above it) are re-scored
        by ``score_by`` (a track's best crop rarely beats its mean by more); the rest keep the mean.
        Judged against the floor, not the best track found, a track's score is the same under any
        filter.
    rescore_max: at most this many tracks are re-scored per search, the best by their mean (bounds
        the time at any size; beyond it, a track's score may depend on the filter).
    display_floor: lowest score kept as a candidate for interactive threshold changes (GUI slider).
    like_with_like: compare the tracks recorded without colour (night, infrared) with the query photo
        turned grey (:mod:`pipeline.monochrome`; False: with the colour photo, as before, kept to
        measure against). ``monochrome`` says which tracks those are. Likewise a query photo
        without colour is compared with the colour tracks turned grey (:mod:`pipeline.grey_query`;
        ``grey_photo`` says how many).
    """

    min_score: float = 0.65
    relative_margin: float = 0.05
    score_by: str = "crops"
    rerank: bool = False
    rerank_candidates: int = 200
    rerank_config: RerankConfig = field(default_factory=RerankConfig)
    max_hits: int = 0
    candidates: int = 500
    rescore_window: float = 0.15
    rescore_max: int = 200
    display_floor: float = 0.3
    calibrate: bool = True
    margin_over: str = "video"
    one_place: bool = True
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    like_with_like: bool = True
    monochrome: MonochromeConfig = field(default_factory=MonochromeConfig)
    grey_photo: GreyQueryConfig = field(default_factory=GreyQueryConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    index: VectorIndexConfig = field(default_factory=VectorIndexConfig)

    def __post_init__(self) -> None:
        check_fields(self, SEARCH_RULES)
        if self.margin_over not in MARGIN_SCOPES:
            raise ValueError(
                f"margin_over must be one of {', '.join(MARGIN_SCOPES)}, not {self.margin_over!r}"
            )
