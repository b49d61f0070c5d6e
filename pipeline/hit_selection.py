"""Which of a search's people are hits (:meth:`pipeline.search.Searcher.match`).

A person (a linked chain of tracks of one video, scored by their best track) is a hit when:
- they reach their own floor, which the kind of their best-scoring track decides: a colour track
  met by the colour photo, a track recorded without colour (met by the photo turned grey), or a
  colour track met by a photo without colour (in grey); each kind has its own calibrated floor
  (:mod:`pipeline.calibration`, :mod:`pipeline.grey_query`);
- they lie within the margin of the best person of their video who reaches their own floor (or of
  their camera, or of the whole library: ``SearchConfig.margin_over``; the library was the rule
  before the margin was judged per video);
- they were not seen apart from a better-scoring such person of their video in the same frames
  (:mod:`pipeline.cooccurrence`): whoever the query shows, it cannot be both.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.cooccurrence import seen_with_better
from pipeline.storage import TrackInfo
from pipeline.storage.clock import VideoClock

Key = tuple[int, int]  # (video id, person)
People = Sequence[tuple[float, Sequence[TrackInfo]]]  # best first, each with their tracks


def best_track_flagged(
    pks: np.ndarray, scores: np.ndarray, flags: np.ndarray, owners: dict[int, Key]
) -> set[Key]:
    """The people whose best-scoring track has its flag set (e.g. was scored in grey)."""
    best: dict[Key, tuple[float, bool]] = {}
    for p, s, f in zip(pks.tolist(), scores.tolist(), flags.tolist()):
        key = owners.get(p)
        if key is not None and s > best.get(key, (-3.0, False))[0]:
            best[key] = (s, bool(f))
    return {key for key, (_, f) in best.items() if f}


@dataclass(frozen=True)
class PersonFloors:
    """colour: the floor of people met in colour; colourless: of people recorded without colour
    (``night``); in_grey: of colour people met by a photo without colour (``greyed``)."""

    colour: float
    colourless: float
    in_grey: float
    night: frozenset[Key] = frozenset()
    greyed: frozenset[Key] = frozenset()

    def of(self, key: Key) -> float:
        return self.in_grey if key in self.greyed else self.colourless if key in self.night else self.colour


def by_video(video_id: int) -> Hashable:
    """The margin's default scope: a person is weighed against the people of their own video."""
    return video_id


def margin_scope(over: str, cameras: Mapping[int, VideoClock]) -> Callable[[int], Hashable]:
    """The group a video's people are weighed in, by ``SearchConfig.margin_over``: the video itself,
    its camera (``cameras``: the library's clocks), or one group for the whole library."""
    if over == "camera":

        def camera(video_id: int) -> Hashable:  # a video with no camera name is a camera of its own
            clock = cameras.get(video_id)
            return ("camera", clock.camera) if clock is not None and clock.camera else video_id

        return camera
    return by_video if over == "video" else lambda video_id: None


def chosen_people(
    people: People,
    floors: PersonFloors,
    margin: float,
    scope: Callable[[int], Hashable] = by_video,
    one_place: bool = True,
) -> set[Key]:
    """The (video, person) keys of ``people`` that are hits (see the module's docstring); ``scope``
    maps a video to the group whose best person sets its margin (its camera, one for the library)."""

    def key(members: Sequence[TrackInfo]) -> Key:
        return members[0].video_id, members[0].person

    reaching = [(s, m) for s, m in people if m and s >= floors.of(key(m))]
    group_best: dict[Hashable, float] = {}
    for score, members in reaching:  # best first: the first person seen of a group is its best
        group_best.setdefault(scope(members[0].video_id), score)

    def cut(video_id: int) -> float:
        return group_best.get(scope(video_id), 2.0) - margin

    elsewhere = seen_with_better(reaching, cut) if one_place else set()
    return {key(m) for s, m in reaching if s >= cut(m[0].video_id)} - elsewhere
