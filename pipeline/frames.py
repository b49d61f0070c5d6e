"""Random access to the frames of a video, exact to the frame, for a player and for thumbnails.

Playing forward reads the next frame without seeking. A jump seeks the decoder a little before the
target and reads forward, and the frame index is checked against the decoder's position, so a
container with imprecise seeking still lands on the exact frame (H.264 seeks land on key frames).
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import VideoError
from pipeline.video import open_capture, probe

log = logging.getLogger(__name__)

SEEK_BACK = 90  # frames decoded forward at most after a seek before falling back to reading from 0


class FrameSource:
    """Decodes frames of one video by index. Not thread-safe: one per thread."""

    def __init__(self, path: str | Path):
        self.info = probe(path)
        self._cap = open_capture(self.info.path)
        self._next = 0  # index of the frame the next read() returns

    @property
    def frame_count(self) -> int:
        return self.info.frame_count

    @property
    def fps(self) -> float:
        return self.info.fps

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _seek(self, index: int) -> None:
        """Position the decoder so that the next read returns frame ``index``."""
        start = max(0, index - SEEK_BACK)
        if start > 0 and self._cap.set(cv2.CAP_PROP_POS_FRAMES, start):
            pos = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES))
            if 0 <= pos <= index:
                self._next = pos
                return
        self._cap.release()
        self._cap = open_capture(self.info.path)
        self._next = 0

    def frame(self, index: int) -> np.ndarray:
        """BGR image of frame ``index`` (0-based); :class:`VideoError` past the end or on damage."""
        if index < 0 or (self.info.frame_count and index >= self.info.frame_count):
            raise VideoError(f"{self.info.path}: frame {index} is outside 0..{self.info.frame_count - 1}")
        if index < self._next or index - self._next > SEEK_BACK:
            self._seek(index)
        while self._next < index:
            if not self._cap.grab():
                raise VideoError(f"{self.info.path}: cannot decode up to frame {index}")
            self._next += 1
        ok, image = self._cap.read()
        if not ok or image is None:
            raise VideoError(f"{self.info.path}: frame {index} does not decode")
        self._next = index + 1
        return image
