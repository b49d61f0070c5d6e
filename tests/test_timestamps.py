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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "192.168.1.64_01_20261121143000250_MOTION_DETECTION.jpg",
            datetime(2026, 11, 21, 14, 30, 0, 250_000),
        ),
        ("cam_20261121_143000_250123.jpg", datetime(2026, 11, 21, 14, 30, 0, 250_123)),
        ("cam_2026-11-21T14:30:00.5.jpg", datetime(2026, 11, 21, 14, 30, 0, 500_000)),
        ("cam_20261121_143000_1.jpg", datetime(2026, 11, 21, 14, 30, 0)),  # a burst's counter
        ("cam_20261121_143000_12.jpg", datetime(2026, 11, 21, 14, 30, 0)),
        ("cam_20261121_143000_1234.jpg", datetime(2026, 11, 21, 14, 30, 0)),
    ],
)
def test_fractions_of_a_second_and_counters_after_the_seconds(name: str, expected: datetime) -> None:
    assert time_in_name(name) == expected


def test_a_burst_within_one_second_keeps_its_counters_order(tmp_path) -> None:
    """A camera's burst ``_1`` ... ``_12`` in one second: read as tenths, ``_10`` came before ``_2``;
    the twelve share their second (they were a millisecond apart, a 1000 fps burst)."""
    import cv2
    import numpy as np

    from pipeline.image_sequence import read_sequence

    for k in range(1, 13):
        cv2.imwrite(str(tmp_path / f"cam1_20261121_143000_{k}.jpg"), np.full((32, 32, 3), k, np.uint8))
    seq = read_sequence(tmp_path)
    assert [f.name.split("_")[-1] for f in seq.files] == [f"{k}.jpg" for k in range(1, 13)]
    assert seq.start == datetime(2026, 11, 21, 14, 30)
    assert seq.times == pytest.approx([k / 12 for k in range(12)])
