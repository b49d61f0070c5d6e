"""Query photos read from files: any path, any format OpenCV or Pillow reads (HEIC with
pillow-heif), upright by their EXIF orientation, in 8-bit BGR; refused in one line where they are no
image, damaged, or too large to decode safely (decided from the header, before any pixel is
decoded); a JPEG over the pixel limit (a 108 MP phone photo) decoded at a reduced size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import QueryError
from pipeline.image_files import (
    HEIF_EXTENSIONS,
    HEIF_READABLE,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    decode_with_pillow,
    image_header,
    picture_count,
    reduced_jpeg,
    too_many_pixels,
    truncated_png,
)
from pipeline.upright import oriented


def load_image(path: str | Path) -> np.ndarray:
    """Decode an image file (any path, unicode included) to BGR; :class:`QueryError` if it is not one."""
    return load_photo(path)[0]


def load_photo(path: str | Path) -> tuple[np.ndarray, str]:
    """:func:`load_image`, and what the operator should know of the file ("" or a note: an animated
    GIF or a multi-page TIFF, of which the first picture is what is searched)."""
    image, note, _ = photo_and_scale(Path(path))
    return image, note


def photo_and_scale(path: Path) -> tuple[np.ndarray, str, int]:
    """:func:`load_photo`, and by how many times the picture was decoded smaller than the file's (1,
    or 2, 4, 8 for a JPEG over the pixel limit): a box given in the file's pixels is divided by it."""
    try:
        if path.exists() and not path.is_file():  # a pipe or a device would block the caller for good
            raise QueryError(f"{path}: not a file")
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise QueryError(f"{path}: too large for a photo ({path.stat().st_size / 2**20:.0f} MB)")
        data = np.fromfile(path, dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise QueryError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from e
    if data.size == 0:
        raise QueryError(f"{path}: empty file, not an image")
    size, orientation = image_header(data)  # read before decoding: refuse decompression bombs unopened
    if too_many_pixels(size):
        reduced = reduced_jpeg(data, size)
        if reduced is None:
            raise QueryError(
                f"{path}: image too large ({size[0]}x{size[1]} px: photos up to {MAX_IMAGE_PIXELS / 1e6:.0f} "
                "million pixels are read, a baseline JPEG up to 64 times that at a reduced size)"
            )
        image, factor = reduced
        note = f"a {size[0] * size[1] / 1e6:.0f} MP photo: searched at 1/{factor} of its size"
        return oriented(image, orientation), "; ".join(n for n in (note, _pictures_note(data)) if n), factor
    if size is None:  # no header Pillow reads: HEIC without its plugin, or no image Spotter may decode
        if path.suffix.lower() in HEIF_EXTENSIONS and not HEIF_READABLE:
            raise QueryError(f"{path}: a HEIC/HEIF photo, and pillow-heif is not installed to read it")
        raise QueryError(f"{path}: not an image (or an unsupported image format)")
    try:  # (a PNG cut short is not handed to libpng, which would say so on stderr)
        image = None if truncated_png(data) else cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise QueryError(f"{path}: the image does not decode ({str(e).strip().splitlines()[-1][:80]})") from e
    if image is None or image.size == 0:
        image = decode_with_pillow(data)  # an iPhone's HEIC photo (upright already), or what OpenCV lacks
        if image is not None and image.size:
            return image, _pictures_note(data), 1
        raise QueryError(
            f"{path}: a damaged or truncated image ({size[0]}x{size[1]} px, its pixels do not decode)"
        )
    return (
        oriented(to_bgr(image, str(path)), orientation),
        _pictures_note(data),
        1,
    )  # a phone's photo, upright


def _pictures_note(data: np.ndarray) -> str:
    """A note for a file that holds several pictures ("" for one)."""
    n = picture_count(data)
    if n == 1:
        return ""
    return (
        f"the file holds {n} pictures (an animation or a multi-page image): the first is searched; "
        "to search another, save it as a photo of its own"
    )


def to_bgr(image: np.ndarray, source: str) -> np.ndarray:
    """8-bit BGR from any decoded image: grey, 16-bit, or with transparency (laid on plain grey, as
    the detector's own padding; an image that is transparent everywhere shows nothing)."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        if float(alpha.max()) < 1 / 255:
            raise QueryError(f"{source}: the image is fully transparent: it shows nothing to search for")
        grey = np.full_like(image[:, :, :3], 114)
        return (image[:, :, :3] * alpha + grey * (1 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(image[:, :, :3])
