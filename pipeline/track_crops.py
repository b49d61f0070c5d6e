"""Person crops of stored tracks, read again from their video: for re-embedding a library with a new
ReID model and for building a training set from it.

The library keeps each track's box path (frame, box, detector score), not its pixels. The crops are
chosen again from that path with the indexer's own rules (``pipeline.appearance``: crop quality,
best crops spread in time), the other tracks of the same frames standing in for the occluders, and
read in one forward pass over the video in which frames that no crop needs are decoded but never
converted to pixels.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.detections import Detections
from pipeline.appearance import AppearanceConfig, crop_quality, cut_crop, select_crops
from pipeline.storage.records import TrackInfo
from pipeline.types import PATH_FRAME, PATH_SCORE, PATH_X1, PATH_Y2
from pipeline.video import VideoInfo, VideoReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CropPick:
    """One crop to cut: the frame and the box (video pixels), and the crop's quality."""

    frame: int
    xyxy: tuple[float, float, float, float]
    quality: float


def path_qualities(
    tracks: Sequence[TrackInfo], width: int, height: int, config: AppearanceConfig
) -> dict[int, np.ndarray]:
    """Crop quality (``pipeline.appearance.crop_quality``) of every observation of every track, the
    boxes of the other given tracks at the same frame counting as occluders."""
    rows = [(t.pk, i, r) for t in tracks for i, r in enumerate(t.path)]
    by_frame: dict[int, list[tuple[int, int, np.ndarray]]] = defaultdict(list)
    for pk, i, r in rows:
        by_frame[int(r[PATH_FRAME])].append((pk, i, r))
    out = {t.pk: np.zeros(len(t.path)) for t in tracks}
    for group in by_frame.values():
        boxes = np.stack([r[PATH_X1 : PATH_Y2 + 1] for _, _, r in group])
        scores = np.asarray([r[PATH_SCORE] for _, _, r in group])
        q = crop_quality(Detections(boxes, scores), width, height, config)
        for (pk, i, _), value in zip(group, q):
            out[pk][i] = value
    return out


def plan_crops(
    tracks: Sequence[TrackInfo],
    info: VideoInfo,
    k: int,
    config: AppearanceConfig = AppearanceConfig(),
    qualities: dict[int, np.ndarray] | None = None,
) -> dict[int, list[CropPick]]:
    """Up to ``k`` crops per track (by track pk): the best by quality, ``config.min_gap_s`` apart
    where the track allows (as the indexer picks them). ``qualities``: :func:`path_qualities` of the
    video's tracks when the caller has them (computed here from ``tracks`` otherwise)."""
    if qualities is None:
        qualities = path_qualities(tracks, info.width, info.height, config)
    gap = max(1, round(config.min_gap_s * info.fps))
    plan: dict[int, list[CropPick]] = {}
    for t in tracks:
        q = qualities[t.pk]
        candidates = [(float(q[i]), int(r[PATH_FRAME]), i) for i, r in enumerate(t.path) if q[i] > 0]
        chosen = select_crops(candidates, k, gap)  # type: ignore[arg-type]
        plan[t.pk] = [
            CropPick(f, tuple(float(v) for v in t.path[i, PATH_X1 : PATH_Y2 + 1]), qv)  # type: ignore[arg-type]
            for qv, f, i in sorted(chosen, key=lambda c: c[1])
        ]
    return plan


def read_crops(
    info: VideoInfo,
    picks: dict[Hashable, list[CropPick]],
    seek_table: Sequence[tuple[int, int]] = (),
    max_side: int = AppearanceConfig().max_crop_side,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[Hashable, list[np.ndarray]]:
    """The BGR crops of each key's picks, cut in one pass over the video (crops outside the frame or
    in frames the stream does not hold are left out). Stops early, returning what it has, on cancel."""
    wanted: dict[int, list[tuple[Hashable, CropPick]]] = defaultdict(list)
    for key, ps in picks.items():
        for p in ps:
            wanted[p.frame].append((key, p))
    out: dict[Hashable, list[np.ndarray]] = {key: [] for key in picks}
    frames = sorted(wanted)
    if not frames:
        return out
    reader = VideoReader(info, start_frame=frames[0], seek_table=seek_table)
    nxt = 0
    for frame in reader:
        if cancelled():
            break
        while nxt < len(frames) and frames[nxt] < frame.index:
            nxt += 1  # a frame the stream skipped
        if nxt < len(frames) and frames[nxt] == frame.index:
            for key, p in wanted[frame.index]:
                crop = cut_crop(frame.image, np.asarray(p.xyxy), max_side)
                if crop is not None:
                    out[key].append(crop)
            nxt += 1
        if nxt >= len(frames):
            break
        reader.stride = frames[nxt] - frame.index
    return out


def flatten(groups: Iterable[tuple[Hashable, list[np.ndarray]]]) -> tuple[list[np.ndarray], list[Hashable]]:
    """Crops of several keys as one list, with the key of each crop."""
    crops, keys = [], []
    for key, cs in groups:
        crops += cs
        keys += [key] * len(cs)
    return crops, keys
