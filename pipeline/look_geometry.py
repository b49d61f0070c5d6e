"""Geometry of the detector's close looks (see :mod:`pipeline.detection_plan`): tiles and the network
shapes they run at, regions merged, and the looks' boxes merged with the whole-frame pass's.

Written here, not taken from a library: a few array operations specific to the plan's tiling (the
boxes' NMS itself follows Ultralytics' rule through ``models.detector``'s threshold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from models.detections import Detections
from models.detector import STRIDE, DetectorConfig, input_side

if TYPE_CHECKING:
    from pipeline.detection_plan import DetectionPlanConfig

SHAPE_LADDER = (64, 96, 128, 192, 256, 320, 384, 480, 640)  # network sides of close looks


def up_to_stride(v: float) -> int:
    """``v`` rounded up to a multiple of the network's stride (at least one stride)."""
    return max(STRIDE, math.ceil(v / STRIDE) * STRIDE)


def base_side(
    longest_side: int, config: DetectorConfig, area_gain: float = 1.0, min_step: float = 1.0
) -> int:
    """Longest network side of the base pass: ``config.max_input`` with its area times ``area_gain``
    (at least 1), never above the frame's own size, and only if that grows the area ``min_step``-fold."""
    side = input_side(longest_side, config)
    if area_gain > 1:
        larger = min(up_to_stride(config.max_input * math.sqrt(area_gain)), up_to_stride(longest_side))
        if larger**2 >= min_step * side**2:
            side = larger
    return side


def spans(lo: int, hi: int, span: float, overlap: float) -> list[tuple[int, int]]:
    """[lo, hi) covered by pieces of at most ``span``, neighbours overlapping by ``overlap``."""
    length = hi - lo
    if length <= span:
        return [(lo, hi)]
    n = math.ceil((length - span * overlap) / (span * (1 - overlap)))
    step = (length - span) / max(n - 1, 1)
    return [(round(lo + i * step), round(lo + i * step + span)) for i in range(n)]


@dataclass(frozen=True)
class Look:
    """One close look: a rectangle of the frame (pixels) run at ``scale``, for ``reason``."""

    x1: int
    y1: int
    x2: int
    y2: int
    scale: float
    reason: str  # "motion" | "track" | "survey"


def tiles(look: Look, tile_px: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """The look cut into tiles of at most ``tile_px`` network pixels, neighbours overlapping by
    ``overlap`` of a tile."""
    span = tile_px / look.scale  # frame pixels per tile side
    out = []
    for a0, a1 in spans(look.x1, look.x2, span, overlap):
        for b0, b1 in spans(look.y1, look.y2, span, overlap):
            out.append((a0, b0, a1, b1))
    return out


def fit_tile(
    tile: tuple[int, int, int, int], scale: float, width: int, height: int
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """A network shape from a short ladder of sizes (so that the looks of a batch of frames share
    shapes and run batched), and the tile grown around its centre to fill it, inside a ``width`` x
    ``height`` frame."""
    out = []
    shape = []
    for lo, hi, limit in ((tile[1], tile[3], height), (tile[0], tile[2], width)):
        net = next((n for n in SHAPE_LADDER if n >= (hi - lo) * scale), up_to_stride((hi - lo) * scale))
        span = min(round(net / scale), limit)
        start = min(max(round((lo + hi - span) / 2), 0), limit - span)
        out.append((start, start + span))
        shape.append(net)
    (y0, y1), (x0, x1) = out
    return (shape[0], shape[1]), (x0, y0, x1, y1)


def merge_boxes(boxes: np.ndarray) -> np.ndarray:
    """Union boxes that overlap, until none do."""
    boxes = [list(b) for b in boxes]
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        out: list[list[float]] = []
        for b in boxes:
            for o in out:
                if b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]:
                    o[0], o[1] = min(o[0], b[0]), min(o[1], b[1])
                    o[2], o[3] = max(o[2], b[2]), max(o[3], b[3])
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def intersection(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Pairwise intersection areas of (N, 4) and (M, 4) boxes (``b`` defaults to ``a``)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = a if b is None else np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    return iw * ih


def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fraction of each box of ``a`` covered by each box of ``b`` -> (N, M)."""
    area = np.maximum((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), 1e-9)
    return intersection(a, b) / area[:, None]


def uncut(
    d: Detections, tile: tuple[int, int, int, int], scale: float, edge_px: float, frame: tuple[int, int]
) -> np.ndarray:
    """Mask of a tile's boxes not cut by an inner edge of the tile (frame edges do not cut);
    ``edge_px`` network pixels from an inner edge count as cut, ``frame`` is (width, height)."""
    x0, y0, x1, y1 = tile
    e = edge_px / max(scale, 1e-6)
    w, h = x1 - x0, y1 - y0
    b = d.xyxy
    cut = np.zeros(len(d), bool)
    if x0 > 0:
        cut |= b[:, 0] <= e
    if y0 > 0:
        cut |= b[:, 1] <= e
    if x1 < frame[0]:
        cut |= b[:, 2] >= w - e
    if y1 < frame[1]:
        cut |= b[:, 3] >= h - e
    return ~cut


def add_new(base: Detections, extra: Detections, nms_iou: float, contained: float) -> Detections:
    """Merge the close looks' boxes into the base pass's: greedy by score, a box is dropped when a
    stronger kept box is the same person (IoU above the detector's NMS threshold, or one lying
    mostly inside the other: a tile's view of part of a person), except that two base boxes never
    remove each other (the base pass did its own NMS; people standing close stay two)."""
    xyxy = np.vstack([base.xyxy, extra.xyxy])
    score = np.concatenate([base.score, extra.score])
    from_base = np.arange(len(score)) < len(base)
    area = np.maximum((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]), 1e-6)
    inter = intersection(xyxy)
    iou = inter / (area[:, None] + area[None, :] - inter)
    inside = np.maximum(inter / area[:, None], inter / area[None, :])
    same = (iou > nms_iou) | (inside >= contained)
    kept: list[int] = []
    for i in np.argsort(-score, kind="stable"):
        rivals = [j for j in kept if not (from_base[i] and from_base[j])]
        if rivals and same[i, rivals].any():
            continue
        kept.append(int(i))
    kept.sort()
    return Detections(xyxy[kept], score[kept])


# the motion a walker leaves around their box between two processed frames: swinging arms and legs
# widen it, a step moves it; fractions of the box's width and height added on each side
TRAIL_X, TRAIL_Y = 0.2, 0.1


def unexplained_motion(
    small: np.ndarray, prev: np.ndarray, base: Detections, scale: float, cfg: DetectionPlanConfig
) -> np.ndarray:
    """Boxes (frame pixels) of moving areas that no base-pass detection explains: pixels of two grey
    thumbnails (``scale`` of the frame) differing by more than ``cfg.motion_delta``, outside every
    base box of at least ``cfg.motion_explained_score`` (grown by the walker's trail), in patches of
    at least ``cfg.motion_min_area`` thumbnail pixels."""
    changed = (cv2.absdiff(small, prev) > cfg.motion_delta).astype(np.uint8)
    for x1, y1, x2, y2 in base.xyxy[base.score >= cfg.motion_explained_score]:
        w, h = x2 - x1, y2 - y1
        changed[
            max(int((y1 - TRAIL_Y * h) * scale), 0) : int((y2 + TRAIL_Y * h) * scale) + 1,
            max(int((x1 - TRAIL_X * w) * scale), 0) : int((x2 + TRAIL_X * w) * scale) + 1,
        ] = 0
    # opening: a moving person leaves a solid patch; encoder noise and a slight camera jitter
    # leave one-pixel lines along strong edges, which the erosion removes
    changed = cv2.erode(changed, np.ones((2, 2), np.uint8))
    changed = cv2.dilate(changed, np.ones((3, 3), np.uint8), iterations=2)
    n, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    out = [
        [x / scale, y / scale, (x + w) / scale, (y + h) / scale]
        for x, y, w, h, area in stats[1:n]
        if area >= cfg.motion_min_area + 16  # the dilation adds about 16 pixels to a dot
    ]
    return np.asarray(out, dtype=np.float64).reshape(-1, 4)


def found_new(merged: Detections, tracked: np.ndarray, moving: np.ndarray, min_score: float) -> bool:
    """Whether a survey found someone only a survey finds: a person (confidence at least
    ``min_score``) who is neither followed by the tracker nor moving (moving people are found by the
    motion looks)."""
    strong = merged.xyxy[merged.score >= min_score]
    if not len(strong):  # (close looks only add people too small for the base pass)
        return False
    known = np.vstack([np.asarray(tracked, dtype=np.float64).reshape(-1, 4), moving])
    inter = overlap(strong, known)
    return bool((inter.max(axis=1, initial=0.0) < 0.5).any())
