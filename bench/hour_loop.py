"""An hour of footage from the dev sequences (``loop-1h``), for the long-recording benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from bench.sequences import (
    Sequence,
    base_sequences,
    derived_files,
    frames_of,
    picked,
    read_gt,
    renumbered,
    write_gt,
    write_video,
)


def hour_loop(
    out: Path, minutes: float = 60.0, fps: float = 10.0, size: tuple[int, int] = (480, 360)
) -> Sequence:
    """PETS09-S2L1, TUD-Campus and ADL-Rundle-6 one after the other (each resampled to ``fps`` and
    letterboxed to ``size``) until ``minutes`` are filled; identities of loop k are offset by k * 1000."""
    name = f"loop-{minutes:g}min"
    video, gt, missing = derived_files(out, name)
    if not missing:
        return Sequence(name, video, gt, fps, 1.0, "loop")
    parts = []
    for seq in base_sequences().values():
        images = list(frames_of(seq.video))
        keep = picked(seq.fps, fps, len(images))
        h, w = images[0].shape[:2]
        s = min(size[0] / w, size[1] / h)
        sw, sh = round(w * s), round(h * s)
        x0, y0 = (size[0] - sw) // 2, (size[1] - sh) // 2
        boxed = []
        for f in keep:
            canvas = np.zeros((size[1], size[0], 3), np.uint8)
            canvas[y0 : y0 + sh, x0 : x0 + sw] = cv2.resize(images[f], (sw, sh), interpolation=cv2.INTER_AREA)
            boxed.append(canvas)
        rows = renumbered(read_gt(seq), keep)
        rows[:, 2:6] = rows[:, 2:6] * s + np.array([x0, y0, x0, y0])
        rows[:, 1] += {"pets": 0, "tud": 100, "adl": 200}[seq.source]
        parts.append((boxed, rows))
    total = round(minutes * 60 * fps)
    gt_rows: list[np.ndarray] = []

    def frames() -> Iterator[np.ndarray]:
        n, loop = 0, 0
        while n < total:
            for boxed, rows in parts:
                r = rows.copy()
                r[:, 0] += n
                r[:, 1] += loop * 1000
                gt_rows.append(r[r[:, 0] < total])
                for img in boxed:
                    if n >= total:
                        return
                    yield img
                    n += 1
            loop += 1

    write_video(video, frames(), fps, crf=23)
    write_gt(np.concatenate(gt_rows), gt)
    return Sequence(name, video, gt, fps, 1.0, "loop")
