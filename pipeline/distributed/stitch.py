"""Join the parts of a long video, indexed as separate time segments, into whole tracks.

Each part after the first starts ``overlap_s`` seconds before its boundary: its tracker warms up on
frames the previous part also covers, so a person crossing the boundary is already a confirmed track
there, with boxes at the same moments as the previous part's track of them. The previous part owns
everything before the boundary, the next part everything from it on. At each boundary a track of
the previous part that is still alive in the overlap is joined one-to-one (Hungarian assignment,
scipy) with the track of the next part that follows the same boxes there: mean IoU of their boxes
over the overlap frames (interpolated where one of them was not observed) >= ``min_iou``. Where the
next part's track begins only after the boundary, its first box must overlap the previous track's
last one and the two must look alike (cosine >= ``min_cosine``), within ``max_gap_s``. A joined track
is the previous track up to the boundary and the next one from it on; its crops are both tracks'
(the appearance vector their re-normalised mean, as the indexer computes it), with the better
thumbnail. Next-part tracks that match nothing lose their observations before the boundary (the
previous part answered for those frames) and are dropped if nothing is left.

What can still differ from an unsplit run: the two trackers sample slightly different frames near
the boundary, and a person the previous tracker lost right there becomes two tracks, which the
linking of fragments on the whole video afterwards (``pipeline.linking``) may join into one person.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from models.boxes import iou_matrix
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y2, TrackRecord, box_at


@dataclass(frozen=True)
class StitchConfig:
    """overlap_s: seconds each part after the first starts before its boundary (tracker warm-up).
    min_iou: least mean overlap of two tracks' boxes over the overlap for them to be one person.
    max_gap_s, min_cosine: for a track that starts only after the boundary: it must start within
        ``max_gap_s`` of it, where the previous track's last box was, and look alike.
    """

    overlap_s: float = 3.0
    min_iou: float = 0.5
    max_gap_s: float = 1.0
    min_cosine: float = 0.5


def segments(
    frame_count: int, fps: float, segment_s: float, overlap_s: float = StitchConfig.overlap_s
) -> list[tuple[int, int, int]]:
    """``(first, boundary, end)`` frames of parts of about ``segment_s`` seconds covering the video:
    a part owns ``[boundary, end)`` and is indexed from ``first`` (``overlap_s`` earlier, for warm-up).
    One part when the video is shorter than 1.5 parts (a short last part would only add a boundary)."""
    whole = [(0, 0, max(frame_count, 1))]
    if not math.isfinite(segment_s) or segment_s <= 0:
        return whole
    length = max(1, round(segment_s * fps))
    if frame_count < 1.5 * length:
        return whole
    n = round(frame_count / length)
    bounds = [round(k * frame_count / n) for k in range(n + 1)]
    warm = round(overlap_s * fps)
    return [(max(0, a - warm), a, b) for a, b in itertools.pairwise(bounds)]


def _mean_iou(prev: TrackRecord, nxt: TrackRecord, boundary: int) -> float:
    frames = nxt.path[nxt.path[:, PATH_FRAME] < boundary]
    ious = []
    for row in frames:
        box = box_at(prev.path, int(row[PATH_FRAME]))
        if box is not None:
            ious.append(float(iou_matrix(box, row[PATH_X1 : PATH_Y2 + 1])[0, 0]))
    return float(np.mean(ious)) if ious else 0.0


def _score(prev: TrackRecord, nxt: TrackRecord, boundary: int, fps: float, config: StitchConfig) -> float:
    """How surely ``nxt`` continues ``prev`` (0: not at all)."""
    if nxt.first_frame < boundary:  # both tracked the person over the overlap
        iou = _mean_iou(prev, nxt, boundary)
        return iou if iou >= config.min_iou else 0.0
    if nxt.first_frame - prev.last_frame > config.max_gap_s * fps:
        return 0.0
    iou = float(iou_matrix(prev.path[-1, PATH_X1 : PATH_Y2 + 1], nxt.path[0, PATH_X1 : PATH_Y2 + 1])[0, 0])
    cos = float(prev.embedding @ nxt.embedding)
    return iou if iou >= 0.3 and cos >= config.min_cosine else 0.0


def _join(prev: TrackRecord, nxt: TrackRecord, boundary: int) -> TrackRecord:
    crops = np.concatenate([prev.crop_embeddings, nxt.crop_embeddings])
    mean = crops.mean(axis=0)
    mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    best = prev if prev.quality >= nxt.quality else nxt
    colours = prev.colours if nxt.colours is None else nxt.colours if prev.colours is None else None
    if prev.colours is not None and nxt.colours is not None:
        na, nb = len(prev.crop_embeddings), len(nxt.crop_embeddings)
        colours = ((prev.colours * na + nxt.colours * nb) / (na + nb)).astype(np.float32)
    after = nxt.path[nxt.path[:, PATH_FRAME] >= boundary]
    return replace(
        prev,
        path=np.concatenate([prev.path[prev.path[:, PATH_FRAME] < boundary], after]),
        embedding=mean,
        crop_embeddings=crops,
        crop_frames=prev.crop_frames + nxt.crop_frames,
        thumbnail_jpeg=best.thumbnail_jpeg,
        quality=best.quality,
        colours=colours,
    )


def stitch(
    parts: Sequence[Sequence[TrackRecord]],
    boundaries: Sequence[int],
    fps: float,
    config: StitchConfig = StitchConfig(),
) -> list[TrackRecord]:
    """The tracks of consecutive parts (part ``k + 1`` owns the frames from ``boundaries[k]`` on) as
    whole tracks, numbered 1, 2, ... in order of their first frame."""
    tracks = list(parts[0]) if parts else []
    for boundary, part in zip(boundaries, parts[1:]):
        warm = round(config.overlap_s * fps)
        alive = [
            i for i, t in enumerate(tracks) if t.last_frame >= boundary - max(warm, config.max_gap_s * fps)
        ]
        early = [j for j, t in enumerate(part) if t.first_frame < boundary + config.max_gap_s * fps]
        joined: dict[int, int] = {}
        if alive and early:
            score = np.array(
                [[_score(tracks[i], part[j], boundary, fps, config) for j in early] for i in alive]
            )
            rows, cols = linear_sum_assignment(-score)
            joined = {early[c]: alive[r] for r, c in zip(rows, cols) if score[r, c] > 0}
        for j, t in enumerate(part):
            if j in joined:
                tracks[joined[j]] = _join(tracks[joined[j]], t, boundary)
            elif t.last_frame >= boundary:
                tracks.append(replace(t, path=t.path[t.path[:, PATH_FRAME] >= boundary]))
    tracks.sort(key=lambda t: (t.first_frame, t.last_frame))
    return [replace(t, track_id=k + 1) for k, t in enumerate(tracks)]
