"""Clock times across a change of the clocks (daylight saving): a sweep set a recording's start to
01:59:40 on the night the clocks went forward (Europe/Berlin) and a hit 26 s in read 02:00:06, a time
that never was, an hour from the real 03:00:06; a search from 03:00 found nothing. Local times are
the machine's zone, and seconds are counted in absolute time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest

from pipeline.route import route
from pipeline.search_filter import SearchFilter
from pipeline.storage import Library
from pipeline.types import clock_at, seconds_between
from tests.test_search import DIM, add_video, searcher

BEFORE = datetime(2026, 3, 29, 1, 59, 40)  # 20 s before the clocks went forward from 02:00 to 03:00


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_time_across_the_change_is_the_time_the_clocks_showed(berlin) -> None:
    assert clock_at(BEFORE, 26) == datetime(2026, 3, 29, 3, 0, 6)
    assert seconds_between(BEFORE, datetime(2026, 3, 29, 3, 0, 6)) == 26
    assert clock_at(datetime(2026, 6, 1, 12, 0), 90) == datetime(2026, 6, 1, 12, 1, 30)  # no change: as ever
    assert clock_at(datetime(9999, 12, 31, 23, 0), 60) == datetime(9999, 12, 31, 23, 1)  # beyond the tables
    assert clock_at(datetime(9999, 12, 31, 23, 59), 120) is None  # beyond the calendar


def test_a_window_after_the_change_finds_what_was_seen_then(berlin, tmp_path) -> None:
    """The test library's tracks are seen 0-0.4 s, 1-1.4 s, ...: one at 2.0 s into a video that
    started at 01:59:58 is seen at 03:00:00."""
    library = Library(tmp_path / "lib.db")
    vid = add_video(library, "gate", [np.eye(DIM)[k] for k in range(4)])
    library.set_start(vid, datetime(2026, 3, 29, 1, 59, 58))
    s = searcher(library)
    later = SearchFilter(start=datetime(2026, 3, 29, 3, 0, 0), end=datetime(2026, 3, 29, 3, 0, 0, 500000))
    hits = s.match(np.eye(DIM)[2], where=later, min_score=-1.0).hits
    assert [h.track_id for h in hits] == [3], [h.track_id for h in hits]
    assert hits[0].start_time == datetime(2026, 3, 29, 3, 0, 0)
    stops = route(list(s.match(np.eye(DIM)[0], min_score=-1.0).hits))
    assert all(getattr(g, "seconds", 0) < 3600 for g in stops)  # no hour-long gap that was not
    library.close()
