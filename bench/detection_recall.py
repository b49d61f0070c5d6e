"""Person detection recall on frames with ground truth: the detector's recall against the height a person
has at the network input (which sets the rule for choosing the input), and the indexer's recall by the
person's height in the frame.

    python -m bench.detection_recall --curve          # recall vs height at the network input
    python -m bench.detection_recall                  # recall by height band, indexer plan vs whole frame

Frames: the 39 MOT17 sample frames (1920x1080 and 640x480, many distant people; ground truth with
visibility >= 0.5), and frames spread through PETS09-S2L1, TUD-Campus, ADL-Rundle-6 and the derived
small-people-in-1080p sequences (bench/sequences.py). A person is found when a detection with
confidence >= ``--conf`` overlaps their box at IoU >= 0.5 (one-to-one, best first).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from bench.sequences import ASSETS, read_gt, sequence
from models.boxes import iou_matrix
from models.detections import Detections
from models.loader import ModelSet

BANDS = ((0, 50), (50, 100), (100, 200), (200, 10_000))
INPUT_BINS = (0, 12, 16, 20, 24, 32, 40, 48, 64, 96, 10_000)


@dataclass
class Sample:
    name: str
    image: np.ndarray
    truth: np.ndarray  # (N, 4) xyxy


def mot17_samples() -> Iterator[tuple[str, list[Sample]]]:
    """Each MOT17 sample sequence as consecutive frames with their visible pedestrians."""
    for seq_dir in sorted((ASSETS / "mot17_mini").iterdir()):
        gt = np.loadtxt(seq_dir / "gt" / "gt.txt", delimiter=",", ndmin=2)
        gt = gt[(gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.5)]
        frames = []
        for img in sorted((seq_dir / "img1").glob("*.jpg")):
            rows = gt[gt[:, 0] == int(img.stem)]
            xyxy = np.stack([rows[:, 2], rows[:, 3], rows[:, 2] + rows[:, 4], rows[:, 3] + rows[:, 5]], 1)
            frames.append(Sample(f"{seq_dir.name}/{img.name}", cv2.imread(str(img)), xyxy))
        yield seq_dir.name, frames


def video_samples(key: str, every: int, limit: int = 10_000) -> tuple[str, list[Sample]]:
    """Every ``every``-th frame of a sequence (at most ``limit``), with its ground truth."""
    seq = sequence(key)
    gt = read_gt(seq)
    cap = cv2.VideoCapture(str(seq.video))
    out, k = [], 0
    while len(out) < limit:
        ok, img = cap.read()
        if not ok:
            break
        if k % every == 0:
            out.append(Sample(f"{seq.name}/{k}", img, gt[gt[:, 0] == k][:, 2:6]))
        k += 1
    cap.release()
    return seq.name, out


def matched(dets: Detections, truth: np.ndarray, conf: float) -> np.ndarray:
    """Which ground-truth boxes are found (greedy one-to-one matching at IoU >= 0.5)."""
    found = np.zeros(len(truth), bool)
    d = dets[dets.score >= conf]
    if not len(d) or not len(truth):
        return found
    iou = iou_matrix(truth, d.xyxy)
    used = np.zeros(len(d), bool)
    for t, j in sorted(((t, j) for t in range(len(truth)) for j in range(len(d))), key=lambda p: -iou[p]):
        if iou[t, j] < 0.5:
            break
        if not found[t] and not used[j]:
            found[t], used[j] = True, True
    return found


def curve(models: ModelSet, groups: list[tuple[str, list[Sample]]], conf: float) -> None:
    det = models.detector
    sizes = (256, 320, 416, 640, 960, 1280, 1920)
    heights, hits = [], []
    for _, samples in groups:
        for s in samples:
            h, w = s.image.shape[:2]
            for size in sizes:
                if size > max(h, w) * 1.01 and size != sizes[0]:
                    continue
                dets = det.detect([s.image], input_size=size)[0]
                scale = det.network_shape(h, w, size)[1] / w
                heights.append((s.truth[:, 3] - s.truth[:, 1]) * scale)
                hits.append(matched(dets, s.truth, conf))
    hh, ok = np.concatenate(heights), np.concatenate(hits)
    print(f"recall by person height at the network input (conf >= {conf}):")
    for lo, hi in itertools.pairwise(INPUT_BINS):
        sel = (hh >= lo) & (hh < hi)
        if sel.any():
            print(
                f"  {lo:>4}-{hi if hi < 10_000 else '':<4} px  n={sel.sum():5d}  recall={ok[sel].mean():.3f}"
            )


def band_line(label: str, heights: np.ndarray, ok: np.ndarray) -> str:
    parts = []
    for lo, hi in BANDS:
        sel = (heights >= lo) & (heights < hi)
        name = f"<{hi}" if lo == 0 else (f">{lo}" if hi >= 10_000 else f"{lo}-{hi}")
        parts.append(f"{name}: {ok[sel].mean():.3f} ({sel.sum()})" if sel.any() else f"{name}: -")
    return f"  {label:28s} " + "  ".join(parts) + f"  all: {ok.mean():.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--curve", action="store_true")
    ap.add_argument(
        "--conf", type=float, default=0.5, help="least confidence (the tracker's new-track score)"
    )
    ap.add_argument("--every", type=int, default=20, help="video frames between two sampled frames")
    a = ap.parse_args()
    models = ModelSet()
    groups = list(mot17_samples())
    videos = ["pets", "tud", "adl", "pets-in1080p@1", "tud-in1080p@0.5", "adl-in1080p@0.33"]
    if a.curve:
        groups += [video_samples(k, a.every if k != "tud" else 5) for k in videos]
        curve(models, groups, a.conf)
        return 0
    from bench.detection_plans import plan_detections

    # the indexer's cadence on consecutive frames (every 0.1 s of video), at most 300 frames each
    groups += [video_samples(k, max(1, round(sequence(k).fps * 0.1)), 300) for k in videos]
    totals: dict[str, list] = {}
    for name, samples in groups:
        print(name)
        heights = np.concatenate([s.truth[:, 3] - s.truth[:, 1] for s in samples])
        for label, found in plan_detections(models, samples, a.conf).items():
            print(band_line(label, heights, np.concatenate(found)))
            kind = "indexer" if label.startswith("indexer") else "whole frame"
            totals.setdefault(kind, [[], []])
            totals[kind][0].append(heights)
            totals[kind][1].append(np.concatenate(found))
    print("all frames")
    for kind, (hs, oks) in totals.items():
        print(band_line(kind, np.concatenate(hs), np.concatenate(oks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
