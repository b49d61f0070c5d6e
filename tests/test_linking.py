"""Linking the fragments of one person's walk: motion, size, appearance and time must all agree."""

from __future__ import annotations

import numpy as np

from pipeline.linking import LinkConfig, link_tracks
from pipeline.storage import TrackInfo

FPS = 10.0


def track(pk: int, first: int, last: int, x0: float, vx: float = 3.0, h: float = 80.0) -> TrackInfo:
    frames = np.arange(first, last + 1)
    x = x0 + vx * (frames - first)
    path = np.column_stack(
        [
            frames,
            frames / FPS,
            x,
            np.full_like(x, 100.0),
            x + h / 2.5,
            np.full_like(x, 100 + h),
            np.full_like(x, 0.9),
        ]
    )
    return TrackInfo(pk, 1, "/v.mp4", FPS, pk, first, last, first / FPS, last / FPS, path, pk)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


RNG = np.random.default_rng(0)
LOOK_A = unit(RNG.normal(size=64))
LOOK_B = unit(RNG.normal(size=64))


def near(look: np.ndarray, noise: float = 0.1) -> np.ndarray:
    return unit(look + noise * unit(RNG.normal(size=look.size)))


def test_occluded_walker_is_linked() -> None:
    a = track(1, 0, 30, x0=100)  # ends at x = 190, walking right at 3 px/frame
    b = track(2, 40, 70, x0=190 + 3 * 10)  # reappears where the motion leads, 1 s later
    persons = link_tracks([a, b], {1: near(LOOK_A), 2: near(LOOK_A)})
    assert persons == {1: 1, 2: 1}


def test_a_walker_whose_last_box_was_half_hidden_is_linked() -> None:
    """A track ends because its person is being hidden: its last boxes show the upper body only. The
    sizes compared are the median over the last and first few boxes, not those edge boxes."""
    a = track(1, 0, 30, x0=100)
    a.path[-2:, 5] = 100 + 40  # the last two boxes: the legs hidden (40 of 80 px)
    b = track(2, 40, 70, x0=190 + 3 * 10)
    assert link_tracks([a, b], {1: near(LOOK_A), 2: near(LOOK_A)}) == {1: 1, 2: 1}


def test_sizes_are_compared_where_the_tracks_meet_at_any_frame_rate() -> None:
    """At 1 fps the next track's first boxes span seconds: someone walking towards the camera grows
    in them (90 -> 180 px), and only the box where the tracks meet is compared with the last one."""

    def walk(pk: int, frames: list[int], heights: list[float]) -> TrackInfo:
        rows = [[f, f, 100 + 4 * f, 100, 140 + 4 * f, 100 + h, 0.9] for f, h in zip(frames, heights)]
        first, last = frames[0], frames[-1]
        return TrackInfo(pk, 1, "/v.mp4", 1.0, pk, first, last, first, last, np.array(rows), pk)

    a = walk(1, [12], [80.0])
    b = walk(2, [13, 14, 15, 16], [90.0, 120.0, 150.0, 180.0])
    assert link_tracks([a, b], {1: near(LOOK_A), 2: near(LOOK_A)}) == {1: 1, 2: 1}


def test_a_walker_who_stopped_while_hidden_is_linked() -> None:
    """Hidden for 1.5 s, the walker stopped (or turned back): the next track starts where the first
    one ended, not where its velocity led (8 px/frame: 1.5 heights on)."""
    a = track(1, 0, 30, x0=100, vx=8.0)
    b = track(2, 45, 70, x0=100 + 8 * 30, vx=0.0)
    assert link_tracks([a, b], {1: near(LOOK_A), 2: near(LOOK_A)}) == {1: 1, 2: 1}


def test_different_appearance_is_not_linked() -> None:
    a, b = track(1, 0, 30, x0=100), track(2, 40, 70, x0=220)
    assert link_tracks([a, b], {1: near(LOOK_A), 2: near(LOOK_B)}) == {1: 1, 2: 2}


def test_wrong_place_or_too_late_or_overlapping_is_not_linked() -> None:
    looks = {1: near(LOOK_A), 2: near(LOOK_A)}
    a = track(1, 0, 30, x0=100)
    assert link_tracks([a, track(2, 40, 70, x0=500)], looks) == {1: 1, 2: 2}  # far from the path
    assert link_tracks([a, track(2, 60, 90, x0=280)], looks) == {1: 1, 2: 2}  # 3 s gap > 2 s
    assert link_tracks([a, track(2, 25, 60, x0=175)], looks) == {1: 1, 2: 2}  # both visible at once
    assert link_tracks([a, track(2, 40, 70, x0=220, h=200)], looks) == {1: 1, 2: 2}  # another size


def test_chains_and_single_successor() -> None:
    a = track(1, 0, 20, x0=100)
    b = track(2, 28, 50, x0=100 + 3 * 28)
    c = track(3, 58, 80, x0=100 + 3 * 58)
    rival = track(4, 27, 45, x0=100 + 3 * 27)  # also fits after a, but looks less like it
    looks = {1: near(LOOK_A, 0.05), 2: near(LOOK_A, 0.05), 3: near(LOOK_A, 0.05), 4: near(LOOK_A, 0.6)}
    persons = link_tracks([a, b, c, rival], looks, LinkConfig(min_similarity=0.5))
    assert persons[1] == persons[2] == persons[3] == 1
    assert persons[4] == 4


def all_pairs_persons(tracks: list[TrackInfo], vecs: dict[int, np.ndarray]) -> dict[int, int]:
    """The reference: every pair scored, one full assignment (the method before windowed linking)."""
    from scipy.optimize import linear_sum_assignment

    from pipeline.linking import NO_LINK, link_cost

    n = len(tracks)
    cost = np.full((n, n), NO_LINK)
    for i, a in enumerate(tracks):
        for j, b in enumerate(tracks):
            if i != j:
                cost[i, j] = link_cost(a, b, float(vecs[a.pk] @ vecs[b.pk]), FPS, LinkConfig())
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j in zip(*linear_sum_assignment(cost)):
        if cost[i, j] < NO_LINK:
            parent[root(j)] = root(i)
    first: dict[int, int] = {}
    for i, t in enumerate(tracks):
        first[root(i)] = min(first.get(root(i), t.track_id), t.track_id)
    return {t.pk: first[root(i)] for i, t in enumerate(tracks)}


def test_windowed_linking_equals_scoring_every_pair() -> None:
    """Random busy scenes where fragments compete for the same successors: the same people as the
    all-pairs assignment, which costs n^2 (and was 18 s at 3,000 tracks)."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        tracks, vecs, looks = [], {}, [unit(rng.normal(size=64)) for _ in range(4)]
        for k in range(60):
            first = int(rng.integers(0, 400))
            tracks.append(track(k + 1, first, first + int(rng.integers(5, 40)), float(rng.uniform(0, 300))))
            vecs[k + 1] = near(looks[k % 4], 0.15)
        assert link_tracks(tracks, vecs) == all_pairs_persons(tracks, vecs)
