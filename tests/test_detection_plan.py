"""Where the detector looks: the whole frame for footage its input can show, close looks where people
are too small for it (a PETS09-S2L1 scene, people 41-66 px tall, inside a 1920x1080 frame)."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from models.boxes import iou_matrix
from pipeline.detection_plan import DetectionPlan, DetectionPlanConfig
from tests.conftest import load_gt, pets

ORIGIN = (800, 420)  # where the PETS frame sits in the 1080p frame


def in_hd(image: np.ndarray) -> np.ndarray:
    canvas = np.full((1080, 1920, 3), 90, np.uint8)
    canvas[ORIGIN[1] : ORIGIN[1] + 360, ORIGIN[0] : ORIGIN[0] + 480] = image
    return canvas


def truth(frame: int) -> np.ndarray:
    boxes = [b[frame] for b in load_gt(pets()).values() if frame in b]
    return np.array(boxes) + np.array([ORIGIN[0], ORIGIN[1], ORIGIN[0], ORIGIN[1]])


def found(dets, boxes: np.ndarray) -> int:
    strong = dets.xyxy[dets.score >= 0.5]
    return int((iou_matrix(boxes, strong).max(axis=1, initial=0) >= 0.5).sum()) if len(strong) else 0


def test_footage_the_whole_frame_shows_gets_no_close_looks(models) -> None:
    plan = DetectionPlan(DetectionPlanConfig(), models.detector, 480, 360)
    assert not plan.active and plan.base_shape == (320, 416)
    hd = DetectionPlan(DetectionPlanConfig(), models.detector, 1920, 1080)
    assert hd.active and hd.close_scale == pytest.approx(0.8)


def test_small_people_in_hd_are_found_by_close_looks(models, frame_of) -> None:
    plan = DetectionPlan(DetectionPlanConfig(), models.detector, 1920, 1080)
    frames = [in_hd(frame_of(pets().video, k)) for k in (100, 102)]
    base = models.detector.detect_at(frames[:1], plan.base_shape)[0]
    gt = truth(100)
    assert found(base, gt) <= 1  # 41-66 px people are 9-14 px at the 416-px input
    (first,) = plan.detect(frames[:1], [10.0], [100])
    assert plan.stats.surveys == 1 and found(first, gt) >= 0.7 * len(gt)
    (second,) = plan.detect(frames[1:], [10.2], [102])  # no survey now: motion looks find them
    assert plan.stats.surveys == 1 and plan.stats.close_looks >= 2
    assert found(second, truth(102)) >= 0.6 * len(truth(102))


def test_close_looks_wait_for_the_budget(models, frame_of) -> None:
    frames = [in_hd(frame_of(pets().video, k)) for k in (100, 102, 104)]
    poor = DetectionPlan(DetectionPlanConfig(budget=0.0, burst=0.0), models.detector, 1920, 1080)
    poor.detect(frames[:1], [10.0], [100])  # the first survey always runs
    poor.detect(frames[1:], [10.2, 10.4], [102, 104])
    assert poor.stats.surveys == 1 and poor.stats.postponed >= 1 and poor.stats.close_looks == 1


def test_plan_state_resumes_exactly(models, frame_of) -> None:
    config = DetectionPlanConfig()
    frames = [in_hd(frame_of(pets().video, k)) for k in (100, 103, 106)]
    a = DetectionPlan(config, models.detector, 1920, 1080)
    a.detect(frames[:1], [10.0], [100])
    b = DetectionPlan(config, models.detector, 1920, 1080)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    da = a.detect(frames[1:], [10.3, 10.6], [103, 106])
    db = b.detect(frames[1:], [10.3, 10.6], [103, 106])
    for x, y in zip(da, db):
        assert np.array_equal(x.xyxy, y.xyxy) and np.array_equal(x.score, y.score)


def test_surveys_back_off_while_they_find_nobody_new(models) -> None:
    config = replace(DetectionPlanConfig(), survey_min_s=1.0, budget=100.0)  # budget: not in the way
    plan = DetectionPlan(config, models.detector, 1920, 1080)
    empty = np.full((1080, 1920, 3), 90, np.uint8)
    for t in np.arange(0, 20, 0.5):
        plan.detect([empty], [float(t)], [int(t * 10)])
    assert plan.stats.surveys == 5  # at 0, 1, 3, 7 and 15 s: the gap doubles


def test_close_looks_add_only_people_too_small_for_the_whole_frame(models, frame_of) -> None:
    """In ADL-Rundle-6 (1080p) the whole-frame pass misses some tall people in a crowd that a closer
    look would find; they are left to it (a close look only adds people it cannot see at all)."""
    from bench.sequences import base_sequences

    image = frame_of(base_sequences()["adl"].video, 360)
    plan = DetectionPlan(DetectionPlanConfig(), models.detector, 1920, 1080)
    base = models.detector.detect_at([image], plan.base_shape)[0]
    (merged,) = plan.detect([image], [12.0], [360])  # the first frame: a survey of the whole frame
    assert plan.stats.surveys == 1
    new = merged[iou_matrix(merged.xyxy, base.xyxy).max(axis=1, initial=0) < 0.5] if len(base) else merged
    assert len(new) == 0 or (new.height * plan.base_scale < plan._tall_px).all()


def test_sparse_frames_are_looked_at_larger(models) -> None:
    """Footage whose frames are further apart than the dense detector interval (a 2 fps recorder:
    5 times) spends the time it saves on a larger base input, never above the frame's own size."""
    side = lambda plan: max(plan.base_shape)  # noqa: E731
    config = DetectionPlanConfig()
    assert side(DetectionPlan(config, models.detector, 1920, 1080, sparseness=1.0)) == 416
    two_fps = DetectionPlan(config, models.detector, 1920, 1080, sparseness=5.0)
    assert side(two_fps) == 960  # 416 * sqrt(5) = 930, rounded up to the stride: the area x5.3
    assert side(DetectionPlan(config, models.detector, 1920, 1080, sparseness=100.0)) == 1920
    assert side(DetectionPlan(config, models.detector, 480, 360, sparseness=5.0)) == 416  # x1.33 only
    assert side(DetectionPlan(config, models.detector, 640, 480, sparseness=5.0)) == 640  # x2.4
    assert side(DetectionPlan(config, models.detector, 1920, 1080, sparseness=1.5)) == 416  # x1.5
    off = replace(config, sparse_gain=0.0)
    assert side(DetectionPlan(off, models.detector, 1920, 1080, sparseness=5.0)) == 416
    assert two_fps.describe()["base_input"] == [960, 544] and two_fps.describe()["sparse_larger"]
    assert "sparse_larger" not in DetectionPlan(config, models.detector, 1920, 1080).describe()


def test_a_fixed_shape_detector_is_not_said_to_look_larger() -> None:
    """A detector exported at one input shape (640x640) runs every frame at it, sparse or not."""
    from models.detector import DetectorConfig, PersonDetector
    from tests.conftest import asset

    fixed = PersonDetector(asset("detector/yolov8n_dequant_fp32.onnx"), DetectorConfig())
    assert fixed.fixed_shape == (640, 640)
    plan = DetectionPlan(DetectionPlanConfig(), fixed, 1920, 1080, sparseness=10.0)
    assert plan.base_shape == (640, 640) and "sparse_larger" not in plan.describe()


def test_a_sparse_frame_finds_people_the_small_input_misses(models, frame_of) -> None:
    """ADL-Rundle-6 (1080p), a frame of a group walking: at a 1 fps recorder's larger input the base
    pass alone finds more of the people in the ground truth than at the dense rate's 416 px."""
    from bench.sequences import base_sequences, read_gt

    seq = base_sequences()["adl"]
    gt = read_gt(seq)
    counts = []
    for sparseness in (1.0, 10.0):
        plan = DetectionPlan(DetectionPlanConfig(), models.detector, 1920, 1080, sparseness)
        hits = 0
        for k in (60, 240, 420):
            base = models.detector.detect_at([frame_of(seq.video, k)], plan.base_shape)[0]
            hits += found(base, gt[gt[:, 0] == k][:, 2:6])
        counts.append(hits)
    assert counts[1] >= counts[0] + 3, counts


def test_a_weak_whole_frame_box_does_not_switch_close_looks_off(models, frame_of) -> None:
    """ADL-Rundle-6 at a third of its size in a 1080p frame (people 50-200 px): the 416-px pass puts
    only weak boxes (below the tracker's threshold) on most of the group; the survey finds them, so
    the close looks stay on for the frames after it instead of leaving them to a pass that cannot
    see them."""
    from bench.sequences import base_sequences

    def small(k: int) -> np.ndarray:
        canvas = np.full((1080, 1920, 3), 90, np.uint8)
        canvas[360:720, 640:1280] = cv2.resize(frame_of(base_sequences()["adl"].video, k), (640, 360))
        return canvas

    plan = DetectionPlan(DetectionPlanConfig(), models.detector, 1920, 1080)
    frames = [small(k) for k in (240, 243)]
    base = models.detector.detect_at(frames[:1], plan.base_shape)[0]
    strong = base.score >= plan.found_score
    assert strong.sum() <= 1 and (~strong).sum() >= 5  # the people are there, weakly
    (surveyed,) = plan.detect(frames[:1], [8.0], [240])
    assert plan.stats.surveys == 1 and (surveyed.score >= plan.found_score).sum() >= 5
    plan.detect(frames[1:], [8.1], [243])  # someone moved: a motion look, not the base pass alone
    assert plan.stats.surveys == 1 and plan.stats.close_looks >= 2
