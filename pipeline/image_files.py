"""Image files to pixels: OpenCV for what it reads, Pillow for the rest, iPhone photos included.

OpenCV decodes JPEG, PNG, BMP, TIFF and WebP fast, but not HEIC/HEIF, the format iPhones save photos
in (a witness's photo of the person arrives as ``IMG_1234.HEIC``). Pillow reads it through the
``pillow-heif`` plugin (libheif), registered here; where the plugin is missing such a file is refused
with a line that names it. Pillow turns a photo upright by its EXIF orientation here (libheif
applies a HEIF file's own rotation itself and clears the tag).

A file is only an image Spotter reads (a query photo, a snapshot) within ``MAX_IMAGE_BYTES`` and
``MAX_IMAGE_PIXELS``: a video or a disk image named ``.jpg`` is refused unread, and a decompression
bomb (a small PNG whose header claims 20000x20000 pixels) by its header, before any pixel is decoded.
An image whose size its header does not tell (a format Pillow does not know: Radiance ``.hdr``, PFM,
PAM, which OpenCV would decode) is not decoded at all: 4 MB of run-length pixels can hold 8000x8000
floats (0.8 GB). OpenCV's own limit (``OPENCV_IO_MAX_IMAGE_PIXELS``) cannot stand in for it: OpenCV
reads it once, when it is imported, so it depends on which module imported ``cv2`` first.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from pipeline.file_names import one_line, shown
from pipeline.upright import orientation_left

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif")
PHOTO_EXTENSIONS = (*IMAGE_EXTENSIONS, ".gif")  # a query photo may be a messenger's GIF; a snapshot is not
HEIF_EXTENSIONS = (".heic", ".heif")
MAX_IMAGE_BYTES = 200 << 20  # a larger file is no photo or snapshot: refused unread
MAX_IMAGE_PIXELS = 50_000_000  # a larger image is refused by its header (8K is 33 M pixels)


def _register_heif() -> bool:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        log.info("pillow-heif is not installed: HEIC/HEIF photos cannot be read")
        return False
    register_heif_opener()
    return True


HEIF_READABLE = _register_heif()


def _lift_pillow_limit() -> None:
    """Pillow refuses images over its own pixel limit by raising (and warns well below it); Spotter
    decides what is too large (``MAX_IMAGE_PIXELS``, from the header) before any pixel is decoded,
    so Pillow's limit is lifted once, here, where Spotter's readers of image files live."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None


_lift_pillow_limit()


def decode_with_pillow(data: bytes | np.ndarray) -> np.ndarray | None:
    """8-bit BGR pixels of an image file's bytes decoded by Pillow, upright by its EXIF orientation;
    None if Pillow cannot read it."""
    from PIL import Image, ImageOps

    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    try:
        with Image.open(io.BytesIO(raw)) as img:
            rgb = ImageOps.exif_transpose(img).convert("RGB")
            return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    except Exception:  # any failure of any of Pillow's decoders means: not an image it reads
        return None


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def truncated_png(data: bytes | np.ndarray) -> bool:
    """Whether the bytes are a PNG that ends before its closing chunk (IEND): a copy cut short, a
    snapshot still being written. Checked from the chunk lengths before decoding, as libpng says so
    on stderr, past any logging, when OpenCV decodes such a file."""
    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    if not raw.startswith(_PNG_SIGNATURE):
        return False
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(raw):
        length, kind = int.from_bytes(raw[at : at + 4], "big"), raw[at + 4 : at + 8]
        if kind == b"IEND":
            return False
        at += 12 + length  # length, type, data, CRC
    return True


def image_header(data: bytes | np.ndarray) -> tuple[tuple[int, int] | None, int]:
    """((width, height) as decoded, or None where Pillow does not know the format; the EXIF orientation
    still to apply, see :func:`pipeline.upright.orientation_left`) from an image file's bytes, without
    decoding its pixels."""
    from PIL import Image

    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    try:
        with Image.open(io.BytesIO(raw)) as img:
            return (int(img.size[0]), int(img.size[1])), orientation_left(img)
    except Exception:  # not a format Pillow knows: its size is unknown, so it is not decoded
        return None, 1


def picture_count(data: bytes | np.ndarray) -> int:
    """How many pictures an image file holds (an animated GIF or WebP, a multi-page TIFF: more than
    one, of which decoding gives the first); 1 where Pillow cannot tell."""
    from PIL import Image

    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    try:
        with Image.open(io.BytesIO(raw)) as img:
            return max(1, int(getattr(img, "n_frames", 1)))
    except Exception:  # unreadable here: the decoder that follows says what is wrong
        return 1


def too_many_pixels(size: tuple[int, int] | None) -> bool:
    """Whether an image of this size (None: unknown) is beyond ``MAX_IMAGE_PIXELS``."""
    return size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS


def reduced_jpeg(data: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, int] | None:
    """A JPEG over ``MAX_IMAGE_PIXELS`` (a 108 MP phone photo) decoded at 1/2, 1/4 or 1/8 of its
    size, the least that is within the limit (libjpeg decodes it so without the whole picture in
    memory), with that factor; None for other formats, a JPEG too large even at 1/8, or a
    progressive JPEG (libjpeg keeps a progressive file's coefficients at full size whatever the
    scale: 4.8 GB for a 16 KB file whose header claims 40000x40000; a review)."""
    if data[:2].tobytes() != b"\xff\xd8" or _progressive(data):
        return None
    flags = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
    for factor, flag in flags.items():
        if not too_many_pixels((size[0] // factor, size[1] // factor)):
            try:
                image = cv2.imdecode(data, flag | cv2.IMREAD_IGNORE_ORIENTATION)  # (turned by the caller)
            except cv2.error:
                return None
            return (image, factor) if image is not None and image.size else None
    return None


_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}  # JPEG frame markers (SOFn) of progressive coding


def _progressive(data: np.ndarray) -> bool:
    """Whether a JPEG's frame marker says progressive coding (read from the segment headers only)."""
    raw, at = data[: 1 << 20].tobytes(), 2
    while at + 4 <= len(raw) and raw[at] == 0xFF:
        marker = raw[at + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a frame header: it decides
            return marker in _PROGRESSIVE
        at += 2 + int.from_bytes(raw[at + 2 : at + 4], "big")
    return True  # no frame header where one belongs: not decoded reduced


def read_image(path: Path) -> np.ndarray | None:
    """BGR pixels of an image file (any path, unicode included; HEIC too, see
    :mod:`pipeline.image_files`), upright by its EXIF orientation, or None if it does not decode or
    is beyond the limits of an image (a video named .jpg is not read, a decompression bomb or an
    image whose header does not tell its size not decoded; the reason is logged)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_IMAGE_BYTES:
                log.warning("%s: %d MB, too large for an image: not read", _named(path), size >> 20)
                return None
            data = fh.read()
    except (OSError, ValueError):
        return None
    if not data:
        return None
    wh, _ = image_header(data)
    if wh is None:  # no header that tells its size: not decoded (see pipeline.image_files)
        log.warning("%s: not an image (or an unsupported image format): not decoded", _named(path))
        return None
    if too_many_pixels(wh):
        log.warning("%s: %dx%d px, too large for an image: not decoded", _named(path), *wh)
        return None
    if truncated_png(data):
        log.warning("%s: a truncated PNG image: not decoded", _named(path))
        return None
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:  # OpenCV refuses some damaged data by raising instead of returning None
        image = None
    return image if image is not None else decode_with_pillow(data)  # HEIC, and what OpenCV lacks


def _named(path: Path) -> str:
    """An image's file name as a log line shows it: readable and on one line, whatever it holds."""
    return one_line(shown(path.name))
