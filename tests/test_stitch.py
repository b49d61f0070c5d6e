"""Stitching the segments of one long video indexed by several workers: a walk across a segment's
boundary becomes one track, and nothing else is joined (no Ray needed: the merge is plain Python)."""

from __future__ import annotations

import numpy as np

from pipeline.distributed.stitch import segments, stitch
from pipeline.types import TrackRecord


def record(track_id: int, frames: range, x: float, look: np.ndarray) -> TrackRecord:
    path = np.array([[f, f / 10, x + f, 50, x + f + 30, 130, 0.9] for f in frames], np.float64)
    return TrackRecord(track_id, path, look, look[None], (), b"jpg", 0.5)


def test_stitching_joins_a_walk_across_the_boundary_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    a, b, c = (v / np.linalg.norm(v) for v in rng.normal(size=(3, 16)).astype(np.float32))
    first = [
        record(1, range(80, 100, 3), 0, a),
        record(2, range(10, 40), 200, b),
        record(4, range(70, 97, 3), 400, c),  # alive at the boundary, but nobody continues it
    ]
    second = [
        record(1, range(101, 130, 3), 0, a),  # the same walker, right after the boundary at 100
        record(2, range(101, 120), 300, a),  # looks alike, but somewhere else
        record(3, range(101, 120), 0, b),  # where walker 1 is, but looks different
    ]
    whole = stitch([first, second], [100], fps=10.0)
    assert len(whole) == 5 and [t.track_id for t in whole] == [1, 2, 3, 4, 5]
    walk = next(t for t in whole if t.first_frame == 80)
    assert walk.last_frame == 128 and len(walk.crop_embeddings) == 2
    assert segments(795, 10.0, 20.0) == [(0, 0, 199), (169, 199, 398), (368, 398, 596), (566, 596, 795)]
    assert segments(795, 10.0, 600.0) == [(0, 0, 795)]
