"""How well the camera's motion is measured: on the moving views of ``bench.moving_views``, whose true
motion is known, every pair of frames ``--every-s`` apart is estimated as indexing does
(``pipeline.camera_motion``, the people's ground-truth boxes standing in for the detections) and the
estimate's shift is compared with the view's.

    python -m bench.camera_motion [--sequences pets-shake adl-shake ...] [--every-s 0.1 0.3]

Per sequence and spacing: frames estimated, frames with no estimate although the view moved more
than 3 px, estimates off by more than 5 px, and the median and 90th percentile of the error (full
frame pixels; a missing estimate counts as the whole shift). The fixed sequences (``pets``, ``tud``,
``adl``) should give no estimate at all.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench.moving_views import PAN_WINDOW, view_path
from bench.sequences import base_sequences, frames_of, read_gt, sequence
from pipeline.camera_motion import CameraMotion, CameraMotionConfig
from pipeline.motion import MotionConfig, gray_thumbnail

DEFAULT = (
    "pets-pan",
    "pets-ptz",
    "pets-shake",
    "tud-shake",
    "adl-pan",
    "adl-ptz",
    "adl-shake",
    "pets",
    "adl",
)


def measure(key: str, every_s: float) -> str:
    seq = sequence(key)
    kind = key.rsplit("-", 1)[-1] if "-" in key else "still"
    frames = list(frames_of(seq.video))
    gt = read_gt(seq)
    h, w = frames[0].shape[:2]
    if kind == "still":
        x0 = y0 = np.zeros(len(frames))
    else:
        src = next(frames_of(base_sequences()[seq.source].video)).shape[:2]
        assert (h, w) == (round(src[0] * PAN_WINDOW) // 2 * 2, round(src[1] * PAN_WINDOW) // 2 * 2)
        sx, sy = view_path(kind, np.arange(len(frames)) / seq.fps)
        x0, y0 = np.round(sx * (src[1] - w)), np.round(sy * (src[0] - h))
    step = max(1, round(every_s * seq.fps))
    camera = CameraMotion(CameraMotionConfig(), w, h)
    errors, estimated, missed = [], 0, 0
    for k in range(0, len(frames), step):
        people = gt[gt[:, 0] == k - step][:, 2:6] if k else None
        affine = camera.step(gray_thumbnail(frames[k], MotionConfig().width), people)
        if not k:
            continue
        true = np.array([x0[k - step] - x0[k], y0[k - step] - y0[k]])
        if affine is None:
            missed += float(np.abs(true).max()) > 3
            errors.append(float(np.abs(true).max()))
            continue
        estimated += 1
        errors.append(float(np.abs(affine[:, 2] - true).max()))
    e = np.array(errors)
    return (
        f"{seq.name:22s} every {every_s:g} s: {len(e)} pairs, {estimated} estimated, {missed} missed "
        f"(moved > 3 px), {int((e > 5).sum())} off by > 5 px, error median {np.median(e):.2f} px, "
        f"p90 {np.percentile(e, 90):.2f} px"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", nargs="+", default=list(DEFAULT))
    ap.add_argument("--every-s", nargs="+", type=float, default=[0.1, 0.3])
    a = ap.parse_args()
    for key in a.sequences:
        for every in a.every_s:
            print(measure(key, every), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
