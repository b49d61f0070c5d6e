"""Footage from a moving camera, derived from the shared sequences (see :mod:`bench.sequences`): a view
of two thirds of the scene moving over it as a PTZ camera or a hand-held one does, with the ground
truth moved along (``-pan``, ``-ptz``, ``-shake``), and the same view held still (``-crop``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.sequences import Sequence, derived_files, frames_of, read_gt, write_gt, write_video

PAN_WINDOW = 2 / 3  # a moving view's width and height, as a fraction of the source's
MIN_VISIBLE = 0.5  # a person less than half inside the view is not in its ground truth


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def view_path(kind: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a moving view is at times ``t`` (s): (x, y), each 0..1 of the room the source leaves it.
    ``pan``: across the scene and back every 8 s, smoothly (a PTZ camera on patrol); ``ptz``: held
    3 s, then moved to the other side in 1.5 s, and back (a PTZ camera's preset tour: starts and stops
    the tracker's motion model cannot foresee); ``shake``: a slow drift with a hand's tremor on it
    (a hand-held phone, a body-worn camera); ``crop``: still at the centre."""
    if kind == "pan":
        x = (1 - np.cos(2 * np.pi * t / 8.0)) / 2
    elif kind == "ptz":
        phase = np.mod(t, 9.0)
        x = np.where(phase < 4.5, _smoothstep((phase - 3.0) / 1.5), 1 - _smoothstep((phase - 7.5) / 1.5))
    elif kind == "shake":
        x = 0.5 + 0.3 * np.sin(2 * np.pi * 0.15 * t) + 0.1 * np.sin(2 * np.pi * 1.3 * t + 1.0)
        x += 0.05 * np.sin(2 * np.pi * 2.9 * t + 2.0)
        y = 0.5 + 0.2 * np.sin(2 * np.pi * 0.11 * t + 0.5) + 0.1 * np.sin(2 * np.pi * 1.7 * t + 0.3)
        return np.clip(x, 0, 1), np.clip(y, 0, 1)
    else:
        x = np.full(len(t), 0.5)
    return x, 0.5 + 0.5 * (x - 0.5)  # a little tilt with the pan


def in_window(seq: Sequence, out: Path, kind: str) -> Sequence:
    """A view of ``PAN_WINDOW`` of the source's size moving over it as :func:`view_path` says
    (``-pan``, ``-ptz``, ``-shake``), or held still at the centre (``-crop``: the same view without
    the camera's motion, to compare with)."""
    name = f"{seq.name}-{kind}"
    video, gt, missing = derived_files(out, name)
    if missing:
        images = list(frames_of(seq.video))
        h, w = images[0].shape[:2]
        ww, wh = round(w * PAN_WINDOW) // 2 * 2, round(h * PAN_WINDOW) // 2 * 2
        sx, sy = view_path(kind, np.arange(len(images)) / seq.fps)
        x0, y0 = np.round(sx * (w - ww)).astype(int), np.round(sy * (h - wh)).astype(int)
        write_video(video, (img[y : y + wh, x : x + ww] for img, x, y in zip(images, x0, y0)), seq.fps)
        rows = read_gt(seq)
        f = rows[:, 0].astype(int)
        shifted = rows[:, 2:6] - np.stack([x0[f], y0[f], x0[f], y0[f]], axis=1)
        clipped = np.clip(shifted, 0, [ww, wh, ww, wh])
        area = lambda b: np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)  # noqa: E731
        keep = area(clipped) >= MIN_VISIBLE * area(shifted)
        rows[:, 2:6] = clipped
        write_gt(rows[keep], gt)
    return Sequence(name, video, gt, seq.fps, 1.0, seq.source)
