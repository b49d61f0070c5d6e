"""Where the detector looks in each frame, and how closely: the whole frame, plus close looks where
people are too small for it.

The detector finds a person when they are tall enough *at its input*: measured on the MOT17 sample
frames and the dev sequences (``python -m bench.detection_recall --curve``), YOLOv8n at confidence
0.5 finds 33 % of people 24-32 px tall at its input, 43 % at 32-40, 57 % at 48-64 and 77 % above 96.
Shrinking a 1080p or 4K frame to a 416-px input makes everyone under ~150 px tall too small to find.
Running the whole frame at full resolution would cost 20-80 times as much. So:

1. Base pass: every processed frame, whole, with its longest side at ``DetectorConfig.max_input``
   (footage no larger than that runs at its own size). People at least ``target_px`` tall at that
   scale are found here. ``max_input`` is sized for frames processed every ``IndexConfig.min_gap_s``
   (a 10-30 fps camera); footage whose frames are further apart than that (a recorder at 1-5 fps,
   snapshots) has fewer frames per second of video to look at, and spends the detector time it saves
   on looking at each of them larger: the base input's area grows with the time between frames
   (``sparse_gain``), up to the frame's own resolution, so a second of video costs about the same at
   any frame rate. A larger input finds people the small one misses, partly hidden ones above all
   (ADL-Rundle-6, people over 200 px tall: recall 0.54 at 416 px, 0.67 at 960, 0.71 at 1920), and
   at 1-2 fps a person missed in a frame is missed for a whole second, not a thirtieth. Only a step
   that at least doubles the input's area (``sparse_min_step``) is taken: footage little larger than
   ``max_input`` gains almost no resolution (PETS09-S2L1 at 480 px instead of 416: recall 0.878
   against 0.876) but every box moves a little: F1 at 1-2 fps 0.05 lower over six samples.
2. Close looks, only when the base pass cannot show a person of ``min_person_px`` (frame pixels) at
   ``target_px``: regions of the frame are run at the *close scale* (``target_px / min_person_px``,
   at most the frame's own resolution), cut into tiles of at most ``tile_px``. Motion and track looks
   run only while the last survey found people that small (a camera whose people are all large for
   the base pass gets surveys only: extra looks there add body parts and clutter, not people). A
   region is:
   - motion the base pass did not explain: pixels that changed since the last processed frame,
     outside every box the base pass found (walking people too small for it);
   - the surroundings of tracked people who are small at the base scale (they keep being found
     when they stop moving);
   - the whole frame in a *survey*: at the first frame, and then after ``survey_min_s``, doubling
     up to ``survey_max_s`` while surveys find nobody new (people who stand still from the start).
   If more moves at once than ``motion_limit`` allows (rain, a camera shake), the moving area is
   looked at as one region at the scale that limit allows instead.
   Close looks are paid from a budget: on average they may cost ``budget`` times the base pass
   (network pixels), saved up over ``burst`` frames; a look the budget cannot pay waits for a later
   frame (a survey is postponed, motion and track looks skip that frame), so HD footage costs at
   most ``1 + budget`` times what the base pass alone would.
3. Detections of all looks are merged: boxes cut by a tile's inner edge are dropped, then
   overlapping boxes of one person are suppressed (NMS, plus a box lying inside a stronger one).

The plan's state (the last processed frame, scaled down, and the survey schedule) is part of the
indexing checkpoint, so a resumed run looks exactly where an uninterrupted one would.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from models.boxes import iou_matrix
from models.detections import Detections
from models.detector import STRIDE, PersonDetector
from pipeline.look_geometry import (
    Look,
    add_new,
    base_side,
    fit_tile,
    found_new,
    merge_boxes,
    overlap,
    tiles,
    uncut,
    unexplained_motion,
)
from pipeline.motion import gray_thumbnail, thumbnail_from_state, thumbnail_state
from pipeline.tracking import TrackerConfig

log = logging.getLogger(__name__)


class Tracked(Protocol):
    """Where the people being followed should be (the tracker)."""

    def predicted_boxes(self, frame_index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class DetectionPlanConfig:
    """target_px: height (network pixels) a person should have at the detector input to be found
        reliably (see the module docstring for the measured recall). Higher finds more small people
        and costs area (time) quadratically.
    min_person_px: the smallest person, in frame pixels, the indexer looks for. Smaller makes close
        looks closer (and costlier); people below it are found only by luck.
    tile_px: largest side (network pixels) of one close look; larger regions are tiled.
    tile_overlap: overlap of neighbouring tiles, as a fraction of the tile (a person on the seam is
        whole in one of them).
    motion_width: width at which frames are compared to find motion (pixels).
    motion_delta: grey-level change (0..255) that counts a pixel as changed.
    motion_min_area: fewest changed pixels (at ``motion_width``) that make a moving region.
    motion_explained_score: a base-pass box at least this confident explains the motion under and
        around it; the motion under a weaker one (clutter, a blurred half-person) still gets a look.
    blob_factor: a moving area taller than this many times ``target_px`` at the base scale is left to
        the base pass (someone that tall is visible to it; a moving area includes its motion trail).
    region_margin: context around a region, in multiples of ``min_person_px`` (a person must fit).
    track_reach: how far (in their own heights) a small tracked person may be from where their
        motion puts them; their close look covers that.
    survey_min_s / survey_max_s: interval between whole-frame surveys at the close scale: starts at
        the minimum, doubles while surveys find nobody new, back to the minimum when one does.
    motion_limit: most network pixels of the motion and track looks of one frame, as a multiple of
        the base pass's; beyond it they become one look at a lower scale.
    budget: average cost of close looks, as a multiple of the base pass's (network pixels).
    sparse_gain: share of the detector time that sparse frames save (see the module docstring, 1)
        spent on a larger base input: 1 keeps the base pass's time per second of video the same at
        every frame rate, 0 keeps ``DetectorConfig.max_input`` whatever the frame rate.
    sparse_min_step: least growth of the base input's area worth taking for sparse frames; a smaller
        one (footage not much larger than ``max_input``) keeps ``max_input``.
    burst: frames' worth of budget that can be saved up (pays for a survey).
    edge_px: a close-look box within this many network pixels of a tile's inner edge is cut off.
    contained: a box whose area lies at least this much inside a stronger box is a duplicate.

    What counts as a person found is the tracker's ``TrackerConfig.high_score`` (below it a box only
    extends a track that exists), given to :class:`DetectionPlan` as ``found_score``.
    """

    target_px: float = 32.0
    min_person_px: float = 40.0
    tile_px: int = 640
    tile_overlap: float = 0.2
    motion_width: int = 384
    motion_delta: int = 14
    motion_min_area: int = 4
    motion_explained_score: float = 0.3
    blob_factor: float = 1.5
    region_margin: float = 1.0
    track_reach: float = 0.5
    survey_min_s: float = 2.0
    survey_max_s: float = 60.0
    motion_limit: float = 4.0
    budget: float = 1.0
    sparse_gain: float = 1.0
    sparse_min_step: float = 2.0
    burst: float = 40.0
    edge_px: float = 3.0
    contained: float = 0.8


@dataclass
class PlanStats:
    """What the plan did, for the indexing report."""

    frames: int = 0
    close_looks: int = 0
    surveys: int = 0
    postponed: int = 0  # looks the budget could not pay for at their frame
    close_pixels: int = 0  # network pixels of close looks
    base_pixels: int = 0


class DetectionPlan:
    """Runs the detector on processed frames of one video (one instance per video)."""

    def __init__(
        self,
        config: DetectionPlanConfig,
        detector: PersonDetector,
        width: int,
        height: int,
        sparseness: float = 1.0,
        found_score: float = TrackerConfig.high_score,
    ):
        """``sparseness``: how many times further apart this video's processed frames are than the
        frames ``DetectorConfig.max_input`` is sized for (1 for 10 fps and faster footage).
        ``found_score``: confidence at which a box is a person found; a weaker base-pass box over
        someone does not switch the motion and track looks off, nor a followed person's look."""
        self.config, self.detector, self.found_score = config, detector, found_score
        self.width, self.height = width, height
        gain = 1 + config.sparse_gain * (sparseness - 1)
        side = base_side(max(width, height), detector.config, gain, config.sparse_min_step)
        self.base_shape = detector.network_shape(height, width, side)
        plain = detector.network_shape(height, width, base_side(max(width, height), detector.config))
        self.sparse_larger = self.base_shape != plain  # (a fixed-shape model keeps its one shape)
        self.base_scale = min(self.base_shape[0] / height, self.base_shape[1] / width)
        self.close_scale = min(1.0, config.target_px / config.min_person_px)
        self.active = detector.dynamic and self.close_scale > self.base_scale * 1.05
        self.motion_scale = min(1.0, config.motion_width / width)
        self._tall_px = config.blob_factor * config.target_px  # at the base scale: the base pass's
        self.stats = PlanStats()
        self._prev: np.ndarray | None = None  # last processed frame, small grey
        self._next_survey_ts = 0.0
        self._survey_gap = config.survey_min_s
        self._survey_at = 0.0
        self._small_present = False  # the last survey found people only close looks find
        self._base_px = self.base_shape[0] * self.base_shape[1]
        survey_px = self._cost([Look(0, 0, width, height, self.close_scale, "survey")])
        # enough to save up for a survey (of any frame size) unless close looks are switched off
        self._credit_cap = max(config.burst * config.budget * self._base_px, survey_px * (config.budget > 0))
        self._credit = self._credit_cap

    def describe(self) -> dict[str, Any]:
        """The rule applied to this video, for the indexing report."""
        out: dict[str, Any] = {
            "frame": [self.width, self.height],
            "base_input": [self.base_shape[1], self.base_shape[0]],
            "base_scale": round(self.base_scale, 3),
        }
        if self.sparse_larger:
            out["sparse_larger"] = True
        if self.active:
            out |= {"close_scale": round(self.close_scale, 3), "tile_px": self.config.tile_px}
        return out

    # ----- running -----------------------------------------------------------------------------

    def detect(
        self,
        images: Sequence[np.ndarray],
        times: Sequence[float],
        frame_indices: Sequence[int],
        tracker: Tracked | None = None,
    ) -> list[Detections]:
        """Person boxes for a batch of consecutive processed frames; ``tracker`` says where the people
        it follows should be in each of them."""
        if not len(images):
            return []
        base = self.detector.detect_at(images, self.base_shape)
        self.stats.frames += len(images)
        self.stats.base_pixels += len(images) * self.base_shape[0] * self.base_shape[1]
        if not self.active:
            return base
        looks: list[tuple[int, Look]] = []
        moving: dict[int, np.ndarray] = {}
        tracked: dict[int, np.ndarray] = {}
        for k, (image, ts, index) in enumerate(zip(images, times, frame_indices)):
            tracked[k] = tracker.predicted_boxes(index) if tracker is not None else np.zeros((0, 4))
            frame_looks, moving[k] = self._looks(image, ts, base[k], tracked[k])
            looks += [(k, look) for look in frame_looks]
        merged = self._merge(images, base, looks)
        surveyed = [k for k, look in looks if look.reason == "survey"]
        if surveyed:
            found = self.found_score
            self._reschedule(any(found_new(merged[k], tracked[k], moving[k], found) for k in surveyed))
            self._small_present = any(self._small_found(merged[k], base[k]) for k in surveyed)
        return merged

    def _cost(self, looks: list[Look]) -> int:
        """Network pixels the looks would take."""
        total = 0
        for look in looks:
            for t in tiles(look, self.config.tile_px, self.config.tile_overlap):
                (h, w), _ = fit_tile(t, look.scale, self.width, self.height)
                total += h * w
        return total

    def _afford(self, looks: list[Look], first: bool = False) -> bool:
        """Pay for the looks if the budget can; the first survey of a video is free (someone has to
        find out who is there)."""
        if first:
            return True
        cost = self._cost(looks)
        if cost > self._credit:
            self.stats.postponed += 1
            return False
        self._credit -= cost
        return True

    def _looks(
        self, image: np.ndarray, ts: float, base: Detections, tracked: np.ndarray
    ) -> tuple[list[Look], np.ndarray]:
        """The close looks for one frame (those the budget pays for), and its moving areas."""
        cfg = self.config
        self._credit = min(self._credit + cfg.budget * self._base_px, self._credit_cap)
        small = gray_thumbnail(image, round(self.width * self.motion_scale))
        prev, self._prev = self._prev, small
        moving = (
            unexplained_motion(small, prev, base, self.motion_scale, cfg)
            if prev is not None
            else np.zeros((0, 4))
        )
        if prev is None or ts >= self._next_survey_ts:
            survey = [Look(0, 0, self.width, self.height, self.close_scale, "survey")]
            if self._afford(survey, first=prev is None):
                self.stats.surveys += 1
                self._survey_at, self._next_survey_ts = ts, math.inf  # rescheduled when it has run
                return survey, moving
        if not self._small_present:  # the last survey found nobody too small for the base pass
            return [], moving
        # a moving area taller than the base pass can see holds nobody it could not see
        tall = (moving[:, 3] - moving[:, 1]) * self.base_scale > self._tall_px
        boxes = moving[~tall]
        people = np.asarray(tracked, dtype=np.float64).reshape(-1, 4)
        if len(people):  # followed people too small for the base pass, which it did not see here
            h = people[:, 3] - people[:, 1]
            unseen = h * self.base_scale < cfg.target_px
            seen = base.xyxy[base.score >= self.found_score]
            if len(seen):
                unseen &= overlap(people, seen).max(axis=1) < 0.5
            reach = cfg.track_reach * h[unseen, None] * np.array([-1, -0.5, 1, 0.5])
            boxes = np.vstack([boxes, people[unseen] + reach])
        if not len(boxes):
            return [], moving
        margin = cfg.region_margin * cfg.min_person_px
        regions = merge_boxes(boxes + np.array([-margin, -margin, margin, margin]))
        regions[:, [0, 2]] = regions[:, [0, 2]].clip(0, self.width)
        regions[:, [1, 3]] = regions[:, [1, 3]].clip(0, self.height)
        regions = regions[
            (regions[:, 2] - regions[:, 0] >= STRIDE) & (regions[:, 3] - regions[:, 1] >= STRIDE)
        ]
        if not len(regions):
            return [], moving
        area = ((regions[:, 2] - regions[:, 0]) * (regions[:, 3] - regions[:, 1])).sum()
        limit = cfg.motion_limit * self.base_shape[0] * self.base_shape[1]
        scale = self.close_scale
        if area * scale**2 > limit:  # too much at once: the moving area as one look, as close as allowed
            x1, y1 = regions[:, :2].min(axis=0)
            x2, y2 = regions[:, 2:].max(axis=0)
            regions = np.array([[x1, y1, x2, y2]])
            scale = max(self.base_scale, math.sqrt(limit / max((x2 - x1) * (y2 - y1), 1.0)))
            scale = min(scale, self.close_scale)
        looks = [Look(int(a), int(b), math.ceil(c), math.ceil(d), scale, "motion") for a, b, c, d in regions]
        return (looks if self._afford(looks) else []), moving

    def _merge(
        self, images: Sequence[np.ndarray], base: list[Detections], looks: list[tuple[int, Look]]
    ) -> list[Detections]:
        pieces: dict[tuple[int, int], list[tuple[int, tuple[int, int, int, int], float]]] = {}
        for k, look in looks:
            self.stats.close_looks += 1
            for t in tiles(look, self.config.tile_px, self.config.tile_overlap):
                shape, t = fit_tile(t, look.scale, self.width, self.height)
                pieces.setdefault(shape, []).append((k, t, look.scale))
        boxes: list[list[np.ndarray]] = [[] for _ in base]
        scores: list[list[np.ndarray]] = [[] for _ in base]
        for shape, items in pieces.items():
            crops = [images[k][t[1] : t[3], t[0] : t[2]] for k, t, _ in items]
            self.stats.close_pixels += len(crops) * shape[0] * shape[1]
            for (k, t, scale), d in zip(items, self.detector.detect_at(crops, shape)):
                # the base pass answers for people tall enough for it: close looks add the small
                whole = uncut(d, t, scale, self.config.edge_px, (self.width, self.height))
                keep = whole & (d.height * self.base_scale < self._tall_px)
                boxes[k].append(d.xyxy[keep] + np.array([t[0], t[1], t[0], t[1]], np.float32))
                scores[k].append(d.score[keep])
        out = []
        for k in range(len(images)):
            if not boxes[k]:
                out.append(base[k])  # nothing was added: the base pass's boxes, untouched
                continue
            extra = Detections(np.concatenate(boxes[k]), np.concatenate(scores[k]))
            out.append(add_new(base[k], extra, self.detector.config.nms_iou, self.config.contained))
        return out

    def _small_found(self, merged: Detections, base: Detections) -> bool:
        """Whether a survey found a confident person too small for the base pass, which it missed."""
        small = merged.height * self.base_scale < self.config.target_px
        strong = merged[(merged.score >= self.found_score) & small]
        if not len(strong):
            return False
        seen = base.xyxy[base.score >= self.found_score]  # a weak base box did not find the person
        if not len(seen):
            return True
        return bool((iou_matrix(strong.xyxy, seen).max(axis=1) < 0.5).any())

    def _reschedule(self, found_new: bool) -> None:
        """Next survey sooner when the last one found someone new, later (doubling) when not."""
        cfg = self.config
        if found_new:
            self._survey_gap = cfg.survey_min_s
        self._next_survey_ts = self._survey_at + self._survey_gap
        if not found_new:
            self._survey_gap = min(self._survey_gap * 2, cfg.survey_max_s)

    # ----- checkpoint ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        if not self.active:
            return {"stats": asdict(self.stats)}
        out: dict[str, Any] = {
            "next_survey": self._next_survey_ts,
            "gap": self._survey_gap,
            "credit": self._credit,
            "small": self._small_present,
            "stats": asdict(self.stats),
        }
        if self._prev is not None:
            out |= thumbnail_state(self._prev, "prev")
        out["survey_at"] = self._survey_at
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        if not self.active:
            self.stats = PlanStats(**state.get("stats", {}))
            return
        self._next_survey_ts, self._survey_gap = float(state["next_survey"]), float(state["gap"])
        self._survey_at = float(state.get("survey_at", 0.0))
        self._credit = float(state.get("credit", self._credit_cap))
        self._small_present = bool(state.get("small", False))
        self.stats = PlanStats(**state.get("stats", {}))
        if "prev" in state:
            self._prev = thumbnail_from_state(state, "prev")
