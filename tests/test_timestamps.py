"""Dates and times in recorder and camera file names."""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline.timestamps import time_in_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Cam03_20261121_143000.mp4", datetime(2026, 11, 21, 14, 30, 0)),
        ("2026-11-21 14-30-00 Entrance.mp4", datetime(2026, 11, 21, 14, 30, 0)),
        ("IMG_20261121_143000_250.jpg", datetime(2026, 11, 21, 14, 30, 0, 250_000)),
        ("snapshot_2026-11-21T14:30:00.250.jpg", datetime(2026, 11, 21, 14, 30, 0, 250_000)),
        ("ch01_20261121T143005.avi", datetime(2026, 11, 21, 14, 30, 5)),
        ("door 2026_11_21_23_59_59.mkv", datetime(2026, 11, 21, 23, 59, 59)),
    ],
)
def test_times_recorders_write(name: str, expected: datetime) -> None:
    assert time_in_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "frame_000123.jpg",  # a frame number
        "clip_20261340_143000.mp4",  # month 13
        "clip_20261121_256000.mp4",  # 25 o'clock
        "id_18000101_120000.jpg",  # implausible year
        "000001.jpg",
        "entrance.mp4",
    ],
)
def test_numbers_that_are_not_times(name: str) -> None:
    assert time_in_name(name) is None
