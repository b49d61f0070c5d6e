"""Cheap scene-change test: is there anything new in this frame since the detector last looked?

Frames of a still scene (an empty corridor at night) are not worth a detector run. The test compares
a small blurred grey copy of the frame with the one of the last frame the detector saw and counts
pixels that changed clearly. It errs on the side of "moved": a false "still" could miss a person,
a false "moved" only costs one detector run.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


def gray_thumbnail(image: np.ndarray, width: int) -> np.ndarray:
    """A small blurred grey copy of a frame (at most ``width`` wide, aspect kept), the form motion is
    measured on: blurring and shrinking remove sensor and codec noise."""
    h, w = image.shape[:2]
    width = max(1, min(width, w))
    small = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return cv2.GaussianBlur(gray, (3, 3), 0)


def thumbnail_state(thumbnail: np.ndarray, key: str) -> dict[str, Any]:
    """A small grey copy as checkpoint JSON: its shape, and its pixels (base64) under ``key``."""
    return {"shape": list(thumbnail.shape), key: base64.b64encode(thumbnail.tobytes()).decode("ascii")}


def thumbnail_from_state(state: dict[str, Any], key: str) -> np.ndarray:
    """The small grey copy :func:`thumbnail_state` stored under ``key``."""
    return np.frombuffer(base64.b64decode(state[key]), np.uint8).reshape(state["shape"]).copy()


@dataclass(frozen=True)
class MotionConfig:
    """enabled: skip detector runs on frames where nothing changed.
    width: frames are compared at this width (keeps the test under a millisecond).
    pixel_delta: grey-level change (0..255) that counts a pixel as changed; above sensor/codec noise.
    min_changed: fraction of changed pixels that counts as motion (a small distant walker changes
        about 0.1 % of a 160-px-wide frame; the default is below that).
    max_skip_s: run the detector at least this often even in a still scene (people standing still).
    """

    enabled: bool = True
    width: int = 160
    pixel_delta: int = 12
    min_changed: float = 0.0004
    max_skip_s: float = 4.0


class MotionGate:
    """Remembers the last frame the detector saw and says whether a new frame differs from it."""

    def __init__(self, config: MotionConfig, fps: float):
        self.config = config
        self.max_skip = max(1, round(config.max_skip_s * fps))
        self._ref: np.ndarray | None = None
        self._ref_frame = -(10**9)
        self.last_thumbnail: np.ndarray | None = None  # the small grey copy of the last frame asked about

    def should_detect(self, frame_index: int, image: np.ndarray) -> bool:
        """True if the detector should run on this frame (and remember it as the reference)."""
        small = self.last_thumbnail = gray_thumbnail(image, self.config.width)
        if self.config.enabled and self._ref is not None and self._ref.shape == small.shape:
            changed = np.count_nonzero(cv2.absdiff(small, self._ref) > self.config.pixel_delta) / small.size
            if changed < self.config.min_changed and frame_index - self._ref_frame < self.max_skip:
                return False
        self._ref, self._ref_frame = small, frame_index
        return True

    def state_dict(self) -> dict[str, Any]:
        if self._ref is None:
            return {}
        return {"frame": self._ref_frame} | thumbnail_state(self._ref, "ref")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            self._ref, self._ref_frame = None, -(10**9)
            return
        self._ref = thumbnail_from_state(state, "ref")
        self._ref_frame = int(state["frame"])
