"""Which of a search's candidates are the person: decided per video, person by person, best first.

A candidate *person* (a chain of linked tracks, scored by its best track) of one video is a hit when
its score reaches the library's floor, lies within ``relative_margin`` of the best person of that
video (it separates the person from look-alikes in the same footage), and (``one_place``) none of
their tracks overlaps in time with a track of a better hit of the same video: one person is not in
two places at once, so of two people seen at the same moment at most one is the person searched for,
and the one that matches better is kept. Tracks of different videos never exclude each other (two
cameras can see the same person at the same moment).

Candidates arrive best person first (:meth:`pipeline.search.Searcher.match`); the choice is
O(candidates x hits of a video).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.types import Hit


def _people(hits: Sequence[Hit], per_video: bool) -> list[tuple[int, list[Hit]]]:
    """Candidates grouped into (scope, the person's tracks), keeping the best-first order."""
    groups: dict[tuple[int, int, int], list[Hit]] = {}
    for h in hits:
        groups.setdefault((h.video_id if per_video else -1, h.video_id, h.person), []).append(h)
    return [(key[0], members) for key, members in groups.items()]


def overlap(a: Sequence[Hit], b: Sequence[Hit]) -> bool:
    """Whether a track of one person is seen during a track of the other in the same video."""
    return any(
        x.video_id == y.video_id and x.start_frame <= y.end_frame and y.start_frame <= x.end_frame
        for x in a
        for y in b
    )


def select_hits(
    candidates: Sequence[Hit], floor: float, margin: float, per_video: bool, one_place: bool = True
) -> tuple[Hit, ...]:
    """The candidates (best person first) that are hits, in the same order; see the module."""
    chosen: dict[int, list[list[Hit]]] = {}  # scope -> hit people, best first
    best: dict[int, float] = {}
    keep: set[int] = set()
    for scope, person in _people(candidates, per_video):
        score = person[0].score
        top = best.setdefault(scope, score)
        if score < max(floor, top - margin):
            continue
        hits = chosen.setdefault(scope, [])
        if one_place and any(overlap(person, other) for other in hits):
            continue
        hits.append(person)
        keep.update(h.track_pk for h in person)
    return tuple(h for h in candidates if h.track_pk in keep)
