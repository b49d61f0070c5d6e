"""Pictures the way they are meant to be seen.

A phone, or a camera mounted on its side, stores the picture sideways and says how to turn it for
display: a video in its stream's display matrix, a photo in its EXIF ``Orientation`` tag. Viewers
turn them, and so does Spotter, before anything looks at the pixels: the detector finds upright
people, and boxes, crops, clips and frame sizes are those of the picture the operator sees.
OpenCV's own image decoding turns a photo by its EXIF tag (``IMREAD_COLOR``) but not when it keeps a
16-bit or transparent image as it is (``IMREAD_UNCHANGED``), and never tells the size it will have.

Pixels need not be square: an analogue camera's DVR stores its 4:3 picture as 704x576 (PAL D1) or
352x288 (CIF), each pixel 12:11 as wide as high (10:11 NTSC), and says so in the stream (its sample
aspect ratio). Here the pixels stay as stored: the detector, the tracker and the JSON boxes work in
them (as the shared evaluator and OpenCV read a video); what shows a picture to a person (the player,
clips, thumbnails) stretches it by the video's ``pixel_aspect``, as players do, and so does indexing
(:func:`square_scale`, ``pipeline.index_run``): the detector and the ReID model learnt people's shape
from square pixels, and an old DVR's Half D1 (352x576, pixels 24:11) or 2CIF (704x288, 6:11) halves
one of their sides.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

ORIENTATION_TAG = 0x0112  # EXIF Orientation: 1 upright, 2-8 mirrored and/or turned
PIXEL_ASPECT_RANGE = (0.25, 4.0)  # sample aspect ratios outside this are damage, not a camera
SQUARE_TOLERANCE = 0.02  # pixels within this of square are square: frames are not resampled for it
_TURNS = (None, cv2.ROTATE_90_COUNTERCLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE)


def quarter_turns(frame: Any) -> int:
    """Counter-clockwise quarter turns (0-3) that show a decoded video frame (PyAV) upright, from its
    display matrix (0 without one; an angle between quarter turns is rounded to the nearest)."""
    try:
        angle = float(getattr(frame, "rotation", 0) or 0)
    except (TypeError, ValueError):
        return 0
    return round(angle / 90) % 4 if math.isfinite(angle) else 0


def turned(image: np.ndarray, turns: int) -> np.ndarray:
    """``image`` turned counter-clockwise by ``turns`` quarter turns."""
    return image if not turns % 4 else cv2.rotate(image, _TURNS[turns % 4])


def read_exif(img: Any) -> Any:
    """The EXIF of an open Pillow image (a ``PIL.Image.Exif``, empty when it has none or a bad one).
    Never decodes the pixels: Pillow's ``getexif()`` on a PNG without an eXIf chunk before its pixels
    loads the whole image (a 30000x30000 PNG of 2.6 MB: 11 s and 3.5 GB before its size could be
    refused), so a PNG's EXIF is read only from the chunk its header brought."""
    from PIL import Image

    try:
        if getattr(img, "format", None) == "PNG":
            exif = Image.Exif()
            raw = img.info.get("exif")
            if raw:
                exif.load(raw)
            return exif
        return img.getexif()
    except (AttributeError, TypeError, ValueError, OSError, SyntaxError):
        return Image.Exif()


def orientation_in(exif: Any) -> int:
    """The orientation (1-8) an EXIF block (:func:`read_exif`) gives; 1 when none or a bad one."""
    try:
        value = int(exif.get(ORIENTATION_TAG, 1))
    except (AttributeError, TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


UPRIGHT_ON_DECODING = frozenset({"TIFF"})  # Pillow formats whose decoders apply the EXIF orientation:
# libtiff reads a TIFF turned by its Orientation tag, under OpenCV and Pillow alike (Pillow's size too)


def orientation_left(img: Any, exif: Any = None) -> int:
    """The EXIF orientation that an open Pillow image's size, and OpenCV's decoding of its file, do
    not show yet: its tag (``exif``: its :func:`read_exif`, when read already), or 1 for a format
    its decoders turn on reading (turned again, a sideways TIFF came out upside down)."""
    if getattr(img, "format", None) in UPRIGHT_ON_DECODING:
        return 1
    return orientation_in(read_exif(img) if exif is None else exif)


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(width, height) of a picture of stored ``size`` once shown in its EXIF ``orientation``."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def oriented(image: np.ndarray, orientation: int) -> np.ndarray:
    """Stored pixels shown in their EXIF ``orientation`` (the tag's eight cases, as viewers do)."""
    if orientation == 2:
        return image[:, ::-1].copy()
    if orientation == 3:
        return turned(image, 2)
    if orientation == 4:
        return image[::-1].copy()
    if orientation == 5:  # mirrored along the main diagonal
        return np.ascontiguousarray(image.swapaxes(0, 1))
    if orientation == 6:
        return turned(image, 3)
    if orientation == 7:  # mirrored along the other diagonal
        return np.ascontiguousarray(image[::-1, ::-1].swapaxes(0, 1))
    if orientation == 8:
        return turned(image, 1)
    return image


def pixel_aspect(stream: Any, frame: Any) -> float:
    """A pixel's width over its height in the upright picture: the sample aspect ratio the stream (or
    its codec) declares; 1 where it declares none (0:1, the usual "unknown") or a nonsensical one."""
    for value in (
        getattr(stream, "sample_aspect_ratio", None),
        getattr(stream.codec_context, "sample_aspect_ratio", None),
    ):
        try:
            ratio = float(value) if value else 0.0
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            ratio = 0.0
        if PIXEL_ASPECT_RANGE[0] <= ratio <= PIXEL_ASPECT_RANGE[1]:
            return 1.0 / ratio if quarter_turns(frame) % 2 else ratio
    return 1.0


def square_scale(pixel_aspect: float) -> tuple[float, float]:
    """(across, down) factors that make pixels of this shape square without losing any: the picture
    is stretched along its narrower axis (D1's 12:11: 12/11 across; 2CIF's 6:11: 11/6 down)."""
    if abs(pixel_aspect - 1.0) <= SQUARE_TOLERANCE:
        return 1.0, 1.0
    return (pixel_aspect, 1.0) if pixel_aspect > 1.0 else (1.0, 1.0 / pixel_aspect)
