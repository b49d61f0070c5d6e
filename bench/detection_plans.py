"""The indexer's detection (whole frame plus close looks, with a tracker following people) against the
whole frame alone, on frames with ground truth (used by ``bench.detection_recall``)."""

from __future__ import annotations

from collections.abc import Sequence

from models.loader import ModelSet
from pipeline.detection_plan import DetectionPlan, DetectionPlanConfig
from pipeline.tracking import ByteTracker, TrackerConfig


def plan_detections(models: ModelSet, samples: Sequence, conf: float, fps: float = 10.0) -> dict[str, list]:
    """{label: [found mask per sample]} for the whole frame at 416 px and for the detection plan,
    the samples being consecutive processed frames of one camera."""
    from bench.detection_recall import matched

    det = models.detector
    h, w = samples[0].image.shape[:2]
    plan = DetectionPlan(DetectionPlanConfig(), det, w, h)
    tracker = ByteTracker(TrackerConfig(), fps)
    whole, planned = [], []
    for k, s in enumerate(samples):
        base = det.detect_at([s.image], plan.base_shape)[0]
        (dets,) = plan.detect([s.image], [k / fps], [k], tracker)
        tracker.update(dets, k)
        whole.append(matched(base, s.truth, conf))
        planned.append(matched(dets, s.truth, conf))
    label = "indexer (close looks)" if plan.active else "indexer (= whole frame)"
    return {f"whole frame {plan.base_shape[1]}x{plan.base_shape[0]}": whole, label: planned}
