"""Histograms of cosine similarities over [-1, 1] in fixed bins: constant memory however many pairs
are counted, quantiles exact to the bin width. The search's calibration (:mod:`pipeline.calibration`)
and the tracker's appearance gate (:mod:`pipeline.tracking.distinct`) both keep scores this way."""

from __future__ import annotations

import numpy as np


def cosine_bins(scores: np.ndarray, bins: int) -> np.ndarray:
    """The bin (0 .. ``bins`` - 1) of each cosine similarity."""
    return np.clip(((np.asarray(scores) + 1.0) / 2.0 * bins).astype(np.int64), 0, bins - 1)


def bin_upper_edge(k: int, bins: int) -> float:
    """The cosine similarity at the upper edge of bin ``k``."""
    return -1.0 + 2.0 * (k + 1) / bins
