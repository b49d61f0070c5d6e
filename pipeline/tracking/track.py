"""One tracked person: Kalman state plus identity bookkeeping. No images, no history of boxes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np


class TrackState(IntEnum):
    TRACKED = 1  # matched in its last processed frame
    LOST = 2  # missed, kept for re-association until the lost-track buffer runs out


@dataclass
class Track:
    """Mutable state of one track inside a :class:`ByteTracker` (never shared between trackers)."""

    track_id: int
    mean: np.ndarray  # (8,) Kalman mean, xyah + velocities
    cov: np.ndarray  # (8, 8)
    start_frame: int
    last_frame: int  # last frame with a matched detection
    predicted_frame: int  # frame the mean has been predicted to
    score: float
    hits: int = 1
    confirmed: bool = False
    state: TrackState = TrackState.TRACKED
    feature: np.ndarray | None = None  # running mean of its appearance (appearance matching only)
    feature_frame: int = -1  # frame of the last appearance blended into ``feature``

    def remember_look(self, embedding: np.ndarray, momentum: float, frame_index: int) -> None:
        """Blend a new L2-normalised appearance vector into the track's (exponential moving average);
        a missing one (NaN) changes nothing."""
        e = np.asarray(embedding, dtype=np.float64)
        if not np.isfinite(e).all():
            return
        f = e if self.feature is None else momentum * self.feature + (1 - momentum) * e
        self.feature = f / max(float(np.linalg.norm(f)), 1e-12)
        self.feature_frame = frame_index

    def state_dict(self) -> dict[str, Any]:
        """JSON-able snapshot (floats round-trip exactly through JSON)."""
        return {
            "track_id": self.track_id,
            "mean": self.mean.tolist(),
            "cov": self.cov.tolist(),
            "start_frame": self.start_frame,
            "last_frame": self.last_frame,
            "predicted_frame": self.predicted_frame,
            "score": self.score,
            "hits": self.hits,
            "confirmed": self.confirmed,
            "state": int(self.state),
            "feature": None if self.feature is None else [round(float(v), 7) for v in self.feature],
            "feature_frame": self.feature_frame,
        }

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> Track:
        return cls(
            track_id=int(d["track_id"]),
            mean=np.asarray(d["mean"], dtype=np.float64),
            cov=np.asarray(d["cov"], dtype=np.float64),
            start_frame=int(d["start_frame"]),
            last_frame=int(d["last_frame"]),
            predicted_frame=int(d["predicted_frame"]),
            score=float(d["score"]),
            hits=int(d["hits"]),
            confirmed=bool(d["confirmed"]),
            state=TrackState(int(d["state"])),
            feature=None if d.get("feature") is None else np.asarray(d["feature"], dtype=np.float64),
            feature_frame=int(d.get("feature_frame", -1)),
        )
