"""The retrieval bench averages the samples of one lower frame rate and sets them beside the full rate
(one sample of 1-2 fps footage moves by up to 0.18 F1 with the frame it starts at), indexes with
the IndexConfig changes it is given, and judges a subsampled copy on the full rate's people."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.retrieval import min_frames
from bench.retrieval_sweep import EVALUATOR_MIN_FRAMES, load_evaluator, queries
from bench.search_quality import rate_summary
from bench.sequences import Sequence, base_sequences, is_subsampled, write_gt, write_video


def test_samples_of_one_rate_are_averaged_beside_the_full_rate() -> None:
    report = {
        "pets": {"f1": 0.9},
        "pets@1fps": {"f1": 0.8},
        "pets@1fps+3": {"f1": 0.84},
        "pets@1fps+7": {"f1": 0.77},
        "pets@2fps-images": {"f1": 0.6},
        "adl@2fps+5": {"f1": 0.7},
        "adl@5fps": {"error": "cannot index"},
        "tud-in1080p@0.5": {"f1": 0.3},  # a scale, not a frame rate
    }
    lines = {line.split()[0]: line for line in rate_summary(report)}
    assert set(lines) == {"pets@1fps", "pets@2fps-images", "adl@2fps"}
    mean = (0.8 + 0.84 + 0.77) / 3
    assert f"F1 mean {mean:.3f} over 3 sample(s)" in lines["pets@1fps"]
    assert f"difference {mean - 0.9:+.3f}" in lines["pets@1fps"]
    assert "full rate 0.900" in lines["pets@2fps-images"]
    assert "full rate" not in lines["adl@2fps"]  # adl itself was not run
    assert float(lines["adl@2fps"].split()[3]) == pytest.approx(0.7)


def test_index_config_overrides_reach_nested_configs_and_refuse_unknown_fields() -> None:
    from bench.search_quality import with_overrides
    from pipeline.indexer import IndexConfig

    base = IndexConfig()
    changed = with_overrides(base, {"min_gap_s": 0.2, "plan": {"budget": 0.5}})
    assert changed.min_gap_s == 0.2 and changed.plan.budget == 0.5
    assert changed.max_gap_s == base.max_gap_s and changed.plan.tile_px == base.plan.tile_px
    with pytest.raises(ValueError, match="no field 'budgt'"):
        with_overrides(base, {"plan": {"budgt": 0.5}})
    with pytest.raises(ValueError):  # the config's own range check still applies
        with_overrides(base, {"min_gap_s": -1.0})


def test_a_subsampled_copy_needs_the_same_time_on_screen_as_the_full_rate() -> None:
    pets = base_sequences()["pets"]  # 10 fps
    assert min_frames(pets) == EVALUATOR_MIN_FRAMES == 20
    at = {fps: Sequence(f"p@{fps}", pets.video, pets.gt, fps, 1.0, "pets") for fps in (1, 2, 5, 10)}
    assert [min_frames(at[f]) for f in (1, 2, 5, 10)] == [2, 4, 10, 20]
    adl_1fps = Sequence("a@1", pets.video, pets.gt, 1.0, 1.0, "adl")  # 30 fps source: 0.67 frames
    assert min_frames(adl_1fps) == 1
    night = Sequence("p-night", pets.video, pets.gt, 10.0, 1.0, "pets")  # same rate, not subsampled
    assert min_frames(night) == 20
    assert is_subsampled(at[1]) and not is_subsampled(night) and not is_subsampled(pets)


def test_snapshots_are_not_a_subsampled_video(tmp_path: Path) -> None:
    pets = base_sequences()["pets"]
    assert not is_subsampled(Sequence("p@2fps-images", tmp_path, pets.gt, 2.0, 1.0, "pets"))


def test_query_photos_of_named_people_are_cut_from_the_footage_whatever_their_frame_count(
    tmp_path: Path,
) -> None:
    """``only`` (the full rate's people) queries a person seen in 3 frames of a subsampled copy, from
    that copy's own frames; without it the evaluator's 20-frame minimum applies."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), np.uint8) for _ in range(25)]
    for f in frames:
        f[20:100, 10:40] = (0, 0, 255)  # person 1, seen in every frame
    for f in frames[:3]:
        f[10:110, 100:140] = (255, 0, 0)  # person 2, seen in 3 frames, tallest in frame 1
    video = tmp_path / "clip.mp4"
    write_video(video, iter(frames), 2.0, crf=10)
    rows = [[k, 1, 10, 20, 40, 100] for k in range(25)]
    rows += [[k, 2, 100, 10 + k, 140, 110 - k] for k in (1, 0, 2)]  # frame 0-based; x1 y1 x2 y2
    write_gt(np.array(rows, float), tmp_path / "gt.txt")
    seq = Sequence("clip", video, tmp_path / "gt.txt", 2.0, 1.0, "pets")
    ev = load_evaluator()
    assert set(queries(ev, seq, tmp_path)) == {1}
    photos = queries(ev, seq, tmp_path, only={1, 2})
    assert set(photos) == {1, 2}
    crop = cv2.imread(str(photos[2]))
    assert crop.shape[:2] == (100, 40)  # frame 0's box: the tallest of the three
    assert np.abs(crop.astype(int) - (255, 0, 0)).mean() < 20  # cut from the footage's own frame
