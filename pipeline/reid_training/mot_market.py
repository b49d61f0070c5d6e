"""A Market-1501 training layout cut from MOT ground truth (``gt/gt.txt`` + ``img1/`` frames), so
that any labelled tracking sequence becomes ReID training data: each (sequence, track id) is a
person, each sequence a camera. Used to build supervised sets from sequences that no evaluation uses.
"""

from __future__ import annotations

import configparser
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.reid_eval import DatasetError, read_image
from pipeline.reid_training.dataset import TRAIN_DIR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MotCropRules:
    """Which ground-truth boxes become training crops.

    min_height: boxes shorter than this (pixels) hold too little detail to learn from.
    min_visibility: MOT's visibility ratio; more occluded boxes show mostly someone else.
    every: keep every n-th frame of a track (consecutive frames of 25-30 fps video are near copies).
    """

    min_height: int = 50
    min_visibility: float = 0.5
    every: int = 1


def _frames_dir(seq: Path) -> tuple[Path, str]:
    ini = configparser.ConfigParser()
    ini.read(seq / "seqinfo.ini")
    s = ini["Sequence"] if ini.has_section("Sequence") else {}
    return seq / s.get("imDir", "img1"), s.get("imExt", ".jpg")


def write_market_from_mot(sequences: Sequence[Path], out: Path, rules: MotCropRules = MotCropRules()) -> int:
    """Write the crops of the sequences' pedestrians into ``out/bounding_box_train``; returns the
    number of crops. Person ids are numbered from 1 across sequences; camera = sequence (1-based)."""
    target = Path(out) / TRAIN_DIR
    target.mkdir(parents=True, exist_ok=True)
    pid_of: dict[tuple[int, int], int] = {}
    written = 0
    for cam, seq in enumerate(sequences, 1):
        gt = Path(seq) / "gt" / "gt.txt"
        if not gt.is_file():
            raise DatasetError(f"{seq} has no gt/gt.txt (MOT ground truth)")
        rows = np.loadtxt(gt, delimiter=",", ndmin=2)
        frames, ext = _frames_dir(Path(seq))
        keep = (rows[:, 6] == 1) & (rows[:, 7] == 1) & (rows[:, 8] >= rules.min_visibility)
        keep &= rows[:, 5] >= rules.min_height
        for frame in np.unique(rows[keep, 0]).astype(int):
            image_path = frames / f"{frame:06d}{ext}"
            if not image_path.is_file():
                continue
            image = read_image(image_path)
            for r in rows[keep & (rows[:, 0] == frame)]:
                tid = int(r[1])
                if (frame - 1) % rules.every:
                    continue
                pid = pid_of.setdefault((cam, tid), len(pid_of) + 1)
                x, y, w, h = r[2:6]
                x1, y1 = max(int(x), 0), max(int(y), 0)
                x2, y2 = min(int(x + w), image.shape[1]), min(int(y + h), image.shape[0])
                if x2 - x1 < 4 or y2 - y1 < 8:
                    continue
                name = f"{pid:04d}_c{cam}s1_{frame:06d}_00.jpg"
                cv2.imwrite(str(target / name), image[y1:y2, x1:x2])
                written += 1
    log.info("wrote %d crops of %d people to %s", written, len(pid_of), target)
    return written
