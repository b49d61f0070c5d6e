"""How alike different people look in this video: a stricter appearance gate where it is needed.

Two people detected in the same frame are certainly two people. The appearance similarities of such
pairs, collected as the video is tracked, say how alike *different* people look to the ReID model in
this camera. Where motion cannot vouch for a match (the track was unseen for longer than
``low_rate_gap_s``: every match at 1-3 fps, a re-find after an occlusion at full rate) and the model
sees both in full detail (at least ``detail_height`` tall; its input is 256 px high), a match must
look more alike than ``distinct_quantile`` of those pairs: at 1-2 fps a track whose person is hidden
in a group otherwise takes the box of the look-alike beside them and walks on with them. Between
small people (PETS09-S2L1's 50 px) the same person's own sightings a second apart are too unalike
for a stricter gate, which cuts their walks into pieces, and between frames close together the walk
gate already holds one person; there the fixed ``min_appearance`` stays (measured: README, "Why
ADL-Rundle-6 lost at 1 fps"). The same principle as the search's calibration from co-occurring
tracks (:mod:`pipeline.calibration`), one level down.

Kept as a histogram (fixed bins over -1..1): constant memory for an hour of footage, quantiles exact
to the bin width, and a few hundred integers in the tracker's checkpoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.cosine_histogram import bin_upper_edge, cosine_bins

BINS = 200  # histogram bins over cosine -1..1 (0.01 wide)


class DistinctPeople:
    """Appearance similarities of people seen together; the appearance gate they imply."""

    def __init__(self) -> None:
        self.counts = np.zeros(BINS, np.int64)

    @property
    def pairs(self) -> int:
        return int(self.counts.sum())

    def observe(self, embeddings: np.ndarray, confident: np.ndarray) -> None:
        """Add the pairs among one frame's detections that are ``confident`` (a mask; a weak box may
        be a second box on the same person) and have an appearance vector (rows not NaN)."""
        rows = embeddings[confident & np.isfinite(embeddings).all(axis=1)]
        if len(rows) < 2:
            return
        cos = rows @ rows.T
        upper = cos[np.triu_indices(len(rows), k=1)]
        self.counts += np.bincount(cosine_bins(upper, BINS), minlength=BINS)

    def gate(self, floor: float, quantile: float, min_pairs: int, cap: float) -> float:
        """The least appearance similarity for a match: ``floor`` until ``min_pairs`` pairs are seen,
        then the upper edge of the bin holding the ``quantile`` of different people's similarities,
        never below ``floor`` nor above ``cap``."""
        n = self.pairs
        if n < min_pairs or quantile <= 0:
            return floor
        k = int(np.searchsorted(np.cumsum(self.counts), quantile * n))
        edge = bin_upper_edge(k, BINS)
        return float(min(max(edge, floor), max(cap, floor)))

    def state_dict(self) -> dict[str, Any]:
        nonzero = np.flatnonzero(self.counts)
        return {"bins": nonzero.tolist(), "counts": self.counts[nonzero].tolist()}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        self.counts = np.zeros(BINS, np.int64)
        if state:
            self.counts[np.asarray(state["bins"], np.int64)] = np.asarray(state["counts"], np.int64)
