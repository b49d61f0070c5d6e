"""Clothing colours of a person crop: how much of the upper body and of the legs is each named colour.

The palette is the eleven basic colour terms (Berlin and Kay) a witness uses: black, white, grey,
red, orange, yellow, green, blue, purple, pink, brown. A crop's torso (rows 18-50 % of its height)
and legs (rows 55-90 %), each in the middle half of its width (the person, not the background beside
them), are named pixel by pixel in HSV: dark pixels are black, unsaturated ones white or grey by
brightness, the rest by hue, with dark oranges and yellows brown and pale reds pink. The result is
the share of each name per region: a distribution, not one label, so that a jacket in shadow
(partly black) or a striped top still carries its colour. A track's colours are the mean over its
chosen crops (the same crops its appearance vector comes from).

Written here rather than taken from a library: colour naming of person crops is a few array
operations with OpenCV, and no maintained library does it for this palette.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.monochrome import without_colour

PALETTE = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
UPPER, LOWER = 0, 1


@dataclass(frozen=True)
class ColourConfig:
    """Where the regions are (fractions of the crop) and the HSV limits of the names (OpenCV units:
    H 0-180, S and V 0-255).

    dark_v: below this brightness a pixel is black whatever its hue (shadow, dark cloth).
    grey_s: below this saturation a pixel has no hue: white above ``white_v``, else grey.
    brown_v: oranges and yellows darker than this are brown; pink_s / pink_v: reds paler than
        ``pink_s`` and brighter than ``pink_v`` are pink.
    present: least share of a colour for a track to count as wearing it (narrowing a photo search).
    """

    upper_rows: tuple[float, float] = (0.18, 0.50)
    lower_rows: tuple[float, float] = (0.55, 0.90)
    columns: tuple[float, float] = (0.25, 0.75)
    dark_v: int = 60
    grey_s: int = 45
    white_v: int = 185
    brown_v: int = 150
    pink_s: int = 130
    pink_v: int = 160
    present: float = 0.2


# hue bounds (OpenCV, 0-180) of the chromatic names, in order
_HUES = (
    (8, "red"),
    (20, "orange"),
    (33, "yellow"),
    (85, "green"),
    (130, "blue"),
    (150, "purple"),
    (170, "pink"),
)


def name_pixels(hsv: np.ndarray, config: ColourConfig = ColourConfig()) -> np.ndarray:
    """(N,) palette indices of (N, 3) HSV pixels."""
    h, s, v = (hsv[:, k].astype(np.int32) for k in range(3))
    out = np.full(len(hsv), PALETTE.index("red"), np.int64)  # hues from 170 wrap round to red
    lower = 0
    for upper, name in _HUES:
        out[(h >= lower) & (h < upper)] = PALETTE.index(name)
        lower = upper
    warm = np.isin(out, [PALETTE.index("orange"), PALETTE.index("yellow")])
    out[warm & (v < config.brown_v)] = PALETTE.index("brown")
    red = out == PALETTE.index("red")
    out[red & (s < config.pink_s) & (v > config.pink_v)] = PALETTE.index("pink")
    grey = s < config.grey_s
    out[grey] = np.where(v[grey] > config.white_v, PALETTE.index("white"), PALETTE.index("grey"))
    out[v < config.dark_v] = PALETTE.index("black")
    return out


def crop_colours(crop: np.ndarray, config: ColourConfig = ColourConfig()) -> np.ndarray:
    """(2, len(PALETTE)) share of each colour on the upper body and on the legs of a BGR crop."""
    out = np.zeros((2, len(PALETTE)), np.float32)
    if crop is None or crop.ndim != 3 or crop.shape[0] < 8 or crop.shape[1] < 4:
        return out
    hsv = cv2.cvtColor(np.ascontiguousarray(crop[:, :, :3]), cv2.COLOR_BGR2HSV)
    hgt, wid = hsv.shape[:2]
    c0, c1 = (round(f * wid) for f in config.columns)
    for k, (r0, r1) in enumerate((config.upper_rows, config.lower_rows)):
        region = hsv[round(r0 * hgt) : max(round(r1 * hgt), round(r0 * hgt) + 1), c0 : max(c1, c0 + 1)]
        names = name_pixels(region.reshape(-1, 3), config)
        if len(names):
            out[k] = np.bincount(names, minlength=len(PALETTE)) / len(names)
    return out


def track_colours(crops: Sequence[np.ndarray], config: ColourConfig = ColourConfig()) -> np.ndarray:
    """(2, len(PALETTE)) mean colour shares over a track's crops; none (zeros) for a track recorded
    without colour (night, infrared: its greys are not the clothes' colours, and infrared light
    makes black cloth bright)."""
    if not len(crops) or all(without_colour(c) for c in crops):
        return np.zeros((2, len(PALETTE)), np.float32)
    return np.mean([crop_colours(c, config) for c in crops], axis=0).astype(np.float32)


def colour_index(name: str) -> int:
    """The palette index of a colour name; ValueError naming the palette otherwise."""
    key = str(name).strip().lower().replace("gray", "grey")
    if key not in PALETTE:
        raise ValueError(f"unknown colour {name!r}: one of {', '.join(PALETTE)}")
    return PALETTE.index(key)
