"""What indexing did, as the operator sees it: the detector's view, sampling, people's size, warnings."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from bench.sequences import frames_of, write_video
from tests.conftest import pets
from tests.test_cli import cli


def test_the_report_is_kept_with_each_video(indexed) -> None:
    for v in indexed.videos():
        report = json.loads(v.report_json)
        assert report["frames"] == v.frame_count and 0 < report["detector_frames"] <= report["frames"]
        assert report["detector"]["base_input"][0] % 32 == 0
        assert report["people"]["tracks"] == v.tracks and report["people"]["height_median_px"] > 40
        assert report["sampling"]["low_rate"] is False and report["warnings"] == []
        assert report["camera_moved_frames"] == 0  # fixed cameras
        looks = report["appearance"]  # the tracker's appearance gate, and what it was judged from
        assert looks["floor"] <= looks["gate"] <= 0.8 and looks["pairs_seen_together"] > 0


def test_a_moving_camera_is_said(tmp_path: Path) -> None:
    """Eight seconds of PETS09-S2L1 through a hand-held view (``bench.moving_views``)."""
    import numpy as np

    from bench.moving_views import view_path

    video = tmp_path / "handheld.mp4"
    x, y = view_path("shake", np.arange(80) / 10.0)
    views = (
        f[round(yk * 120) : round(yk * 120) + 240, round(xk * 160) : round(xk * 160) + 320]
        for f, xk, yk in zip(frames_of(pets().video), x, y)
    )
    write_video(video, views, 10.0)
    p = cli("index", str(video), "--db", str(tmp_path / "lib.db"))
    assert p.returncode == 0, p.stderr
    assert "camera moving in" in p.stderr and "tracks follow its motion" in p.stderr, p.stderr


def test_small_people_get_a_warning(tmp_path: Path) -> None:
    """PETS09-S2L1 at 0.55 of its size: people 22-36 px tall."""
    video = tmp_path / "far.mp4"
    frames = (
        cv2.resize(f, (264, 198), interpolation=cv2.INTER_AREA)
        for k, f in enumerate(frames_of(pets().video))
        if k < 200
    )
    write_video(video, frames, 10.0)
    p = cli("index", str(video), "--db", str(tmp_path / "lib.db"))
    assert p.returncode == 0, p.stderr
    assert "warning: people are small here" in p.stderr and "whole frame at" in p.stderr
    shown = cli("videos", "--db", str(tmp_path / "lib.db"))
    assert "small" in shown.stdout


def test_low_frame_rate_is_said(tmp_path: Path) -> None:
    video = tmp_path / "slow.mp4"
    write_video(video, (f for k, f in enumerate(frames_of(pets().video)) if k % 10 == 0), 1.0)
    p = cli("index", str(video), "--db", str(tmp_path / "lib.db"))
    assert p.returncode == 0 and "low frame rate" in p.stderr


def test_hd_frames_far_apart_are_looked_at_larger(tmp_path: Path) -> None:
    """ADL-Rundle-6 (1920x1080) kept at 1 fps: each frame gets the detector time of ten, as a larger
    whole-frame input, and the report says so."""
    from bench.sequences import base_sequences

    video = tmp_path / "hd_1fps.mp4"
    adl = base_sequences()["adl"].video
    write_video(video, (f for k, f in enumerate(frames_of(adl)) if k % 30 == 0 and k < 240), 1.0)
    p = cli("index", str(video), "--db", str(tmp_path / "lib.db"))
    assert p.returncode == 0, p.stderr
    assert "whole frame at 1344x768 (larger: frames far apart)" in p.stderr, p.stderr


def test_a_stride_that_skips_seconds_gets_a_warning(tmp_path: Path) -> None:
    """``--stride 30`` on 10 fps footage runs the detector every 3 s: a sweep found it said nothing,
    even with a stride longer than the video (the detector then ran on its first frame only). The
    default sampling, and a short stride, are not warned of."""
    video = tmp_path / "short.mp4"
    write_video(video, (f for k, f in enumerate(frames_of(pets().video)) if k < 60), 10.0)
    far = cli("index", str(video), "--db", str(tmp_path / "far.db"), "--stride", "30")
    assert far.returncode == 0, far.stderr
    assert "warning: --stride 30 runs the detector only every 3.0 s of video" in far.stderr, far.stderr
    near = cli("index", str(video), "--db", str(tmp_path / "near.db"), "--stride", "5")
    assert near.returncode == 0 and "warning" not in near.stderr, near.stderr
    assert "[detector every 3.0 s: weaker search]" in cli("videos", "--db", str(tmp_path / "far.db")).stdout


def test_a_stride_of_one_on_slow_footage_is_not_blamed() -> None:
    """Snapshots 5 s apart indexed with --stride 1 were warned of as if the stride had spaced the
    detector's runs (a review): the footage's own rate is not a choice."""
    from pipeline.index_report import IndexReport

    assert IndexReport().warnings({"stride": 1, "dense_s": 5.0}) == {}
    assert list(IndexReport().warnings({"stride": 2, "dense_s": 10.0})) == ["detector every 10.0 s"]
