"""What each track looks like: crop quality scoring, best-crop selection, one embedding per track.

For every observation of a track the crop is scored for how useful it is to a ReID model (tall,
confident, fully inside the frame, not covered by other people); a few of the best, spread in time,
are kept. When the track ends those crops are embedded in one batch and averaged into the track's
embedding. A kept crop whose detection the tracker had embedded already (to tell people apart) keeps
that vector instead of being embedded again: the same pixels give the same vector in any batch. A
track recorded without colour (night footage, grey or tinted by the camera) is embedded turned grey,
as a query photo without colour is (:mod:`pipeline.monochrome`): a tint is no colour of the clothes.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from models.detections import Detections
from pipeline.clothing import track_colours
from pipeline.monochrome import grey, jpeg_without_colour
from pipeline.tracking import EndedTrack, TrackerStep
from pipeline.types import PATH_COLUMNS, TrackRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppearanceConfig:
    """Crop selection for the per-track embedding.

    crops_per_track: crops embedded per track. More averages out pose and lighting (better recall
        for long tracks) at a proportional ReID cost.
    candidates_per_track: best crops held in memory per live track while it runs (>= crops_per_track).
    min_crop_height: crops shorter than this (pixels) carry too little detail and score zero.
    full_height: crops at least this tall get the full size score; smaller ones are scaled down.
    edge_margin: a box within this many pixels of the frame border is likely cut off by it.
    cut_off_penalty: quality factor of a box touching the border.
    min_gap_s: chosen crops are at least this far apart in time where the track allows (variety).
    max_crop_side: crops are stored downscaled to at most this height (ReID input is 256 high).
    min_observations: tracks observed in fewer processed frames are dropped as noise.
    thumbnail_height: height of the stored best-crop thumbnail.
    """

    crops_per_track: int = 5
    candidates_per_track: int = 12
    min_crop_height: int = 16
    full_height: float = 128.0
    edge_margin: float = 2.0
    cut_off_penalty: float = 0.3
    min_gap_s: float = 0.5
    max_crop_side: int = 256
    min_observations: int = 3
    thumbnail_height: int = 128


class Embedder(Protocol):
    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray: ...


def occlusion(xyxy: np.ndarray) -> np.ndarray:
    """Fraction of each box's area covered by the other boxes of the frame (capped at 1)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    n = len(xyxy)
    if n < 2:
        return np.zeros(n)
    iw = np.clip(
        np.minimum(xyxy[:, None, 2], xyxy[None, :, 2]) - np.maximum(xyxy[:, None, 0], xyxy[None, :, 0]),
        0,
        None,
    )
    ih = np.clip(
        np.minimum(xyxy[:, None, 3], xyxy[None, :, 3]) - np.maximum(xyxy[:, None, 1], xyxy[None, :, 1]),
        0,
        None,
    )
    inter = iw * ih
    np.fill_diagonal(inter, 0.0)
    area = np.maximum((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1]), 1e-9)
    return np.minimum(inter.sum(axis=1) / area, 1.0)


def crop_quality(dets: Detections, width: int, height: int, config: AppearanceConfig) -> np.ndarray:
    """Usefulness of each detection's crop for ReID, 0..1 (see :class:`AppearanceConfig`)."""
    h = dets.height
    size = np.clip(h / config.full_height, 0.0, 1.0) * (h >= config.min_crop_height)
    m = config.edge_margin
    x1, y1, x2, y2 = dets.xyxy.T
    cut = (x1 <= m) | (y1 <= m) | (x2 >= width - m) | (y2 >= height - m)
    inside = np.where(cut, config.cut_off_penalty, 1.0)
    return size * dets.score * inside * (1.0 - occlusion(dets.xyxy))


def cut_crop(image: np.ndarray, box: np.ndarray, max_side: int) -> np.ndarray | None:
    """The box's pixels (clipped to the image), downscaled to at most ``max_side`` high; None if empty."""
    ih, iw = image.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in box)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, iw), min(y2, ih)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    crop = image[y1:y2, x1:x2]
    if crop.shape[0] > max_side:
        scale = max_side / crop.shape[0]
        crop = cv2.resize(
            crop, (max(1, round(crop.shape[1] * scale)), max_side), interpolation=cv2.INTER_AREA
        )
    return np.ascontiguousarray(crop)


@dataclass
class _Building:
    path: list[list[float]] = field(default_factory=list)
    candidates: list[tuple[float, int, np.ndarray]] = field(default_factory=list)  # (quality, frame, crop)
    vectors: dict[int, np.ndarray] = field(default_factory=dict)  # frame -> its candidate's vector, if known


def select_crops(
    candidates: list[tuple[float, int, np.ndarray]], k: int, min_gap: int
) -> list[tuple[float, int, np.ndarray]]:
    """Best ``k`` candidates by quality, at least ``min_gap`` frames apart where possible."""
    ranked = sorted(candidates, key=lambda c: (-c[0], c[1]))
    chosen: list[tuple[float, int, np.ndarray]] = []
    for c in ranked:
        if len(chosen) < k and all(abs(c[1] - o[1]) >= min_gap for o in chosen):
            chosen.append(c)
    for c in ranked:  # fill up when the track is too short for the gap
        if len(chosen) >= k:
            break
        if all(c is not o for o in chosen):
            chosen.append(c)
    return chosen


class TrackBuilder:
    """Accumulates, per live track of one video, its box path and best crops; emits finished tracks."""

    def __init__(self, config: AppearanceConfig, fps: float):
        self.config = config
        self.fps = fps
        self._tracks: dict[int, _Building] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    def observe(
        self,
        frame_index: int,
        ts: float,
        image: np.ndarray,
        dets: Detections,
        step: TrackerStep,
        vectors: np.ndarray | None = None,
    ) -> None:
        """Record the tracker's matches for one processed frame; ``vectors``: the detections' appearance
        vectors where the tracker embedded them (NaN rows where it did not), from crops cut as here."""
        if not len(step.track_ids):
            return
        quality = crop_quality(dets, image.shape[1], image.shape[0], self.config)
        for tid, d in zip(step.track_ids.tolist(), step.det_indices.tolist()):
            b = self._tracks.setdefault(tid, _Building())
            b.path.append([frame_index, ts, *dets.xyxy[d].tolist(), float(dets.score[d])])
            q = float(quality[d])
            cands = b.candidates
            if q <= 0 or (len(cands) >= self.config.candidates_per_track and q <= cands[-1][0]):
                continue
            crop = cut_crop(image, dets.xyxy[d], self.config.max_crop_side)
            if crop is None:
                continue
            cands.append((q, frame_index, crop))
            cands.sort(key=lambda c: (-c[0], c[1]))
            for _, dropped, _ in cands[self.config.candidates_per_track :]:
                b.vectors.pop(dropped, None)
            del cands[self.config.candidates_per_track :]
            if vectors is not None and np.isfinite(vectors[d]).all() and frame_index in (c[1] for c in cands):
                b.vectors[frame_index] = vectors[d]

    def finish(self, ended: Sequence[EndedTrack], embedder: Embedder) -> list[TrackRecord]:
        """Turn ended tracks into records (one ReID batch for all of them); drops noise tracks."""
        keep: list[tuple[int, _Building, list, bytes, float]] = []
        for e in ended:
            b = self._tracks.pop(e.track_id, None)
            if b is None or not e.confirmed or len(b.path) < self.config.min_observations or not b.candidates:
                continue
            gap = max(1, round(self.config.min_gap_s * self.fps))
            chosen = select_crops(b.candidates, self.config.crops_per_track, gap)
            best = max(chosen, key=lambda c: c[0])
            thumb = thumbnail(best[2], self.config.thumbnail_height)
            if jpeg_without_colour(thumb):  # night footage, however tinted (judged as a search judges
                b.vectors = {}  # it): embedded grey as a photo without colour is; the tracker's are tinted
                chosen = [(q, f, crop, grey(crop)) for q, f, crop in chosen]
            keep.append((e.track_id, b, chosen, thumb, float(best[0])))
        if not keep:
            return []
        missing = [c[-1] for _, b, chosen, _, _ in keep for c in chosen if c[1] not in b.vectors]
        fresh = iter(embedder.embed(missing)) if missing else iter(())
        out = []
        for tid, b, chosen, thumb, quality in keep:
            e = np.stack([b.vectors[c[1]] if c[1] in b.vectors else next(fresh) for c in chosen])
            mean = e.mean(axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            out.append(
                TrackRecord(
                    track_id=tid,
                    path=np.asarray(b.path, dtype=np.float64).reshape(-1, PATH_COLUMNS),
                    embedding=mean.astype(np.float32),
                    crop_embeddings=e.astype(np.float32),
                    crop_frames=tuple(int(c[1]) for c in chosen),
                    thumbnail_jpeg=thumb,
                    quality=quality,
                    colours=track_colours([c[2] for c in chosen]),
                )
            )
        return out

    def state_dict(self) -> dict[str, Any]:
        """JSON-able snapshot of live tracks (crops as lossless PNG) for resuming."""
        return {
            str(tid): {
                "path": b.path,
                "candidates": [
                    [q, f, base64.b64encode(cv2.imencode(".png", crop)[1].tobytes()).decode("ascii")]
                    for q, f, crop in b.candidates
                ],
            }
            for tid, b in self._tracks.items()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._tracks = {}
        for tid, d in state.items():
            cands = []
            for q, f, png in d["candidates"]:
                buf = np.frombuffer(base64.b64decode(png), np.uint8)
                cands.append((float(q), int(f), cv2.imdecode(buf, cv2.IMREAD_COLOR)))
            self._tracks[int(tid)] = _Building([list(map(float, row)) for row in d["path"]], cands)


def thumbnail(crop: np.ndarray, height: int) -> bytes:
    """JPEG bytes of a crop scaled to ``height`` pixels high."""
    scale = height / max(crop.shape[0], 1)
    img = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
