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
        )
