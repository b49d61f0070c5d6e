"""Footage without colour (a camera at night in infrared mode, a black-and-white camera) is compared
with the query photo turned grey: like with like.

The appearance model weighs clothing colour heavily, so a colour photo does not match a person
recorded without colour. Measured (README, "Night footage"): PETS09-S2L1, TUD-Campus and
ADL-Rundle-6 turned grey and searched with each person's colour photo, F1 0.013 / 0.282 / 0.066;
with the same photo turned grey, 0.668 / 0.801 / 0.468. A track is without colour when its best
crop has none: in such footage every pixel's channels differ by the codec's rounding only, while a
colour camera's crop, even of someone dressed in black and grey, has skin, background and sensor
noise in colour. Written here: a few array operations, no library decides this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

CLIPPED_HIGH, CLIPPED_LOW = 250, 5  # a channel at either end was clipped: its tint's proportion is lost
MIN_FIT_PIXELS = 50  # fewer pixels: no tint is judged; fewer unclipped: the line is fitted to all


@dataclass(frozen=True)
class MonochromeConfig:
    """spread / share: a crop has no colour when at most ``share`` of its pixels have channels
    further apart than ``spread`` (0-255; the largest minus the smallest channel), once the crop's
    colour cast is taken out. Measured on the stored best crops (JPEG, decoded at half size): footage
    turned grey, 0 % of pixels beyond 4; the 2,717 tracks of 97 colour libraries (PETS09-S2L1,
    TUD-Campus and ADL-Rundle-6 at 1-30 fps, as snapshots, in 1080p and 4K), 17 % at the least (a
    small person in dark clothes), 91 % the median. A codec's rounding in real infrared footage moves
    a few pixels by a level or two: the share allows for it.

    cast_offset: a camera without colour may still tint its picture (a white balance left as it was
        by day, a recorder's colour settings): each channel then lies a fixed number of levels from
        green in every pixel. The crop's own offsets (the median over its pixels, held within
        +-``cast_offset`` levels) are taken out before the spread is measured; colour has no such
        offset, as skin, clothes and background each lie elsewhere. ``bench/monochrome_rule.py``
        measures it (colour crops of every shared sequence, and the same crops without colour,
        tinted and not); 0 measures the spread as recorded.
    tint_residual: a camera without colour may also weigh its channels differently (an infrared
        picture a little red, a greenish one): each channel is then a fixed multiple of the picture's
        brightness, plus an offset, so a crop's chroma (YCrCb) is a straight line of its luma. The
        crop (3x3-blurred, as JPEG blurs its chroma; pixels with a clipped channel left out, where
        the proportion breaks) is without colour, too, when the 90th percentile of its chroma's
        distance from the best such line is at most this many levels. Colour lies off any one line
        (skin, clothes and background each have their own hue). Measured (``bench/monochrome_rule.py
        --every 10``, 1,150 colour crops of the ten shared sequences): colour crops 1.14 at the
        least, 2.1 at the 1st percentile; the same crops grey-tinted (blue x0.9, red x1.12) 0.90
        median, 1.56 at the 95th percentile; greenish 0.92, 1.24. Judged on tracks' stored thumbnails
        only (:func:`without_colour`). 0 switches this test off.
    """

    spread: int = 4
    share: float = 0.05
    cast_offset: float = 16.0
    tint_residual: float = 1.5


def without_colour(
    image: np.ndarray, config: MonochromeConfig = MonochromeConfig(), tints: bool = False
) -> bool:
    """Whether a crop was recorded without colour (see :class:`MonochromeConfig`); ``tints``: a tint
    that weighs the channels counts too, judged only on a track's stored thumbnail
    (:func:`jpeg_without_colour`), the size ``tint_residual`` was measured at. A query photo is
    judged by the spread alone: a person 55x18 px in a JPEG at quality 95 (PETS09-S2L1's person 19)
    lies 1.43 levels from a line, and was searched as a photo without colour."""
    if image is None or image.ndim != 3 or image.shape[2] < 3 or not image.size:
        return False
    b, g, r = (image[:, :, k].astype(np.int16) for k in range(3))
    b, r = (c - _cast(c - g, config.cast_offset) for c in (b, r))
    spread = np.maximum(np.maximum(b, g), r) - np.minimum(np.minimum(b, g), r)
    if np.count_nonzero(spread > config.spread) <= config.share * spread.size:
        return True
    return tints and config.tint_residual > 0 and _tint_residual(image[:, :, :3]) <= config.tint_residual


def _tint_residual(image: np.ndarray) -> float:
    """How far a crop's chroma lies from one straight line of its luma (the 90th percentile of the
    distance, in levels, the larger of Cr's and Cb's): small for a grey picture however tinted."""
    if image.shape[0] * image.shape[1] < MIN_FIT_PIXELS:  # a few pixels fit any line
        return math.inf
    ycc = cv2.blur(cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb).astype(np.float32), (3, 3))
    unclipped = (image.max(axis=2) < CLIPPED_HIGH) & (image.min(axis=2) > CLIPPED_LOW)
    if np.count_nonzero(unclipped) < MIN_FIT_PIXELS:
        unclipped = np.ones(unclipped.shape, bool)
    pixels = ycc[unclipped]  # (n, 3): luma, Cr, Cb
    centred = pixels - pixels.mean(axis=0)
    y = centred[:, 0]
    spread = float(y @ y)
    worst = 0.0
    for k in (1, 2):  # the least-squares line of each chroma on luma (one brightness: its mean)
        slope = float(y @ centred[:, k]) / spread if spread > 0 else 0.0
        worst = max(worst, float(np.percentile(np.abs(centred[:, k] - slope * y), 90)))
    return worst


def _cast(difference: np.ndarray, limit: float) -> np.int16:
    """A channel's tint against green: the median difference, held within +-``limit`` levels."""
    return np.int16(np.clip(np.rint(np.median(difference)), -limit, limit))


def jpeg_without_colour(jpeg: bytes, config: MonochromeConfig = MonochromeConfig()) -> bool:
    """:func:`without_colour` of a stored JPEG crop, decoded at half size (False if it does not)."""
    data = np.frombuffer(jpeg or b"", np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_2) if data.size else None
    return image is not None and without_colour(image, config, tints=True)


def grey(image: np.ndarray) -> np.ndarray:
    """A BGR image turned grey, still three channels (what the appearance model takes)."""
    return cv2.cvtColor(cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
