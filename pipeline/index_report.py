"""What indexing did to a video, in facts an operator can check: how the frames were sampled, how the
detector looked at them, how tall the people were, and what that means for search.

Kept with the video (``videos.report_json``), shown by ``main.py index`` and ``videos`` and in the
desktop app. Its counters are part of the indexing checkpoint, so a resumed run reports the whole
video.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.types import PATH_Y1, PATH_Y2, TrackRecord, fmt_time

HEIGHT_BIN_PX = 8  # resolution of the stored person-height histogram
HEIGHT_BINS = 256  # bins of HEIGHT_BIN_PX; the last one holds everyone taller


@dataclass(frozen=True)
class ReportConfig:
    """small_person_px: people whose median height (frame pixels) is below this are "small": the
        ReID model sees them upscaled from few pixels, so different people look more alike. The
        shared dev footage has people from 41 px up (PETS09-S2L1), where search works (README);
        below that there is no measurement that it does.
    small_share_warning: warn when at least this share of the tracks are small people.
    chosen_gap_warning_s: warn when a chosen ``--stride`` has the detector run further apart than
        this, in seconds of video: someone in view for less (a person crossing a close camera's
        picture, a car park's walkway) may never be found, and the tracker matches people seen that
        far apart by appearance alone. The footage's own low frame rate is not a choice and not
        warned of.
    """

    small_person_px: float = 40.0
    small_share_warning: float = 0.5
    chosen_gap_warning_s: float = 2.0


@dataclass
class IndexReport:
    """Counters of one video's indexing (see the module docstring)."""

    config: ReportConfig = field(default_factory=ReportConfig)
    frames_seen: int = 0  # frames the reader yielded (after striding), before the motion gate
    detector_frames: int = 0
    detections: int = 0
    embedded: int = 0  # detections embedded for appearance matching
    camera_moved: int = 0  # detector frames where the camera had moved since the previous one
    gaps: int = 0  # gaps in the recording (timestamps jump): every track ended at each
    longest_gap_s: float = 0.0
    heights: np.ndarray = field(default_factory=lambda: np.zeros(HEIGHT_BINS, np.int64))
    appearance_gate: float | None = None  # least similarity of a match between people seen in detail
    appearance_floor: float | None = None  # the gate's floor (where nothing raised it)
    distinct_pairs: int = 0  # pairs of people seen together that the gate was judged from

    def add_tracks(self, records: list[TrackRecord]) -> None:
        for r in records:
            h = float(np.median(r.path[:, PATH_Y2] - r.path[:, PATH_Y1]))
            self.heights[min(int(h // HEIGHT_BIN_PX), HEIGHT_BINS - 1)] += 1

    def add_gap(self, seconds: float) -> None:
        self.gaps += 1
        self.longest_gap_s = max(self.longest_gap_s, float(seconds))

    def height_quantile(self, q: float) -> float | None:
        n = int(self.heights.sum())
        if not n:
            return None
        k = int(np.searchsorted(np.cumsum(self.heights), q * n, side="left"))
        return (k + 0.5) * HEIGHT_BIN_PX

    def small_share(self) -> float:
        n = int(self.heights.sum())
        small = int(self.heights[: int(self.config.small_person_px // HEIGHT_BIN_PX)].sum())
        return small / n if n else 0.0

    def warnings(self, sampling: dict[str, Any]) -> dict[str, str]:
        """What the operator should know, each by a short label (what a list of videos shows): people
        too small, or detector runs chosen too far apart."""
        out = {}
        gap = sampling.get("dense_s", 0.0)
        if sampling.get("stride", 0) > 1 and gap > self.config.chosen_gap_warning_s:  # (1: every frame)
            out[f"detector every {gap:.1f} s"] = (
                f"--stride {sampling['stride']} runs the detector only every {gap:.1f} s of video: "
                "people in view for less may not be found; index again without --stride to find them"
            )
        median = self.height_quantile(0.5)
        if median is not None and self.small_share() >= self.config.small_share_warning:
            out["small people"] = (
                f"people are small here (median {median:.0f} px tall; {self.small_share():.0%} of them "
                f"under {self.config.small_person_px:.0f} px): search results are less reliable; "
                "higher-resolution footage or a closer camera helps"
            )
        return out

    def to_json(
        self, frames: int, plan: dict[str, Any], sampling: dict[str, Any], notes: list[str]
    ) -> dict[str, Any]:
        """The stored report."""
        warned = self.warnings(sampling)
        people: dict[str, Any] = {"tracks": int(self.heights.sum())}
        if people["tracks"]:
            people |= {
                "height_p10_px": self.height_quantile(0.1),
                "height_median_px": self.height_quantile(0.5),
                "small_share": round(self.small_share(), 3),
            }
        return {
            "frames": frames,
            "frames_sampled": self.frames_seen,
            "detector_frames": self.detector_frames,
            "camera_moved_frames": self.camera_moved,
            "recording_gaps": {"count": self.gaps, "longest_s": round(self.longest_gap_s, 3)},
            "sampling": sampling,
            "detector": plan,
            "appearance": {"detections": self.detections, "embedded": self.embedded}
            | (
                {
                    "gate": round(self.appearance_gate, 3),
                    "floor": round(self.appearance_floor or 0.0, 3),
                    "pairs_seen_together": self.distinct_pairs,
                }
                if self.appearance_gate is not None
                else {}
            ),
            "people": people,
            "notes": [n for n in notes if n],
            "warnings": list(warned.values()),
            "warning_labels": list(warned),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "frames_seen": self.frames_seen,
            "detector_frames": self.detector_frames,
            "detections": self.detections,
            "embedded": self.embedded,
            "camera_moved": self.camera_moved,
            "gaps": self.gaps,
            "longest_gap_s": self.longest_gap_s,
            "heights": {str(int(k)): int(v) for k, v in enumerate(self.heights) if v},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.frames_seen = int(state["frames_seen"])
        self.detector_frames = int(state["detector_frames"])
        self.detections = int(state["detections"])
        self.embedded = int(state["embedded"])
        self.camera_moved = int(state.get("camera_moved", 0))
        self.gaps = int(state.get("gaps", 0))
        self.longest_gap_s = float(state.get("longest_gap_s", 0.0))
        self.heights = np.zeros(HEIGHT_BINS, np.int64)
        for k, v in state["heights"].items():
            self.heights[int(k)] = int(v)


def warning_labels(report: dict[str, Any]) -> list[str]:
    """A stored report's warnings, each by its short label (a report from before labels has one kind
    of warning: small people)."""
    return list(report.get("warning_labels", ["small people"] if report.get("warnings") else []))


def summary(report: dict[str, Any]) -> str:
    """One line for an operator: how the detector looked and how tall the people were."""
    det = report.get("detector", {})
    parts = []
    ran = report.get("detector_frames", 0)
    if ran:
        parts.append(f"detector on {ran} frame{'s' if ran != 1 else ''}")
    if "base_input" in det:
        w, h = det["base_input"]
        look = f"whole frame at {w}x{h}"
        if det.get("sparse_larger"):
            look += " (larger: frames far apart)"
        if "close_scale" in det:
            looks = det.get("close_looks", 0)
            look += f", close looks at {det['close_scale']:g}x ({looks} look{'s' if looks != 1 else ''}"
            surveys = det.get("surveys", 0)
            look += f", {surveys} survey{'s' if surveys != 1 else ''})"
        parts.append(look)
    people = report.get("people", {})
    if people.get("height_median_px"):
        p10, median = people["height_p10_px"], people["height_median_px"]
        parts.append(f"people mostly {p10:.0f} px tall or more (median {median:.0f} px)")
    if report.get("sampling", {}).get("low_rate"):
        parts.append("low frame rate: one sighting makes a track")
    moved = report.get("camera_moved_frames", 0)
    if ran and moved:
        parts.append(f"camera moving in {moved / ran:.0%} of them: tracks follow its motion")
    gaps = report.get("recording_gaps", {})
    if gaps.get("count"):
        n, longest = gaps["count"], fmt_time(gaps["longest_s"])
        gaps_said = f"{n} gap{'s' if n > 1 else ''} in the recording"
        parts.append(f"{gaps_said} (longest {longest}): tracks end at each")
    return "; ".join(parts)
