"""Join the fragments of one person's walk into a "person" after a video is indexed.

A tracker loses people behind poles and each other and starts new tracks for them; to a search those
fragments are separate, and only the best-looking one clears the threshold. When a track ends and
another starts soon after, where the first one's motion leads or near where it ended (the person
stopped or turned while hidden), with a box of similar size and a similar appearance, the two are
linked (offline tracklet association). Sizes are compared over the last and first half second of
boxes (their median), not the edge boxes alone: a track ends because its person is being hidden and
starts while they emerge, so its edge boxes are often of part of them (of 26 pairs where one
person's track ends and their next starts within 2 s, in 13 dev libraries, 7 were linked on edge
boxes, 18 are now; of 188 such pairs of two people, 0 then, 2 now). A window in time, not in boxes:
at 1 fps six boxes span six seconds, in which someone walking towards the camera doubles in size.
Time is the recording's (a recorder that stopped for an hour between two frames leaves an hour
between the tracks, whatever their frame numbers). Each track is linked to at most one successor,
chosen by a minimum-cost assignment, so a person becomes a chain of tracks.
Search then scores people: every fragment of a person takes the person's best score.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.storage import TrackInfo
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y1, PATH_Y2

NO_LINK = 1e9


@dataclass(frozen=True)
class LinkConfig:
    """max_gap_s: longest time between the end of one track and the start of the next that can
        still be the same person walking on (an occlusion). Longer links more, and more wrongly.
    min_similarity: least cosine similarity of the two tracks' appearance embeddings.
    max_distance: how far (in box heights, per 0.5 s + the gap in seconds) the new track may start
        from where the old one's last velocity would have taken it, or from where it ended.
    max_height_ratio: largest ratio between the two tracks' heights (each the median of the boxes
        in the last / first ``size_window_s`` of a track, at most ``velocity_frames`` + 1 of them).
    size_window_s: seconds of video at a track's end and start whose boxes give its height: long
        enough to outvote a half-hidden edge box at 5-30 fps, short enough that a person walking
        towards the camera keeps their size in it (at 1-2 fps it is the edge box alone).
    velocity_frames: observations at the end of a track used to estimate its velocity.
    distance_weight: weight of the motion distance against the appearance in the assignment cost.
    """

    max_gap_s: float = 2.0
    min_similarity: float = 0.75
    max_distance: float = 0.7
    max_height_ratio: float = 1.5
    size_window_s: float = 0.5
    velocity_frames: int = 5
    distance_weight: float = 0.1


def _centre(row: np.ndarray) -> np.ndarray:
    return np.array([(row[PATH_X1] + row[PATH_X1 + 2]) / 2, (row[PATH_Y1] + row[PATH_Y2]) / 2])


def _height(rows: np.ndarray, edge: float, window: float) -> float:
    """Median height of the boxes within ``window`` frames of the ``edge`` frame."""
    near = rows[np.abs(rows[:, PATH_FRAME] - edge) <= window]
    return float(np.median(near[:, PATH_Y2] - near[:, PATH_Y1]))


def _end_state(path: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre and velocity (pixels per frame) at the end of a track."""
    last = path[-1]
    k = min(len(path) - 1, k)
    dt = last[PATH_FRAME] - path[-1 - k, PATH_FRAME]
    velocity = (_centre(last) - _centre(path[-1 - k])) / dt if dt > 0 else np.zeros(2)
    return _centre(last), velocity


def link_cost(a: TrackInfo, b: TrackInfo, similarity: float, fps: float, config: LinkConfig) -> float:
    """Cost of "b continues a" (lower is better), or ``NO_LINK`` when it cannot."""
    gap = b.first_frame - a.last_frame
    gap_s = gap / fps
    if b.start_s - a.end_s > gap_s + 0.5 / fps:  # a gap in the recording: longer than the frames say
        gap_s = b.start_s - a.end_s
    if gap <= 0 or gap_s > config.max_gap_s or similarity < config.min_similarity:
        return NO_LINK
    centre, velocity = _end_state(a.path, config.velocity_frames)
    first = b.path[0]
    k, window = config.velocity_frames + 1, config.size_window_s * fps
    height = _height(a.path[-k:], a.path[-1, PATH_FRAME], window)
    height_b = _height(b.path[:k], first[PATH_FRAME], window)
    if not 1 / config.max_height_ratio <= height_b / max(height, 1e-6) <= config.max_height_ratio:
        return NO_LINK
    moved_on = np.linalg.norm(centre + velocity * gap - _centre(first))
    stopped = np.linalg.norm(centre - _centre(first))  # or turned: either is a person walking
    distance = min(moved_on, stopped) / max(height, height_b)
    if distance > config.max_distance * (0.5 + gap_s):
        return NO_LINK
    return (1.0 - similarity) + config.distance_weight * float(distance)


def candidate_pairs(tracks: Sequence[TrackInfo], max_gap: int) -> list[tuple[int, int]]:
    """(i, j) index pairs where track j starts within ``max_gap`` frames after track i ends: the only
    pairs that can link. Found by sorting starts and bisecting, O(n log n + pairs)."""
    order = sorted(range(len(tracks)), key=lambda k: tracks[k].first_frame)
    starts = [tracks[k].first_frame for k in order]
    pairs = []
    for i, a in enumerate(tracks):
        lo = bisect.bisect_right(starts, a.last_frame)
        hi = bisect.bisect_right(starts, a.last_frame + max_gap)
        pairs += [(i, order[k]) for k in range(lo, hi)]
    return pairs


def link_tracks(
    tracks: Sequence[TrackInfo], embeddings: Mapping[int, np.ndarray], config: LinkConfig = LinkConfig()
) -> dict[int, int]:
    """Person number for every track of one video: the smallest track id of its chain.

    ``embeddings`` maps track primary keys to their (L2-normalised) appearance vectors. Only pairs
    close enough in time to link are scored, and the one-successor assignment is solved separately
    on each group of tracks that compete for the same links (it decomposes exactly), so the cost
    grows with the number of tracks times the few that overlap in time, not with its square.
    """
    n = len(tracks)
    person = {t.pk: t.track_id for t in tracks}
    if n < 2:
        return person
    fps = tracks[0].fps or 25.0
    edges: dict[tuple[int, int], float] = {}
    for i, j in candidate_pairs(tracks, math.floor(config.max_gap_s * fps)):
        sim = float(embeddings[tracks[i].pk] @ embeddings[tracks[j].pk])
        cost = link_cost(tracks[i], tracks[j], sim, fps, config)
        if cost < NO_LINK:
            edges[(i, j)] = cost
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in _assign(edges):
        parent[root(j)] = root(i)
    first_id: dict[int, int] = {}
    for i, t in enumerate(tracks):
        r = root(i)
        first_id[r] = min(first_id.get(r, t.track_id), t.track_id)
    return {t.pk: first_id[root(i)] for i, t in enumerate(tracks)}


def _assign(edges: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one matching of track ends (i) to track starts (j) over the possible links,
    most links first (what one full cost matrix with NO_LINK elsewhere gives), solved separately on
    each connected group of ends and starts."""
    if not edges:
        return []
    ends = sorted({i for i, _ in edges})
    starts = sorted({j for _, j in edges})
    e_at, s_at = {v: k for k, v in enumerate(ends)}, {v: k for k, v in enumerate(starts)}
    rows = [e_at[i] for i, _ in edges]
    cols = [len(ends) + s_at[j] for _, j in edges]
    size = len(ends) + len(starts)
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    groups: dict[int, list[tuple[int, int]]] = {}
    for e in edges:
        groups.setdefault(int(label[e_at[e[0]]]), []).append(e)
    out = []
    for members in groups.values():
        g_ends = sorted({i for i, _ in members})
        g_starts = sorted({j for _, j in members})
        ri, ci = {v: k for k, v in enumerate(g_ends)}, {v: k for k, v in enumerate(g_starts)}
        cost = np.full((len(g_ends), len(g_starts)), NO_LINK)
        for i, j in members:
            cost[ri[i], ci[j]] = edges[(i, j)]
        for r, c in zip(*linear_sum_assignment(cost)):
            if cost[r, c] < NO_LINK:
                out.append((g_ends[r], g_starts[c]))
    return out
