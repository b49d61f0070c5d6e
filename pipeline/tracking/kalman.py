"""Constant-velocity Kalman filter over box centre, aspect ratio and height (ByteTrack's ``xyah`` space).

State: ``[cx, cy, a, h, vcx, vcy, va, vh]`` with velocities in units per video frame, so a tracker that
runs the detector every k-th frame predicts with ``dt = k``. Noise scales with the box height, as in
SORT/DeepSORT/ByteTrack, so small and large people are tracked alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NDIM = 4


@dataclass(frozen=True)
class KalmanConfig:
    """Noise model. Larger ``std_position`` trusts detections more than the motion model;
    larger ``std_velocity`` lets predicted speed change faster (erratic walkers) at the cost of
    noisier predictions across skipped frames.

    ``std_velocity`` is per frame of a video at ``reference_fps`` (ByteTrack's values, tuned on
    MOT17, mostly 30 fps). Velocities are in units per *video* frame, so at a lower frame rate a walker
    moves proportionally more per frame: the velocity noise is scaled by ``reference_fps / fps``
    (with ``max_only`` only upwards, leaving videos at or above ``reference_fps`` as they were).
    Without this a 1 fps video gets a velocity prior 30 times too narrow: the filter never learns
    that people move and predicts them where they were last seen. ``reference_fps`` 0: no scaling.
    Only the centre's velocity is scaled: a box height changes little in a second, and from few,
    distant, noisy boxes a faster-learned height velocity mostly extrapolates detector jitter
    (measured: scaling it too lost PETS F1 at 1-2 fps).
    """

    std_position: float = 1.0 / 20
    std_velocity: float = 1.0 / 160
    reference_fps: float = 30.0
    max_only: bool = True


def xyxy_to_xyah(xyxy: np.ndarray) -> np.ndarray:
    """(N, 4) corner boxes -> (N, 4) centre x, centre y, width/height, height."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    w = xyxy[:, 2] - xyxy[:, 0]
    h = np.maximum(xyxy[:, 3] - xyxy[:, 1], 1e-6)
    return np.stack([xyxy[:, 0] + w / 2, xyxy[:, 1] + h / 2, w / h, h], axis=1)


def xyah_to_xyxy(xyah: np.ndarray) -> np.ndarray:
    """Inverse of :func:`xyxy_to_xyah`."""
    xyah = np.asarray(xyah, dtype=np.float64).reshape(-1, 4)
    w = xyah[:, 2] * xyah[:, 3]
    h = xyah[:, 3]
    return np.stack([xyah[:, 0] - w / 2, xyah[:, 1] - h / 2, xyah[:, 0] + w / 2, xyah[:, 1] + h / 2], axis=1)


class KalmanFilter:
    """Batch-friendly Kalman filter for boxes; holds only its configuration (no track state)."""

    def __init__(self, config: KalmanConfig = KalmanConfig(), fps: float | None = None):
        self.config = config
        scale = 1.0
        if config.reference_fps and fps and fps > 0:
            scale = config.reference_fps / fps
            if config.max_only:
                scale = max(scale, 1.0)
        self.velocity_scale = scale
        self._update_mat = np.eye(NDIM, 2 * NDIM)

    def _pos_std(self, h: np.ndarray) -> np.ndarray:
        s = self.config.std_position * h
        return np.stack([s, s, np.full_like(h, 1e-2), s], axis=-1)

    def _vel_std(self, h: np.ndarray) -> np.ndarray:
        s = self.config.std_velocity * h
        m = s * self.velocity_scale  # walking: scales with the time a frame spans
        return np.stack([m, m, np.full_like(h, 1e-5), s], axis=-1)

    def initiate(self, xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean (8,) and covariance (8, 8) of a new track from one measurement (4,)."""
        mean = np.r_[xyah, np.zeros(NDIM)]
        h = np.array(xyah[3], dtype=np.float64)
        std = np.r_[2 * self._pos_std(h), 10 * self._vel_std(h)]
        return mean, np.diag(std**2)

    def predict(self, mean: np.ndarray, cov: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predict N tracks ``dt`` frames ahead (each its own dt); mean (N, 8), cov (N, 8, 8)."""
        dt = np.asarray(dt, dtype=np.float64).reshape(-1)
        n = len(mean)
        motion = np.tile(np.eye(2 * NDIM), (n, 1, 1))
        motion[:, range(NDIM), range(NDIM, 2 * NDIM)] = dt[:, None]
        h = mean[:, 3]
        std = np.concatenate([self._pos_std(h), self._vel_std(h)], axis=1)
        q = np.einsum("ni,ij->nij", std**2 * dt[:, None], np.eye(2 * NDIM))
        mean = np.einsum("nij,nj->ni", motion, mean)
        cov = motion @ cov @ motion.transpose(0, 2, 1) + q
        return mean, cov

    def update(self, mean: np.ndarray, cov: np.ndarray, xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct one track's (8,) mean and (8, 8) covariance with a measurement (4,)."""
        r = np.diag(self._pos_std(np.array(mean[3])) ** 2)
        proj_mean = self._update_mat @ mean
        proj_cov = self._update_mat @ cov @ self._update_mat.T + r
        gain = np.linalg.solve(proj_cov, (cov @ self._update_mat.T).T).T
        mean = mean + gain @ (xyah - proj_mean)
        cov = cov - gain @ proj_cov @ gain.T
        return mean, cov


def warp(mean: np.ndarray, cov: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States (N, 8) and covariances (N, 8, 8) moved by the camera's motion, a 2x3 similarity
    (``pipeline.camera_motion``): centres mapped, velocities turned and scaled with the view, heights
    scaled by its zoom, aspect ratios kept (BoT-SORT's camera motion compensation)."""
    linear = np.asarray(affine, np.float64)[:, :2]
    zoom = float(np.sqrt(abs(np.linalg.det(linear))))
    m = np.eye(2 * NDIM)
    m[0:2, 0:2] = m[4:6, 4:6] = linear
    m[3, 3] = m[7, 7] = zoom
    mean = mean @ m.T
    mean[:, :2] += np.asarray(affine, np.float64)[:, 2]
    return mean, m @ cov @ m.T
