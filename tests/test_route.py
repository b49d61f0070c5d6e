"""The person's route: stops per person of a video, in clock order across cameras, gaps between."""

from __future__ import annotations

from datetime import datetime

from pipeline.route import RouteGap, RouteStop, route
from pipeline.types import Hit

T0 = datetime(2026, 11, 21, 14, 30, 0)


def hit(pk: int, video: int, person: int, start: float, end: float, camera: str, t0: datetime | None) -> Hit:
    return Hit(
        None, None, video, f"/v/{video}.mp4", pk, pk, 0.8, 0, 1, start, end, 10.0, (), person, camera, t0
    )


def test_stops_in_clock_order_with_gaps() -> None:
    later = T0.replace(minute=40)
    hits = [
        hit(1, 1, 7, 10.0, 20.0, "Entrance", T0),  # two fragments of one walk past the entrance
        hit(2, 1, 7, 25.0, 40.0, "Entrance", T0),
        hit(3, 2, 1, 0.0, 30.0, "Yard", later),  # ten minutes later, in the yard
        hit(4, 3, 1, 5.0, 9.0, "Lobby", None),  # a video with no known start: last
        hit(5, 2, 2, 100.0, 110.0, "Yard", later),  # someone else, not confirmed
    ]
    stops = route(hits, confirmed=[1, 3, 4])
    assert [type(e) for e in stops] == [RouteStop, RouteGap, RouteStop, RouteStop]
    first, gap, yard, lobby = stops
    assert first.camera == "Entrance" and [h.track_pk for h in first.hits] == [1, 2] and first.confirmed
    assert (first.start_time, first.end_time) == (T0.replace(second=10), T0.replace(second=40))
    assert gap.seconds == 600 - 40 and gap.camera_changed
    assert yard.camera == "Yard" and lobby.start_time is None
    assert len(route(hits)) == 6  # nothing confirmed: every hit's person is a stop (4) with 2 gaps


def test_a_long_stop_covers_the_short_ones_inside_it() -> None:
    """Seen 10:00-10:30 on camera A, 10:05-10:06 on camera B, then 10:20 on A again: never unseen."""
    t = T0.replace(hour=10, minute=0)
    hits = [
        hit(1, 1, 1, 0.0, 1800.0, "A", t),
        hit(2, 2, 1, 300.0, 360.0, "B", t),
        hit(3, 3, 1, 1200.0, 1210.0, "A", t),
        hit(4, 4, 1, 2400.0, 2410.0, "C", t),  # ten minutes after the long stop ends
    ]
    entries = route(hits)
    gaps = [e for e in entries if isinstance(e, RouteGap)]
    assert len(gaps) == 1 and gaps[0].seconds == 600 and gaps[0].camera_changed
