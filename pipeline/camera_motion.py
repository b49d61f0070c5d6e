"""How the camera moved between two processed frames (a PTZ camera on patrol, a hand-held phone).

The tracker predicts where each person will be in image coordinates. When the camera pans, tilts or
zooms, everyone moves in the image by the camera's motion on top of their own walk: predictions miss,
people are handed to the wrong track or cut into fragments. Following BoT-SORT's camera motion
compensation (Aharon et al. 2022), the image motion of the background between two processed frames
is estimated as a similarity transform (shift, rotation, zoom) and the tracker moves its tracks by it
before matching (``ByteTracker.update(camera=...)``).

The estimate: corners of the previous frame's small grey copy (the one the motion gate already made,
so no extra pass over the full frame), outside the boxes of the people detected in it (they move on
their own), followed into the current frame by pyramidal Lucas-Kanade optical flow (starting from the
whole view's shift by phase correlation, which holds for large shifts), and a similarity
fitted to them by RANSAC (OpenCV), which sets aside corners on anyone the detector missed. A fit from
too few corners, one that explains too few of them, or one that explains hardly more of them than
a still camera would is no estimate; a shift below ``min_shift_px`` is taken for a still camera
(sensor and codec noise), so footage from a fixed camera is tracked exactly as without this step
(PETS09-S2L1, TUD-Campus, ADL-Rundle-6: no frame judged moved).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pipeline.motion import thumbnail_from_state, thumbnail_state


@dataclass(frozen=True)
class CameraMotionConfig:
    """enabled: estimate the camera's motion and move the tracks by it.
    max_corners / min_corners: corners followed per frame, and the fewest for an estimate.
    min_inliers: share of the corners followed into the frame that the fitted motion must explain,
        else the frame's motion is unknown and nothing is moved. The background is the largest set
        of corners moving together, but not always most of them: corners at the edges leave the
        view, those on people the detector missed move on their own (measured on a shaking view
        of PETS09-S2L1: correct fits explained 25-80 % of them).
    ransac_px: largest error, in small-copy pixels, of a corner the motion explains.
    min_shift_px: largest displacement the motion gives a point of the frame, in small-copy
        pixels, below which the camera is taken to be still (about a tenth of a pixel is what
        optical flow resolves; 0.5 px is above the jitter measured on fixed cameras).
    over_still: how many times more corners the motion must explain than staying still does
        (corners that moved less than ``ransac_px``). A fixed camera with something large moving
        in front of it (a passer-by close to the lens, reflections in shop windows) can yield a
        small fitted motion that stillness explains as well (ADL-Rundle-6: 0.98-1.0 times); a
        moving camera leaves few corners still. Measured on panning, touring and shaking views of
        the three sequences, the motions this sets aside moved the frame's corners by at most
        1.1 px of the small copy.
    """

    enabled: bool = True
    max_corners: int = 200
    min_corners: int = 12
    min_inliers: float = 0.2
    ransac_px: float = 1.0
    min_shift_px: float = 0.5
    over_still: float = 1.5


def then(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    """The 2x3 motion ``first`` followed by ``second`` (None: no motion)."""
    if first is None or second is None:
        return second if first is None else first
    return second[:, :2] @ first + np.c_[np.zeros((2, 2)), second[:, 2]]


class CameraMotion:
    """Estimates, frame after processed frame, the camera's motion in full-frame pixels."""

    def __init__(self, config: CameraMotionConfig, width: int, height: int):
        self.config = config
        self.size = (int(width), int(height))
        self._prev: np.ndarray | None = None
        self.people = np.zeros((0, 4))  # the people detected in the last processed frame
        self._hann: np.ndarray | None = None

    def step(self, small: np.ndarray, people: np.ndarray | None = None) -> np.ndarray | None:
        """The 2x3 affine moving points of the previous processed frame to this one (full-frame
        pixels), or None (first frame, camera still, or no reliable estimate). ``small`` is this
        frame's small grey copy (``pipeline.motion.gray_thumbnail``); ``people`` (N, 4) the boxes
        of the people in the previous frame (full-frame pixels; default :attr:`people`), whose
        corners move on their own and are left out."""
        prev, self._prev = self._prev, small
        if not self.config.enabled or prev is None or prev.shape != small.shape:
            return None
        people = self.people if people is None else np.asarray(people, np.float64).reshape(-1, 4)
        scale = small.shape[1] / max(self.size[0], 1)
        affine = self._estimate(prev, small, people * scale)
        if affine is None:
            return None
        affine[:, 2] /= scale  # small-copy pixels -> full-frame pixels (the linear part is the same)
        return affine

    def _estimate(self, prev: np.ndarray, cur: np.ndarray, boxes: np.ndarray) -> np.ndarray | None:
        cfg = self.config
        mask = np.full(prev.shape, 255, np.uint8)
        for x1, y1, x2, y2 in np.round(boxes).astype(int):
            mask[max(y1, 0) : max(y2, 0), max(x1, 0) : max(x2, 0)] = 0
        pts = cv2.goodFeaturesToTrack(prev, cfg.max_corners, 0.01, 3, mask=mask, blockSize=3)
        if pts is None or len(pts) < cfg.min_corners:
            return None
        # the whole view's shift first (phase correlation: large shifts, repeated texture), so that
        # optical flow only refines each corner's motion from there
        (dx, dy), _ = cv2.phaseCorrelate(np.float32(prev), np.float32(cur), self._window(prev.shape))
        guess = pts + np.float32([dx, dy])
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            prev, cur, pts, guess, winSize=(15, 15), maxLevel=3, flags=cv2.OPTFLOW_USE_INITIAL_FLOW
        )
        ok = status.reshape(-1) == 1
        src, dst = pts.reshape(-1, 2)[ok], moved.reshape(-1, 2)[ok]
        if len(src) < cfg.min_corners:
            return None
        affine, inliers = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=cfg.ransac_px
        )
        support = int(inliers.sum())
        if affine is None or support < max(cfg.min_corners, cfg.min_inliers * len(src)):
            return None
        still = int((np.abs(dst - src).max(axis=1) < cfg.ransac_px).sum())
        if support < cfg.over_still * still:
            return None
        h, w = prev.shape[:2]
        corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64)
        shift = corners @ affine[:, :2].T + affine[:, 2] - corners
        if float(np.abs(shift).max()) < cfg.min_shift_px:
            return None
        return affine.astype(np.float64)

    def _window(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._hann is None or self._hann.shape != shape[:2]:
            self._hann = cv2.createHanningWindow((shape[1], shape[0]), cv2.CV_32F)
        return self._hann

    def state_dict(self) -> dict[str, Any]:
        if self._prev is None:
            return {}
        return thumbnail_state(self._prev, "prev") | {"people": self.people.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            self._prev, self.people = None, np.zeros((0, 4))
            return
        self._prev = thumbnail_from_state(state, "prev")
        self.people = np.asarray(state["people"], np.float64).reshape(-1, 4)
