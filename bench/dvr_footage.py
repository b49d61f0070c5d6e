"""Footage as a DVR records analogue cameras.

- ``-halfd1``, ``-2cif``, ``-d1``: the picture stored squeezed and the stream marked with its sample
  aspect ratio: Half D1 (half the width, pixels twice as wide as high), 2CIF (half the height, pixels
  twice as high as wide), D1 as a DVR digitises a 4:3 picture (1.1x across, 1.2x down: 480x360 ->
  528x432, pixels 12:11). Ground truth in the stored pixels.
- ``-woven`` and ``-woven-flagged``: interlaced, two fields per frame: frame i holds the even lines of
  source frame 2i and the odd lines of frame 2i + 1 (fields a source frame apart), at half the rate;
  the stream marked interlaced or, as many DVRs write it, not. Ground truth of frames 2i.

Search them with the source's query photos (``bench.search_quality`` does for derived sequences).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from bench.sequences import Sequence, derived_files, frames_of, read_gt, renumber_gt, write_gt, write_video

SHAPES = {  # (across, down, sample aspect ratio of the stored pixels)
    "halfd1": (0.5, 1.0, Fraction(2)),
    "2cif": (1.0, 0.5, Fraction(1, 2)),
    "d1": (1.1, 1.2, Fraction(12, 11)),
}


def squeezed(seq: Sequence, out: Path, kind: str) -> Sequence:
    fx, fy, sar = SHAPES[kind]
    name = f"{seq.name}-{kind}"
    video, gt, missing = derived_files(out, name)
    if missing:
        images = list(frames_of(seq.video))
        h, w = images[0].shape[:2]
        size = (round(w * fx) // 2 * 2, round(h * fy) // 2 * 2)
        write_video(
            video, (cv2.resize(img, size, interpolation=cv2.INTER_AREA) for img in images), seq.fps, sar=sar
        )
        rows = read_gt(seq)
        rows[:, [2, 4]] *= size[0] / w
        rows[:, [3, 5]] *= size[1] / h
        write_gt(rows, gt)
    return Sequence(name, video, gt, seq.fps, 1.0, seq.source)


def woven(seq: Sequence, out: Path, flagged: bool) -> Sequence:
    name = f"{seq.name}-woven" + ("-flagged" if flagged else "")
    video, gt, missing = derived_files(out, name)
    if missing:
        images = list(frames_of(seq.video))
        keep = list(range(0, len(images) - 1, 2))
        write_video(video, (_weave(images[k], images[k + 1]) for k in keep), seq.fps / 2, interlaced=flagged)
        renumber_gt(seq, keep, gt)
    return Sequence(name, video, gt, seq.fps / 2, 1.0, seq.source)


def _weave(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    frame = first.copy()
    frame[1::2] = second[1::2]
    return frame
