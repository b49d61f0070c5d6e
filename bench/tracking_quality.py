"""Tracking quality (MOTA, IDF1 with py-motmetrics) of Spotter's index on MOT15 ground truth.

Indexes PETS09-S2L1, TUD-Campus and ADL-Rundle-6 (or other sequences of ``bench.sequences``) with
the default settings (or reads an existing --db) and scores the stored track paths against the ground
truth on every frame, boxes interpolated between the frames where the detector ran (as the player
draws them). ``--camera-motion both`` indexes each sequence without and with camera motion
compensation (``pipeline.camera_motion``), side by side.

    python -m bench.tracking_quality [--db existing.db] [--stride N] [--sequences pets tud-pan ...]
                                     [--camera-motion on|off|both]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import motmetrics as mm
import numpy as np

from bench.scratch import scratch_dir
from bench.sequences import sequence
from pipeline.storage import Library
from pipeline.tracking.matching import iou_matrix
from pipeline.types import box_at

BASE = ("pets", "tud", "adl")


def load_gt_frames(gt: Path, scale: float) -> dict[int, list[tuple[int, np.ndarray]]]:
    """{video frame (0-based): [(identity, xywh)]} in video pixels."""
    out: dict[int, list[tuple[int, np.ndarray]]] = {}
    for row in np.loadtxt(gt, delimiter=",", ndmin=2):
        out.setdefault(int(row[0]) - 1, []).append((int(row[1]), row[2:6] * scale))
    return out


def iou_distances(gt_xywh: np.ndarray, hyp_xywh: np.ndarray, min_iou: float = 0.5) -> np.ndarray:
    """1 - IoU between gt and hypothesis boxes, NaN (no match allowed) below ``min_iou``.

    (motmetrics' own iou_matrix calls np.asfarray, which NumPy 2 removed.)"""

    def xyxy(b: np.ndarray) -> np.ndarray:
        b = b.reshape(-1, 4)
        return np.column_stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]])

    iou = iou_matrix(xyxy(gt_xywh), xyxy(hyp_xywh))
    return np.where(iou >= min_iou, 1.0 - iou, np.nan)


def mot_metrics(
    library: Library, video: Path, gt: Path, scale: float, max_gap_s: float = 1.0
) -> dict[str, float]:
    """MOTA, IDF1 and friends of a video's stored tracks on every frame of the ground truth.

    Between the frames where the detector ran, a track's box is interpolated (as the player draws
    it) across gaps of up to ``max_gap_s``; longer gaps (occlusions) count as misses."""
    vid = library.video_id(video)
    if vid is None:
        raise ValueError(f"{video} is not indexed")
    tracks = library.video_tracks(vid)
    fps = tracks[0].fps if tracks else 25.0
    hyp: dict[int, list[tuple[int, np.ndarray]]] = {}
    for t in tracks:
        for f in range(t.first_frame, t.last_frame + 1):
            box = box_at(t.path, f, max_gap=round(max_gap_s * fps))
            if box is not None:
                hyp.setdefault(f, []).append(
                    (t.track_id, np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]]))
                )
    gt_frames = load_gt_frames(gt, scale)
    acc = mm.MOTAccumulator(auto_id=True)
    for f in range(max(gt_frames) + 1):
        g = gt_frames.get(f, [])
        h = hyp.get(f, [])
        dist = iou_distances(np.array([b for _, b in g]), np.array([b for _, b in h]))
        acc.update([i for i, _ in g], [i for i, _ in h], dist)
    summary = mm.metrics.create().compute(
        acc, metrics=["mota", "idf1", "num_switches", "precision", "recall", "num_frames"], name="x"
    )
    row = summary.loc["x"]
    return {k: float(row[k]) for k in summary.columns}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="use this already-indexed library instead of indexing")
    ap.add_argument("--stride", type=int, default=None, help="detector stride (default: from detect_fps)")
    ap.add_argument("--sequences", nargs="+", default=list(BASE), help="keys of bench.sequences")
    ap.add_argument("--camera-motion", choices=("on", "off", "both"), default="on")
    a = ap.parse_args()
    sequences = [sequence(k) for k in a.sequences]
    variants = {"on": [True], "off": [False], "both": [False, True]}[a.camera_motion]
    libraries: dict[bool, Library] = {}
    if a.db:
        libraries = {variants[-1]: Library(a.db)}
    else:
        from models.loader import ModelSet
        from pipeline.camera_motion import CameraMotionConfig
        from pipeline.indexer import IndexConfig, index_video

        work = scratch_dir("trackq-")
        models = ModelSet()
        for on in variants:
            library = libraries[on] = Library(work / f"lib_cmc_{'on' if on else 'off'}.db")
            config = replace(IndexConfig(), stride=a.stride, camera_motion=CameraMotionConfig(enabled=on))
            for seq in sequences:
                t0 = time.perf_counter()
                for _ in index_video(seq.video, library, models, config):
                    pass
                took = time.perf_counter() - t0
                print(f"{seq.name} (camera motion {'on' if on else 'off'}): indexed in {took:.1f} s")
    for seq in sequences:
        for on, library in libraries.items():
            m = mot_metrics(library, seq.video, seq.gt, seq.scale)
            print(
                f"{seq.name}{' (camera motion off)' if not on else ''}: MOTA={m['mota']:.3f} "
                f"IDF1={m['idf1']:.3f} ID-switches={int(m['num_switches'])} precision={m['precision']:.3f} "
                f"recall={m['recall']:.3f} frames={int(m['num_frames'])}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
