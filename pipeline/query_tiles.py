"""A small person in a large photo: the photo looked at in tiles, at its own resolution.

An operator often has no crop: they drag in a whole frame exported from a 4K or 1080p camera, or a
high-resolution still, where the person is 60-250 px tall. Shrunk whole to the detector's input
(416-640 px), such a person is 10-40 px tall there and is not found ("no person found in the photo",
though the photo shows one). Indexing meets the same problem and answers it with close looks
(:mod:`pipeline.look_geometry`); a photo is searched once, so here its whole area is cut into tiles
of the same size and overlap, and their boxes merged as close looks' are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.detections import Detections
from models.detector import PersonDetector
from pipeline.detection_plan import DetectionPlanConfig
from pipeline.look_geometry import Look, add_new, tiles, uncut, up_to_stride


@dataclass(frozen=True)
class TileConfig:
    """tile_px: the side of a tile at the detector's input (network pixels); at the photo's own
        resolution unless that would take more than ``max_tiles`` tiles.
    overlap: the share of a tile its neighbours overlap (a person cut by one tile's edge is whole in
        the next: tiles of 640 px overlapping by a quarter hold anyone up to 160 px tall whole).
    max_tiles: the most tiles one photo is cut into (40 for a 4K frame at its own resolution, about
        2 s on 2 CPU cores); a larger photo is looked at scaled down to that many (an 8000x6000 still
        at 0.69: a 100 px tall person is 69 px tall at the detector's input; about 5 s).
    edge_px: boxes within this many network pixels of a tile's inner edge are cut by it (left to the
        neighbouring tile, which holds the person whole).
    """

    tile_px: int = 640
    overlap: float = 0.25
    max_tiles: int = 100
    edge_px: float = 4.0


def worth_tiles(shape: tuple[int, ...], largest_input: int, config: TileConfig = TileConfig()) -> bool:
    """Whether a photo of this shape is larger than the detector saw it whole (at ``largest_input``
    px), by more than a tile's overlap: only then can tiles show a person it could not."""
    return max(shape[:2]) > largest_input * (1 + config.overlap)


def people_in_tiles(
    image: np.ndarray, detector: PersonDetector, min_score: float, config: TileConfig
) -> Detections:
    """The people of ``image`` (BGR) found in tiles (photo pixels, any order), at ``min_score`` or more."""
    h, w = image.shape[:2]
    per_tile = (config.tile_px * (1 - config.overlap)) ** 2
    scale = min(1.0, math.sqrt(config.max_tiles * per_tile / (w * h)))
    cells = tiles(Look(0, 0, w, h, scale, "survey"), config.tile_px, config.overlap)
    crops = [image[y0:y1, x0:x1] for x0, y0, x1, y1 in cells]
    shape = (
        up_to_stride((cells[0][3] - cells[0][1]) * scale),
        up_to_stride((cells[0][2] - cells[0][0]) * scale),
    )
    boxes, scores = [np.zeros((0, 4), np.float32)], [np.zeros(0, np.float32)]
    for cell, dets in zip(cells, detector.detect_at(crops, shape)):
        dets = dets[(dets.score >= min_score) & uncut(dets, cell, scale, config.edge_px, (w, h))]
        boxes.append(dets.xyxy + np.array(cell[:2] * 2, np.float32))
        scores.append(dets.score)
    found = Detections(np.vstack(boxes), np.concatenate(scores))  # one person seen in two tiles: kept once
    return add_new(Detections.empty(), found, detector.config.nms_iou, DetectionPlanConfig().contained)
