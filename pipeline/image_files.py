"""Image files to pixels: OpenCV for what it reads, Pillow for the rest, iPhone photos included.

OpenCV decodes JPEG, PNG, BMP, TIFF and WebP fast, but not HEIC/HEIF, the format iPhones save photos
in (a witness's photo of the person arrives as ``IMG_1234.HEIC``). Pillow reads it through the
``pillow-heif`` plugin (libheif), registered here; where the plugin is missing such a file is refused
with a line that names it. Pillow turns a photo upright by its EXIF orientation here (libheif
applies a HEIF file's own rotation itself and clears the tag).
"""

from __future__ import annotations

import io
import logging

import numpy as np

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif")
HEIF_EXTENSIONS = (".heic", ".heif")


def _register_heif() -> bool:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        log.info("pillow-heif is not installed: HEIC/HEIF photos cannot be read")
        return False
    register_heif_opener()
    return True


HEIF_READABLE = _register_heif()


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
