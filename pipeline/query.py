"""Turning an operator's photo into the person crop to search for.

A photo that is already a person crop (the person fills it) is used as is. A wider photo is searched
for people and the largest is chosen, unless the caller picks one (by box or by index). A file that
is not an image, or an image with no person, is a :class:`QueryError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.detections import Detections
from models.detector import PersonDetector, input_side
from pipeline.errors import QueryError

MAX_QUERY_PIXELS = 50_000_000  # larger images are refused (decompression bombs, mistaken files)


@dataclass(frozen=True)
class QueryConfig:
    """min_score: least detector confidence for a person in a query photo (stricter than indexing:
        the operator expects the person they meant, not clutter).
    crop_fill: if the largest person's box is at least this fraction of the photo's height, the
        photo is taken to be a person crop and used whole (the framing the operator chose).
    retry_sides: network input sizes tried, in order, when the size matched to the photo finds no one
        (tiny crops need small inputs, wide scenes large ones).
    """

    min_score: float = 0.3
    crop_fill: float = 0.75
    retry_sides: tuple[int, ...] = (320, 640)


@dataclass(frozen=True)
class QueryPerson:
    """The person a search will look for, and where they are in the photo."""

    image: np.ndarray  # the whole photo, BGR
    people: Detections  # every person found, largest first
    chosen: int  # index into ``people``
    box: tuple[float, float, float, float]  # the region embedded, in photo pixels
    crop: np.ndarray  # BGR pixels of ``box``
    whole_photo: bool  # the photo was taken as a person crop


def load_image(path: str | Path) -> np.ndarray:
    """Decode an image file (any path, unicode included) to BGR; :class:`QueryError` if it is not one."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise QueryError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from e
    if data.size == 0:
        raise QueryError(f"{path}: empty file, not an image")
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if header is None:
        raise QueryError(f"{path}: not an image (or an unsupported image format)")
    if header.size * 64 > MAX_QUERY_PIXELS:
        raise QueryError(f"{path}: image too large ({header.shape[1] * 8}x{header.shape[0] * 8} px)")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise QueryError(f"{path}: not an image (or an unsupported image format)")
    return image


def find_people(image: np.ndarray, detector: PersonDetector, config: QueryConfig) -> Detections:
    """People in a photo, largest first; tries a few input sizes until someone is found."""
    first = input_side(max(image.shape[:2]), detector.config)
    for side in dict.fromkeys((first, *config.retry_sides)):
        dets = detector.detect([image], input_size=side)[0]
        dets = dets[dets.score >= config.min_score]
        if len(dets):
            return dets[np.argsort(-dets.area, kind="stable")]
    return Detections.empty()


def choose_person(
    image: np.ndarray,
    people: Detections,
    config: QueryConfig,
    box: Sequence[float] | None = None,
    index: int | None = None,
    source: str = "photo",
) -> QueryPerson:
    """Pick the query person: ``box`` (photo pixels) or ``index`` if given, else the largest."""
    h, w = image.shape[:2]
    if box is not None:
        x1, y1, x2, y2 = (float(v) for v in box)
        x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(w)), min(y2, float(h))
        if x2 - x1 < 4 or y2 - y1 < 4:
            raise QueryError(f"{source}: the chosen box is empty or outside the photo")
        crop = image[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))]
        return QueryPerson(image, people, -1, (x1, y1, x2, y2), crop, False)
    if not len(people):
        raise QueryError(f"{source}: no person found in the photo")
    chosen = 0 if index is None else int(index)
    if not 0 <= chosen < len(people):
        raise QueryError(f"{source}: person {chosen} does not exist (found {len(people)})")
    bx = people.xyxy[chosen]
    if index is None and (bx[3] - bx[1]) >= config.crop_fill * h:
        return QueryPerson(image, people, chosen, (0.0, 0.0, float(w), float(h)), image, True)
    x1, y1 = int(max(bx[0], 0)), int(max(bx[1], 0))
    x2, y2 = int(min(np.ceil(bx[2]), w)), int(min(np.ceil(bx[3]), h))
    return QueryPerson(
        image, people, chosen, (float(x1), float(y1), float(x2), float(y2)), image[y1:y2, x1:x2], False
    )


def prepare_query(
    path_or_image: str | Path | np.ndarray,
    detector: PersonDetector,
    config: QueryConfig = QueryConfig(),
    box: Sequence[float] | None = None,
    index: int | None = None,
) -> QueryPerson:
    """Load a photo (or take an image array) and choose the person to search for."""
    if isinstance(path_or_image, np.ndarray):
        image, source = path_or_image, "photo"
        if image.ndim != 3 or image.shape[0] < 8 or image.shape[1] < 4:
            raise QueryError("photo: not a colour image")
    else:
        image, source = load_image(path_or_image), str(path_or_image)
    people = find_people(image, detector, config)
    return choose_person(image, people, config, box, index, source)
