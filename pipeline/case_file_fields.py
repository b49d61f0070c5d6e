"""The fields of a case file (:mod:`pipeline.case_file`) checked one by one: appearance vectors,
track numbers and frames, times, a mark's boxes, a photo's bytes and its box. Each check raises
``ValueError`` (or :class:`~pipeline.case_file.CaseFileError` for a photo) naming what is wrong, so
that the reader refuses a file in one line."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np

from pipeline.errors import SpotterError
from pipeline.file_names import is_text
from pipeline.image_files import MAX_IMAGE_PIXELS, image_header, too_many_pixels
from pipeline.media_scan import HEADER_BYTES, kind_of
from pipeline.storage.embedding_reads import EmbeddingReads
from pipeline.storage.records import box_from_json
from pipeline.upright import oriented_size

# A mark's box coordinate beyond this (in pixels, either sign) is damaged: far past any frame (an 8K
# one is 7680 px wide), and areas of boxes near the float limit overflow in the overlap tests.
MAX_BOX_PX = 100_000.0


class CaseFileError(SpotterError):
    """A case file that cannot be read: damaged, not a case, or from a newer Spotter."""


def check_photo(data: bytes, box: object, where: str) -> None:
    """Refuse a photo's bytes that are no image, or a box that is not inside the picture."""
    size, orientation = image_header(data)
    if size is None:  # a format this Spotter's Pillow does not read (HEIC without pillow-heif) is kept
        if kind_of(data[:HEADER_BYTES]) != "image":
            raise CaseFileError(f"{where} is not an image")
        return
    if too_many_pixels(size):  # a decompression bomb: a few KB that decode to gigabytes
        raise CaseFileError(
            f"{where} is {size[0]}x{size[1]} px: photos are read up to "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} million pixels"
        )
    w, h = oriented_size(size, orientation)
    found = box_from_json(json.dumps(box))
    if found is not None and not (found[0] >= 0 and found[1] >= 0 and found[2] <= w and found[3] <= h):
        raise CaseFileError(f"{where}: its box {list(found)} is not inside the {w}x{h} px picture")


def check_text(doc: object) -> None:
    """ValueError where a string of the parsed file (a key or a value, at any depth) is not text: a
    lone surrogate (``"\\ud800"``) is legal JSON, but it cannot be stored, compared or printed. The walk
    keeps its own stack, so nesting deep enough to stop a recursive walk is read to the end."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and not is_text(item):
            raise ValueError(f"{item[:40]!r} is not text (UTF-8)")


def mark_boxes(rows: object) -> np.ndarray:
    """A mark's boxes as an (N, 5) array of finite numbers, the coordinates within ``MAX_BOX_PX``;
    empty when they are not that."""
    try:
        boxes = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        return np.zeros((0, 5))
    ok = boxes.ndim == 2 and boxes.shape[1] == 5 and len(boxes) and np.isfinite(boxes).all()
    return boxes if ok and (np.abs(boxes[:, 1:]) <= MAX_BOX_PX).all() else np.zeros((0, 5))


def iso(t: datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat(timespec="seconds")


def unit_vector(values: object) -> np.ndarray:
    """A photo's appearance vector from a case file, at unit length as the ReID model gives it (a file
    written by another tool or by hand may scale it: scores are cosines, never above 1); ValueError
    for one that is not a flat, finite, non-zero list of JSON numbers (a list of strings such as
    ``["0.1", ...]`` is not one, though numpy would convert it)."""
    if not isinstance(values, list) or not all(_number(v) for v in values):
        raise ValueError("a photo's vector is not a flat list of finite numbers")
    vector = np.asarray(values, np.float64)
    if vector.ndim != 1 or not vector.size or not np.isfinite(vector).all():
        raise ValueError("a photo's vector is not a flat list of finite numbers")
    largest = float(np.abs(vector).max())
    if not largest > 0:
        raise ValueError("a photo's vector has no direction (all zero)")
    vector = vector / largest  # the norm of values near the float limit would overflow
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _number(value: object) -> bool:
    """Whether a parsed JSON value is a number (``true`` and ``false`` are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def count(value: object) -> int:
    """A track number or frame index from a case file; ValueError for anything but a whole number
    (``4`` or ``4.0``: not ``4.9``, ``"4"`` or ``true``, which an earlier reading rounded or converted
    and so marked another track) or one outside what a library can hold."""
    if not _number(value) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not a whole number")
    number = int(value)
    if not 0 <= number < 2**63:
        raise ValueError(f"{number} is out of range")
    return number


def file_time(text: object) -> datetime | None:
    """A recorded time (ISO 8601) in UTC, None where none is recorded; ValueError for one that is not a
    time. A time with an offset is turned into UTC; one without is UTC already (Spotter writes every
    time with +00:00, another tool may leave it out)."""
    if text is None or text == "":
        return None
    when = datetime.fromisoformat(str(text))
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def time_or_now(text: object) -> datetime:
    """A recorded time, or now where the file records none (read_case_file refused a wrong one)."""
    return file_time(text) or datetime.now(timezone.utc)


def check_vector_lengths(photos: list[dict], library: EmbeddingReads | None = None) -> None:
    """ValueError where a photo's vector is not as long as the other vectors of its ReID model: the
    file's own (each photo's first of that model), or, with ``library``, that library's vectors of
    the model (a search compares it with them: 'query has 3 dimensions, the index 512')."""
    lengths: dict[str, tuple[int, str]] = {}
    for k, p in enumerate(photos, 1):
        model, size = str(p["model"]), len(p["vector"])
        if model not in lengths:
            stored = library.load_embeddings(model, "track", limit=1)[2] if library is not None else None
            known = stored is not None and len(stored)
            lengths[model] = (stored.shape[1], "this library's") if known else (size, f"photo {k}'s")
        want, whose = lengths[model]
        if size != want:
            raise ValueError(f"photo {k}'s vector has {size} values, {whose} vectors of {model} {want}")
