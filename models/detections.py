"""Person detections of one frame: parallel numpy arrays, validated, indexable with masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Boxes ``xyxy`` (N, 4) in frame pixels and their confidences ``score`` (N,), both float32."""

    xyxy: np.ndarray
    score: np.ndarray

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        score = np.asarray(self.score, dtype=np.float32).reshape(-1)
        if len(xyxy) != len(score):
            raise ValueError(f"{len(xyxy)} boxes but {len(score)} scores")
        if not (np.isfinite(xyxy).all() and np.isfinite(score).all()):
            raise ValueError("detections contain non-finite values")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "score", score)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.score)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> Detections:
        return Detections(self.xyxy[index], self.score[index])

    @property
    def width(self) -> np.ndarray:
        return self.xyxy[:, 2] - self.xyxy[:, 0]

    @property
    def height(self) -> np.ndarray:
        return self.xyxy[:, 3] - self.xyxy[:, 1]

    @property
    def area(self) -> np.ndarray:
        return np.clip(self.width, 0, None) * np.clip(self.height, 0, None)
