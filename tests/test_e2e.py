"""End to end on real footage: a ground-truth crop of a person finds that person, first, over most of
the time they are in view (the evaluator's definitions: a hit is correct when at least half of its
boxes overlap the person at IoU >= 0.5; recall is the share of their frames inside correct hits)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.search import Searcher
from tests.conftest import load_gt, pets, tud


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def correct(hit, truth: dict) -> bool:
    ok = sum(1 for f, *b in hit.frames if f in truth and iou(b, truth[f]) >= 0.5)
    return 2 * ok >= len(hit.frames)


# (sequence, person, query frame): the tallest unoccluded view, as the evaluator picks it
CASES = [(pets(), 3, 538), (pets(), 4, 621), (pets(), 11, 16), (tud(), 2, 43), (tud(), 7, 67)]


@pytest.mark.parametrize(("seq", "person", "frame"), CASES, ids=lambda c: getattr(c, "name", str(c)))
def test_query_crop_finds_the_person(indexed, models, frame_of, seq, person: int, frame: int) -> None:
    truth = load_gt(seq)[person]
    x1, y1, x2, y2 = (round(v) for v in truth[frame])
    crop = np.ascontiguousarray(frame_of(seq.video, frame)[max(y1, 0) : y2, max(x1, 0) : x2])
    result = Searcher(indexed, models).search(crop, video=seq.video)
    assert result.hits, "no hits"
    assert correct(result.hits[0], truth), f"top hit is track {result.hits[0].track_id}, not person {person}"
    covered = set()
    for h in result.hits:
        if correct(h, truth):
            covered.update(range(h.start_frame, h.end_frame + 1))
    recall = len(covered & set(truth)) / len(truth)
    assert recall >= 0.6, f"only {recall:.0%} of the person's frames are covered"
