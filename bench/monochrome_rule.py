"""How well the rule "this track was recorded without colour" (``pipeline.monochrome``) tells colour
from its absence, on crops of every shared sequence, stored as the library stores them (the best
crop's JPEG thumbnail, decoded at half size).

Each ground-truth box (every ``--every``-th frame) is cut from the frame in colour, and from the same
frame without colour as a night camera records it: grey, and grey tinted as some cameras tint it
(a fixed offset per channel; channels weighed differently, as an infrared picture may be, or a
greenish one). Printed per rule: the share of colour crops taken for colourless (wrong: those
tracks are compared with the photo turned grey) and the share of each colourless kind taken for
colourless (right). The rule as recorded (``cast_offset`` 0), with the offset taken out, and with
tints recognised too (``tint_residual``), side by side.

    python -m bench.monochrome_rule [--every 10]
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from bench.sequences import ASSETS
from pipeline.appearance import AppearanceConfig, thumbnail
from pipeline.monochrome import MonochromeConfig, grey, jpeg_without_colour

MIN_HEIGHT_PX = 24  # smaller boxes make no track worth a thumbnail


def _cast(gains: tuple[float, float, float], offsets: tuple[float, float, float]) -> Callable:
    def tint(image: np.ndarray) -> np.ndarray:
        out = grey(image).astype(np.float32) * np.float32(gains) + np.float32(offsets)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    return tint


KINDS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "grey": grey,
    "offset cast (B+6 G-2 R+5)": _cast((1, 1, 1), (6, -2, 5)),
    "infrared tint (B x0.9, R x1.12)": _cast((0.9, 1, 1.12), (0, 0, 0)),
    "greenish (B x0.85 G x1.05 R x0.85 +8)": _cast((0.85, 1.05, 0.85), (8, 8, 8)),
}


def sequences() -> list[tuple[str, Path, Path, float]]:
    """(name, video file or folder of frames, gt.txt, gt pixels -> video pixels)."""
    out = [
        (
            "PETS09-S2L1",
            ASSETS / "video/vtest_pets09_s2l1_480x360.mp4",
            ASSETS / "mot15/PETS09-S2L1/gt/gt.txt",
            0.625,
        ),
        (
            "TUD-Campus",
            ASSETS / "mot15/TUD-Campus/TUD-Campus.mp4",
            ASSETS / "mot15/TUD-Campus/gt/gt.txt",
            1.0,
        ),
        (
            "ADL-Rundle-6",
            ASSETS / "hd/ADL-Rundle-6/ADL-Rundle-6.mp4",
            ASSETS / "hd/ADL-Rundle-6/gt/gt.txt",
            1.0,
        ),
    ]
    for seq in sorted((ASSETS / "mot17_mini").glob("MOT17-*")):
        out.append((seq.name, seq / "img1", seq / "gt" / "gt.txt", 1.0))
    return out


def _read(source: Path, every: int) -> Iterator[tuple[int, np.ndarray]]:
    """(1-based frame number, BGR) of every ``every``-th frame of a video or a folder of frames."""
    if source.is_dir():
        for f in sorted(source.glob("*.jpg")):
            number = int(f.stem)
            if (number - 1) % every == 0:
                yield number, cv2.imread(str(f))
        return
    cap = cv2.VideoCapture(str(source))
    k = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        if k % every == 0:
            yield k + 1, image
        k += 1


def crops(every: int) -> Iterator[tuple[str, np.ndarray, int]]:
    """(sequence, crop in colour) of every ground-truth person tall enough, every ``every``-th frame."""
    height = AppearanceConfig().thumbnail_height
    for name, source, gt, scale in sequences():
        rows = np.loadtxt(gt, delimiter=",", ndmin=2)
        if source.is_dir():  # MOT17: class 1 (pedestrian) with "consider" set
            rows = rows[(rows[:, 6] != 0) & (rows[:, 7] == 1)]
        for number, image in _read(source, every):
            for x, y, w, h in rows[rows[:, 0] == number][:, 2:6] * scale:
                x1, y1 = max(0, int(x)), max(0, int(y))
                x2, y2 = min(image.shape[1], int(x + w)), min(image.shape[0], int(y + h))
                if y2 - y1 >= MIN_HEIGHT_PX and x2 - x1 >= 4:
                    yield name, image[y1:y2, x1:x2], height


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=int, default=10, help="every k-th frame of each sequence")
    args = ap.parse_args()
    rules = {
        "as recorded": dataclasses.replace(MonochromeConfig(), cast_offset=0.0, tint_residual=0.0),
        "cast taken out (before)": dataclasses.replace(MonochromeConfig(), tint_residual=0.0),
        "and tints (now)": MonochromeConfig(),
    }
    kinds = {"colour": lambda c: c, **KINDS}
    judged: dict[str, dict[str, list[bool]]] = {r: {k: [] for k in kinds} for r in rules}
    per_seq: dict[str, dict[str, list[bool]]] = {r: {} for r in rules}
    for name, crop, height in crops(args.every):
        for kind, make in kinds.items():
            jpeg = thumbnail(make(crop), height)
            for rule, config in rules.items():
                colourless = jpeg_without_colour(jpeg, config)
                judged[rule][kind].append(colourless)
                if kind == "colour":
                    per_seq[rule].setdefault(name, []).append(colourless)
    n = len(judged[next(iter(rules))]["colour"])
    print(f"{n} ground-truth crops (every {args.every}th frame of {len(sequences())} sequences)")
    print("share judged without colour (colour: wrong; others: right)")
    print(f"{'':40s}" + "".join(f"{r:>24s}" for r in rules))
    for kind in kinds:
        print(f"{kind:40s}" + "".join(f"{np.mean(judged[r][kind]):24.4f}" for r in rules))
    print("colour crops judged without colour, per sequence")
    for name in per_seq[next(iter(rules))]:
        counts = [per_seq[r][name] for r in rules]
        print(f"  {name:38s}" + "".join(f"{sum(c):>18d} of {len(c):<5d}" for c in counts))


if __name__ == "__main__":
    main()
