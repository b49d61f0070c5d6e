"""The person's route: where they were seen, in clock order across cameras, with the gaps between.

A route is built from the confirmed hits of a review (with the tracks linked to them into one walk;
else from the search's hits): each person of a video is one stop, from its first to its last
sighting. Stops are in
wall-clock order where the video's start is known; stops of videos with no known start follow, in
video and offset order (they have no place on the clock). Between two stops on the clock, a gap: how
long the person was not seen, and whether the camera changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pipeline.types import Hit, elapsed_s


@dataclass(frozen=True)
class RouteStop:
    camera: str
    video_path: str
    hits: tuple[Hit, ...]  # the tracks of this stop, in time order
    start_s: float  # offsets into the video
    end_s: float
    start_time: datetime | None  # wall clock (None when the video's start is unknown)
    end_time: datetime | None
    score: float  # the best hit's score
    confirmed: bool  # the operator confirmed one of its tracks

    @property
    def first(self) -> Hit:
        return self.hits[0]


@dataclass(frozen=True)
class RouteGap:
    seconds: float  # from the end of the stop before to the start of the next
    camera_changed: bool


def route(hits: Sequence[Hit], confirmed: Sequence[int] = ()) -> list[RouteStop | RouteGap]:
    """Stops (and gaps) of the confirmed hits (track keys in ``confirmed``), else of all ``hits``."""
    sure = {(h.video_id, h.person) for h in hits if h.track_pk in set(confirmed)}  # with their walk
    chosen = [h for h in hits if (h.video_id, h.person) in sure] or list(hits)
    people: dict[tuple[int, int], list[Hit]] = {}
    for h in chosen:
        people.setdefault((h.video_id, h.person), []).append(h)
    stops = []
    for group in people.values():
        group.sort(key=lambda h: h.start_s)
        first, last = group[0], max(group, key=lambda h: h.end_s)
        stops.append(
            RouteStop(
                first.camera,
                first.video_path,
                tuple(group),
                first.start_s,
                last.end_s,
                first.start_time,
                last.end_time,
                max(h.score for h in group),
                any(h.track_pk in set(confirmed) for h in group),
            )
        )
    timed = sorted((s for s in stops if s.start_time is not None), key=lambda s: (s.start_time, s.video_path))
    untimed = sorted((s for s in stops if s.start_time is None), key=lambda s: (s.video_path, s.start_s))
    out: list[RouteStop | RouteGap] = []
    seen_until: datetime | None = None  # the latest end so far: a long stop covers shorter ones
    last_camera = ""
    for stop in timed:
        if seen_until is not None:
            gap = elapsed_s(seen_until, stop.start_time)
            if gap > 0:
                out.append(RouteGap(gap, stop.camera != last_camera))
        out.append(stop)
        if seen_until is None or (stop.end_time is not None and stop.end_time > seen_until):
            seen_until, last_camera = stop.end_time, stop.camera
    return out + untimed
