"""Association between predicted tracks and detections: IoU costs and optimal assignment."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def expand_boxes(xyxy: np.ndarray, buffer: float) -> np.ndarray:
    """Grow (N, 4) boxes by ``buffer`` times their width/height on every side (buffered IoU)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    if buffer <= 0:
        return xyxy
    w = (xyxy[:, 2] - xyxy[:, 0])[:, None]
    h = (xyxy[:, 3] - xyxy[:, 1])[:, None]
    return xyxy + buffer * np.hstack([-w, -h, w, h])


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) corner boxes -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def assign(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Minimum-cost one-to-one assignment keeping pairs with cost <= ``max_cost``.

    Returns (matches as (row, col), unmatched rows, unmatched cols).
    """
    n, m = cost.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    big = max_cost + 1.0
    rows, cols = linear_sum_assignment(np.where(cost <= max_cost, cost, big))
    matches = [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= max_cost]
    mr = {r for r, _ in matches}
    mc = {c for _, c in matches}
    return matches, [r for r in range(n) if r not in mr], [c for c in range(m) if c not in mc]
