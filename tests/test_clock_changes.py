"""Clock changes: in a folder of snapshots (pipeline.clock_changes, EXIF offsets from UTC), and in
the wall-clock times of a recording that runs through one (pipeline.types.clock_at)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.search import SearchConfig
from pipeline.search_filter import SearchFilter
from pipeline.video import probe
from tests.test_cameras import cameras_library
from tests.test_image_sequence import tud_frames
from tests.test_search import DIM, searcher, unit


def test_exif_offsets_keep_the_hour_repeated_when_clocks_go_back_in_order(tmp_path: Path) -> None:
    """The night the clocks go back, local times repeat an hour: ordered as written, the two passes
    through 01:00-02:00 interleaved (tracks mixed the two hours). A camera that writes EXIF's
    OffsetTimeOriginal says which pass an image belongs to: the times are put on one offset."""
    frames = tud_frames(10)[:4]
    taken = [("01:30:00", "+02:00"), ("01:45:00", "+02:00"), ("01:15:00", "+01:00"), ("01:40:00", "+01:00")]
    for folder, offsets in (("dst", True), ("garbled", False)):
        (tmp_path / folder).mkdir()
        for k, (img, (when, offset)) in enumerate(zip(frames, taken)):
            exif = Image.Exif()
            exif.get_ifd(0x8769)[36867] = f"2026:10:25 {when}"
            exif.get_ifd(0x8769)[0x9011] = offset if offsets or k else "+2:00 CEST"
            name = f"cam_{'abcd'[k]}.jpg"
            Image.fromarray(img[:, :, ::-1]).save(tmp_path / folder / name, exif=exif)
    info = probe(tmp_path / "dst")
    assert [p.name for p in info.images.files] == ["cam_a.jpg", "cam_b.jpg", "cam_c.jpg", "cam_d.jpg"]
    assert info.images.times == pytest.approx((0, 900, 2700, 4200))
    assert info.images.start == datetime(2026, 10, 25, 1, 30)
    assert "UTC offsets +01:00, +02:00 (daylight saving): put on +02:00" in info.note
    garbled = probe(tmp_path / "garbled")  # one offset unreadable: the times as written
    assert [p.name for p in garbled.images.files] == ["cam_c.jpg", "cam_a.jpg", "cam_d.jpg", "cam_b.jpg"]
    assert "offset" not in garbled.note


def test_clock_times_run_on_through_a_change_to_summer_time(
    library_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In Berlin the clocks go from 02:00 to 03:00 on 2026-03-29. A video started at 01:59:30 had its
    hit 79 s in at 02:00:49, a time that never was, a window from 03:00:30 (or 01:00:30Z) left out a
    person seen at 03:00:40, and a route counted an hour too many between two sightings (a sweep).
    Elsewhere on the calendar the times are as before."""
    import time

    from pipeline.route import route
    from pipeline.types import clock_at

    start = datetime(2026, 3, 29, 1, 59, 30)
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert clock_at(start, 79.4) == datetime(2026, 3, 29, 3, 0, 49, 400000)
        assert clock_at(datetime(2026, 10, 25, 2, 59, 30), 60) == datetime(2026, 10, 25, 2, 0, 30)  # autumn
        q = unit(np.random.default_rng(5).normal(size=DIM))
        library, ids = cameras_library(library_db, q)
        library.set_start(ids["a"], start)  # its look-alike: track 1 at 0-0.4 s, the others later
        s = searcher(
            library, SearchConfig(min_score=0.0, display_floor=0.0, relative_margin=1.0, candidates=100)
        )
        window = SearchFilter(
            start=datetime(2026, 3, 29, 3, 0, 0), end=datetime(2026, 3, 29, 3, 0, 0, 300000)
        )
        pks = {t.pk: t.track_id for t in library.video_tracks(ids["a"])}
        inside = s.filter.allowed(window, library.clocks()).pks
        assert [pks[p] for p in inside.tolist() if p in pks] == [31]  # its 30.0-30.4 s (an hour off before)
        (hit,) = [h for h in s.match(q).candidates if h.video_id == ids["a"] and h.track_id == 1]
        assert hit.start_time == start
        assert replace(hit, start_s=30.0).start_time == datetime(2026, 3, 29, 3, 0, 0)
        first, later = replace(hit, start_s=0.0, end_s=0.0), replace(hit, video_id=ids["b"], start_s=70.0)
        later = replace(later, video_start=start, end_s=71.0)  # from 03:00:40
        stops = route([first, later])
        assert [round(g.seconds) for g in stops if type(g).__name__ == "RouteGap"] == [70]  # 30 s + 40 s
        library.close()
    finally:
        monkeypatch.undo()
        time.tzset()
