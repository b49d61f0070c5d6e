"""Turning an operator's photo into the person crop to search for.

A photo that is already a person crop (the person fills it) is used as is. A wider photo is searched
for people and the largest is chosen, unless the caller picks one (by box or by index). A detector
finds people by their outline against a background, so a tight crop (the person touching all four
edges) and a small one (a person 60 px tall cut from HD footage) are also tried with a margin of
plain border around them, enlarged to the size the detector needs. A small photo with the shape of
a person (taller than wide) in which still nobody is found is taken as the person crop it plainly
is, with a note. A file that is not an image, one too small to show anyone, or a scene with no
person, is a :class:`QueryError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from models.detections import Detections
from models.detector import PersonDetector, input_side
from pipeline.errors import QueryError
from pipeline.look_geometry import overlap
from pipeline.photo_files import photo_and_scale
from pipeline.query_tiles import TileConfig, people_in_tiles, worth_tiles
from pipeline.types import Box

MIN_QUERY_SIDE = (8, 16)  # (width, height) below which a photo cannot show a person
OUTSIDE_SHARE = 0.5  # another person's box with more than this share outside the chosen one is beside them
MIN_DETAIL = 8.0  # grey-level standard deviation below which a photo is blank (one colour, fog)


@dataclass(frozen=True)
class QueryConfig:
    """min_score: least detector confidence for a person in a query photo (stricter than indexing:
        the operator expects the person they meant, not clutter).
    crop_fill: if the largest person's box is at least this fraction of the photo's height, and
        ``crop_fill_width`` of its width, the photo is taken to be a person crop and used whole (the
        framing the operator chose: a box may clip a foot or the head).
    crop_fill_width: ... and the box at least this fraction of its width: a photo more than twice
        as wide as the person holds more than the person (people behind them, the street), so the
        box is used; whole, the others are embedded too (a loose crop of a suspect in front of three
        others scored 0.631 whole, 0.969 by the box).
    crop_alone: ... and no one else is in it: another person at least this fraction of the chosen
        person's height, their box mostly (over half) outside the chosen one, makes the photo a photo of
        several people, and the box is used (a loose crop of two people side by side, the larger filling
        52 % of its width, was embedded whole, both people in one vector: 0.817 against 0.992 by the box).
    retry_sides: network input sizes tried, in order, when the size matched to the photo finds no one
        (tiny crops need small inputs, wide scenes large ones).
    pad: when nobody is found, the photo is tried again inside a plain border this wide (a fraction of
        its size on each side): a person touching every edge has no outline for the detector.
    pad_height: ... and enlarged so that the photo is at least this tall (pixels).
    crop_aspect: (least, most) height / width of a photo that is plainly a person crop. The most is
        for a sliver: a person half hidden behind a pole or a door frame, cut tight, is 6-8 times
        taller than wide, and still a person; only a strip thinner than that is not.
    crop_max_height: a photo of person shape at most this tall, in which still nobody is found, is
        used whole as the person crop (larger photos are scenes: a person in them would be found).
    small_height: a person crop shorter than this (pixels) gets a note that matches will be weaker.
    tiles: how a large photo in which no one is found whole is looked at in tiles.
    """

    min_score: float = 0.3
    crop_fill: float = 0.75
    crop_fill_width: float = 0.5
    crop_alone: float = 0.5
    retry_sides: tuple[int, ...] = (320, 640)
    pad: float = 0.25
    pad_height: int = 192
    crop_aspect: tuple[float, float] = (1.4, 10.0)
    crop_max_height: int = 400
    small_height: int = 96
    tiles: TileConfig = field(default_factory=TileConfig)


@dataclass(frozen=True)
class QueryPerson:
    """The person a search will look for, and where they are in the photo."""

    image: np.ndarray  # the whole photo, BGR
    people: Detections  # every person found, largest first
    chosen: int  # index into ``people``
    box: tuple[float, float, float, float]  # the region embedded, in photo pixels
    crop: np.ndarray  # BGR pixels of ``box``
    whole_photo: bool  # the photo was taken as a person crop
    note: str = ""  # what the operator should know about this query (small photo, no detection)
    turn: int | None = None  # the cv2.rotate code that stands the photo upright (None: it is upright)

    @property
    def person_box(self) -> Box | None:
        """The person searched for in the photo, None where the whole photo is the person crop."""
        return None if self.whole_photo else self.box

    def upright(self) -> tuple[np.ndarray, Box | None]:
        """The photo the right way up and the person's box in it, as a case keeps and shows them."""
        return upright_photo(self.image, self.person_box, self.turn)


def upright_photo(image: np.ndarray, box: Box | None, turn: int | None) -> tuple[np.ndarray, Box | None]:
    """A photo turned by ``turn`` (a cv2.rotate code; None: as it is), and ``box`` (its pixels) in the
    turned photo."""
    if turn is None:
        return image, box
    h, w = image.shape[:2]
    return cv2.rotate(image, turn), None if box is None else _turned(box, turn, w, h)


def find_people(image: np.ndarray, detector: PersonDetector, config: QueryConfig) -> Detections:
    """People in a photo, largest first; tries a few input sizes, then a large photo in tiles at its
    own resolution (:mod:`pipeline.query_tiles`), then the photo inside a border (enlarged if
    small), until someone is found."""
    first = input_side(max(image.shape[:2]), detector.config)
    sides = tuple(dict.fromkeys((first, *config.retry_sides)))
    for side in sides:
        dets = detector.detect([image], input_size=side)[0]
        dets = dets[dets.score >= config.min_score]
        if len(dets):
            return dets[np.argsort(-dets.area, kind="stable")]
    if worth_tiles(image.shape, max(sides), config.tiles):  # a small person in a large photo
        dets = people_in_tiles(image, detector, config.min_score, config.tiles)
        if len(dets):
            return dets[np.argsort(-dets.area, kind="stable")]
    h, w = image.shape[:2]
    zoom = max(1.0, config.pad_height / h)
    big = cv2.resize(image, (round(w * zoom), round(h * zoom)), interpolation=cv2.INTER_CUBIC)
    py, px = round(big.shape[0] * config.pad), round(big.shape[1] * config.pad)
    framed = cv2.copyMakeBorder(big, py, py, px, px, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    for side in dict.fromkeys((input_side(max(framed.shape[:2]), detector.config), *config.retry_sides)):
        dets = detector.detect([framed], input_size=side)[0]
        dets = dets[dets.score >= config.min_score]
        if len(dets):
            xyxy = (dets.xyxy - np.array([px, py, px, py], np.float32)) / zoom
            xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
            xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
            found = Detections(xyxy, dets.score)
            found = found[(found.width >= 2) & (found.height >= 2)]
            return found[np.argsort(-found.area, kind="stable")]
    return Detections.empty()


def looks_like_person_crop(image: np.ndarray, config: QueryConfig) -> bool:
    """A photo with the shape of a standing person, too small to be a scene, and not blank."""
    h, w = image.shape[:2]
    lo, hi = config.crop_aspect
    shaped = h <= config.crop_max_height and lo <= h / max(w, 1) <= hi
    return shaped and float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).std()) >= MIN_DETAIL


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
        if index is None and looks_like_person_crop(image, config):
            note = (
                f"no person detected in this {w}x{h} px photo; it has a person's shape, so it is used "
                "whole as the person crop"
            )
            return QueryPerson(image, people, -1, (0.0, 0.0, float(w), float(h)), image, True, note)
        raise QueryError(f"{source}: no person found in the photo")
    chosen = 0 if index is None else int(index)
    if not 0 <= chosen < len(people):
        raise QueryError(f"{source}: person {chosen} does not exist (found {len(people)})")
    bx = people.xyxy[chosen]
    if index is None and _fills(bx, w, h, config) and not _others_beside(people, chosen, config):
        return QueryPerson(image, people, chosen, (0.0, 0.0, float(w), float(h)), image, True)
    x1, y1 = int(max(bx[0], 0)), int(max(bx[1], 0))
    x2, y2 = int(min(np.ceil(bx[2]), w)), int(min(np.ceil(bx[3]), h))
    return QueryPerson(
        image, people, chosen, (float(x1), float(y1), float(x2), float(y2)), image[y1:y2, x1:x2], False
    )


def with_note(query: QueryPerson, note: str) -> QueryPerson:
    """The query with ``note`` added to its notes ("" adds none)."""
    if not note:
        return query
    return replace(query, note=f"{query.note}; {note}" if query.note else note)


def with_size_note(query: QueryPerson, config: QueryConfig) -> QueryPerson:
    """The query, with a note when its person crop is small (fewer details to match)."""
    h = query.crop.shape[0]
    if h >= config.small_height:
        return query
    return with_note(
        query, f"the person in the photo is only {h} px tall: matches will be weaker than with a larger photo"
    )


def prepare_query(
    path_or_image: str | Path | np.ndarray,
    detector: PersonDetector,
    config: QueryConfig = QueryConfig(),
    box: Sequence[float] | None = None,
    index: int | None = None,
    name: str | None = None,
) -> QueryPerson:
    """Load a photo (or take an image array) and choose the person to search for. ``name`` is what
    errors call the photo (the file the operator dropped); by default its path, or "photo"."""
    file_note = ""
    if isinstance(path_or_image, np.ndarray):
        image, source = path_or_image, name or "photo"
        if image.ndim != 3 or image.shape[2] != 3:
            raise QueryError(f"{source}: not a colour image")
    else:
        image, file_note, factor = photo_and_scale(Path(path_or_image))
        source = name or str(path_or_image)
        if factor > 1 and box is not None:  # the box is in the file's pixels, the picture smaller
            box = [float(v) / factor for v in box]
    h, w = image.shape[:2]
    if w < MIN_QUERY_SIDE[0] or h < MIN_QUERY_SIDE[1]:
        raise QueryError(
            f"{source}: the photo is {w}x{h} px, too small to show a person "
            f"(at least {MIN_QUERY_SIDE[0]}x{MIN_QUERY_SIDE[1]} px)"
        )
    people = find_people(image, detector, config)
    turn = sideways(image, people, detector, config)  # a box drawn on a lying photo turns with it
    if turn is None:
        query = choose_person(image, people, config, box, index, source)
    else:
        code, upright_people = turn
        drawn = None if box is None else _turned(box, code, w, h)
        q = choose_person(cv2.rotate(image, code), upright_people, config, drawn, index, source)
        back = Detections(
            np.array([_turned_back(b, code, w, h) for b in q.people.xyxy], np.float32).reshape(-1, 4),
            q.people.score,
        )
        note = "the photo lies on its side (no orientation tag says so): the person was searched upright"
        query = QueryPerson(
            image, back, q.chosen, _turned_back(q.box, code, w, h), q.crop, q.whole_photo, note, code
        )
    return with_size_note(with_note(query, file_note), config)


def sideways(
    image: np.ndarray, people: Detections, detector: PersonDetector, config: QueryConfig
) -> tuple[int, Detections] | None:
    """How to turn a photo that lies on its side (a phone's photo whose orientation tag a program
    dropped, a screenshot of it, a camera's frame saved turned), and the people in it so turned; None
    for a photo the right way up. Two cases, both looked at in the two quarter turns (the detector
    finds people upside down too, less sure, so the turn whose standing person it is surer of wins):

    - a person crop on its side: wider than tall, and nobody in it stands as tall as a person crop
      (a box taller than wide, ``crop_fill`` of its height: the detector finds the person lying, in
      a box wider than tall); turned, someone does. Two more detector runs.
    - a scene on its side: nobody in it stands at all (no box taller than wide, or no box), and
      turned someone does, more surely than anyone was found as it lies. People stand in any photo
      of people: a frame of a 1080p camera turned a quarter showed its people lying, found as 2 wide
      boxes or not at all, and the search looked for a sideways crop or refused the photo. The turns
      are looked at as the photo is (:func:`find_people`: tiles for a large photo), so a photo in
      which no one is found costs three times as long to refuse."""
    h, w = image.shape[:2]
    stands = people.height > people.width
    scene = not stands.any()
    if not scene and (w <= h or _standing(people, h, config).any()):
        return None
    floor = float(people.score.max()) if scene and len(people) else 0.0
    best: tuple[float, int, Detections] | None = None
    for code in (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE):
        turned = cv2.rotate(image, code)
        if scene:
            found = find_people(turned, detector, config)
            tall = found.height > found.width
        else:
            found = detector.detect([turned], input_size=input_side(w, detector.config))[0]
            found = found[found.score >= config.min_score]
            found = found[np.argsort(-found.area, kind="stable")]
            tall = _standing(found, w, config)  # the turned photo is w tall
        sure = float(found.score[tall].max()) if tall.any() else 0.0
        if sure > floor and (best is None or sure > best[0]):
            best = (sure, code, found)
    return None if best is None else (best[1], best[2])


def _standing(people: Detections, h: int, config: QueryConfig) -> np.ndarray:
    """Which people stand as tall as a person crop in a photo ``h`` tall (boxes taller than wide)."""
    return (people.height >= config.crop_fill * h) & (people.height > people.width)


def _fills(box: np.ndarray, w: int, h: int, config: QueryConfig) -> bool:
    """Whether a person's box fills a ``w`` x ``h`` photo as a person crop's does."""
    return (box[3] - box[1]) >= config.crop_fill * h and (box[2] - box[0]) >= config.crop_fill_width * w


def _others_beside(people: Detections, chosen: int, config: QueryConfig) -> bool:
    """Whether the photo shows someone beside person ``chosen`` (see ``QueryConfig.crop_alone``)."""
    tall = people.height >= config.crop_alone * people.height[chosen]
    tall[chosen] = False
    covered = overlap(people.xyxy[tall], people.xyxy[[chosen]])[:, 0]  # share of each inside theirs
    return bool((covered < OUTSIDE_SHARE).any())


def _turned(box: Sequence[float], code: int, w: int, h: int) -> Box:
    """A box of a ``w`` x ``h`` photo, in the photo turned by ``code`` (a quarter either way)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if code == cv2.ROTATE_90_CLOCKWISE:  # (x, y) goes to (h - y, x)
        return h - y2, x1, h - y1, x2
    return y1, w - x2, y2, w - x1  # counter-clockwise: (x, y) goes to (y, w - x)


def _turned_back(box: Sequence[float], code: int, w: int, h: int) -> Box:
    """A box in a ``w`` x ``h`` photo turned by ``code``, in the photo's own pixels: turned the other
    way, in the turned photo (``h`` wide, ``w`` tall)."""
    back = cv2.ROTATE_90_COUNTERCLOCKWISE if code == cv2.ROTATE_90_CLOCKWISE else cv2.ROTATE_90_CLOCKWISE
    return _turned(box, back, h, w)
