"""One person is not in two places at once: tracks of one video seen at the same time, apart, are two
people. Calibration (:mod:`pipeline.calibration`) takes its certainly-different pairs from this rule,
and search (:mod:`pipeline.search`) keeps a look-alike of its best hit out of the hits by it.

Two tracks are *seen apart* when they belong to one video, both were observed in the same frames
(both people were in view at once), they are not linked into one person, and their boxes never touch
in those frames. Touching boxes are left out because a crop of one may show the other, and because a
tracker that briefly follows one person twice (a duplicate box) gives two touching tracks.
Calibration's pairs are sampled more loosely (spans that overlap, boxes never touching): a wrong pair
there moves a histogram by one count, where search would lose the person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from pipeline.storage import TrackInfo
from pipeline.types import PATH_FRAME, PATH_X1, PATH_X2, PATH_Y1, PATH_Y2

log = logging.getLogger(__name__)


def _together(a: TrackInfo, b: TrackInfo) -> tuple[int, bool]:
    """(frames where both tracks were observed, whether their boxes overlap in any of them)."""
    common, ia, ib = np.intersect1d(a.path[:, PATH_FRAME], b.path[:, PATH_FRAME], return_indices=True)
    if not len(common):
        return 0, False
    pa, pb = a.path[ia], b.path[ib]
    w = np.minimum(pa[:, PATH_X2], pb[:, PATH_X2]) - np.maximum(pa[:, PATH_X1], pb[:, PATH_X1])
    h = np.minimum(pa[:, PATH_Y2], pb[:, PATH_Y2]) - np.maximum(pa[:, PATH_Y1], pb[:, PATH_Y1])
    return len(common), bool(((w > 0) & (h > 0)).any())


def boxes_touch(a: TrackInfo, b: TrackInfo) -> bool:
    """Whether the two tracks' boxes overlap in any frame where both were observed."""
    return _together(a, b)[1]


def seen_apart(a: TrackInfo, b: TrackInfo) -> bool:
    """Whether two tracks are certainly two different people: observed in the same frames of one
    video, never touching there, and not linked into one person. (Spans that overlap without a frame
    in common are not enough: a track that loses its person and one that finds them again overlap
    so, and so do a track and the one that took over its person.)"""
    if a.video_id != b.video_id or a.person == b.person:
        return False
    if a.first_frame > b.last_frame or b.first_frame > a.last_frame:
        return False
    common, touching = _together(a, b)
    return common > 0 and not touching


def people_apart(one: Sequence[TrackInfo], other: Sequence[TrackInfo]) -> bool:
    """Whether two people (each a chain of linked tracks) were seen apart in any of their tracks."""
    if min(t.first_frame for t in one) > max(t.last_frame for t in other) or min(
        t.first_frame for t in other
    ) > max(t.last_frame for t in one):
        return False  # never in view at once: no pair of their tracks needs a look
    return any(seen_apart(a, b) for a in one for b in other)


def seen_with_better(
    people: Sequence[tuple[float, Sequence[TrackInfo]]], cut: Callable[[int], float]
) -> set[tuple[int, int]]:
    """(video, person) of the people of a search, best first, who reach their video's ``cut`` but
    were seen apart from a better-scoring person who is kept in the same video: whoever the query
    shows, it cannot be both."""
    kept: dict[int, list[Sequence[TrackInfo]]] = {}
    out: set[tuple[int, int]] = set()
    for score, members in people:
        if not members or score < cut(members[0].video_id):
            continue
        video = members[0].video_id
        if any(people_apart(members, better) for better in kept.get(video, ())):
            out.add((video, members[0].person))
        else:
            kept.setdefault(video, []).append(members)
    if out:
        log.info("%d look-alike(s) left out: seen beside a better match in their video", len(out))
    return out
