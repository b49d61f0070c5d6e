"""Association between predicted tracks and detections: IoU costs and optimal assignment."""

from __future__ import annotations

import numpy as np

from models.boxes import iou_matrix

__all__ = ["assign", "expand_boxes", "iou_matrix"]


def expand_boxes(xyxy: np.ndarray, buffer: float | np.ndarray) -> np.ndarray:
    """Grow (N, 4) boxes by ``buffer`` (one value, or one per box) times their width/height on every
    side (buffered IoU)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    buffer = np.asarray(buffer, dtype=np.float64)
    if not (buffer > 0).any():
        return xyxy
    buffer = buffer.reshape(-1, 1) if buffer.ndim else buffer
    w = (xyxy[:, 2] - xyxy[:, 0])[:, None]
    h = (xyxy[:, 3] - xyxy[:, 1])[:, None]
    return xyxy + buffer * np.hstack([-w, -h, w, h])


def assign(cost: np.ndarray, max_cost: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Minimum-cost one-to-one assignment keeping pairs with cost <= ``max_cost``.

    Returns (matches as (row, col), unmatched rows, unmatched cols).
    """
    n, m = cost.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    from scipy.optimize import linear_sum_assignment  # (0.5 s to import: a search needs no tracker)

    big = max_cost + 1.0
    rows, cols = linear_sum_assignment(np.where(cost <= max_cost, cost, big))
    matches = [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= max_cost]
    mr = {r for r, _ in matches}
    mc = {c for _, c in matches}
    return matches, [r for r in range(n) if r not in mr], [c for c in range(m) if c not in mc]
