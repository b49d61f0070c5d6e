"""A training set from a library's own tracks, with no labels (unsupervised domain adaptation).

* Each long, clean track (enough observations; its best crop's quality, as the indexer scores crops,
  high enough) is a pseudo-identity; fragments the indexer already linked into one person stay one.
* Tracks seen at the same time in the same video are certainly different people: two pseudo-
  identities that co-occur are never merged: they stay two identities, negatives of each other.
* Two pseudo-identities that do not co-occur are merged only when the current model is confident:
  each is the other's nearest neighbour and their similarity reaches ``merge_similarity``. Otherwise
  they stay apart: a person split in two identities only costs a little of the identity loss, while
  two people merged into one teaches the model that they look alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from models.errors import SpotterError
from models.reid_training.loop import TrainConfig
from models.reid_training.sampler import usable_identities
from pipeline.appearance import AppearanceConfig
from pipeline.reid_training.dataset import LabelledCrops, to_input
from pipeline.storage import Library
from pipeline.storage.records import TrackInfo
from pipeline.track_crops import path_qualities, plan_crops, read_crops
from pipeline.video import probe

log = logging.getLogger(__name__)


class AdaptationError(SpotterError):
    """The library holds too little to adapt a model on."""


@dataclass(frozen=True)
class AdaptConfig:
    """Which tracks become pseudo-identities, and how many crops each gives.

    min_observations: a track seen in fewer processed frames is too short to show a person's range
        of poses (and more often a false or broken track).
    min_quality: its best crop's quality (``pipeline.appearance.crop_quality``: size, detector
        confidence, not cut off, not occluded) must reach this.
    crops_per_track: crops read per track, best by quality and spread in time.
    merge_similarity: mutual nearest neighbours above this cosine similarity (current model) that
        never co-occur are merged into one pseudo-identity. Higher: fewer, safer merges.
    max_tracks: the longest tracks first, at most this many (bounds the time of one adaptation).
    """

    min_observations: int = 10
    min_quality: float = 0.3
    crops_per_track: int = 16
    merge_similarity: float = 0.85
    max_tracks: int = 3000


@dataclass(frozen=True)
class Candidate:
    key: tuple[int, int]  # (video id, person chain)
    tracks: tuple[TrackInfo, ...]
    vector: np.ndarray

    @property
    def spans(self) -> list[tuple[int, float, float]]:
        return [(t.video_id, t.start_s, t.end_s) for t in self.tracks]


def co_occur(a: Candidate, b: Candidate) -> bool:
    """Seen at the same time in the same video (then certainly two people)."""
    return any(va == vb and sa <= eb and sb <= ea for va, sa, ea in a.spans for vb, sb, eb in b.spans)


def merge_confident(cands: Sequence[Candidate], threshold: float) -> np.ndarray:
    """Pseudo-identity of each candidate after merging confident, never co-occurring mutual nearest
    neighbours (union-find)."""
    n = len(cands)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    if n > 1:
        v = np.stack([c.vector for c in cands])
        sim = v @ v.T
        np.fill_diagonal(sim, -np.inf)
        nearest = sim.argmax(axis=1)
        for i in range(n):
            j = int(nearest[i])
            if i < j and nearest[j] == i and sim[i, j] >= threshold and not co_occur(cands[i], cands[j]):
                parent[root(j)] = root(i)
    roots = np.array([root(i) for i in range(n)])
    return np.unique(roots, return_inverse=True)[1]


def library_training_set(
    library: Library,
    model: str,
    video_ids: Sequence[int] | None = None,
    config: AdaptConfig = AdaptConfig(),
    appearance: AppearanceConfig = AppearanceConfig(),
    cancelled: Callable[[], bool] = lambda: False,
) -> tuple[LabelledCrops, dict]:
    """Pseudo-labelled crops of the library's (or the given videos') tracks, and what was done."""
    videos = [
        v for v in library.videos() if v.status == "done" and (video_ids is None or v.video_id in video_ids)
    ]
    cands: list[Candidate] = []
    infos, qualities = {}, {}  # per video: its probe, and every track's crop qualities (once)
    for v in videos:
        info = probe(v.path)
        tracks = library.video_tracks(v.video_id)
        q = path_qualities(tracks, info.width, info.height, appearance)  # all tracks occlude
        infos[v.video_id], qualities[v.video_id] = info, q
        clean = [
            t
            for t in tracks
            if len(t.path) >= config.min_observations and len(q[t.pk]) and q[t.pk].max() >= config.min_quality
        ]
        vectors = library.embeddings_of(model, "track", [t.pk for t in clean])
        chains: dict[int, list[TrackInfo]] = {}
        for t in clean:
            if t.pk in vectors:
                chains.setdefault(t.person, []).append(t)
        for person, ts in chains.items():
            mean = np.mean([vectors[t.pk][0] for t in ts], axis=0)
            cands.append(Candidate((v.video_id, person), tuple(ts), mean / max(np.linalg.norm(mean), 1e-12)))
    cands.sort(key=lambda c: -sum(len(t.path) for t in c.tracks))
    cands = cands[: config.max_tracks]
    labels_of = merge_confident(cands, config.merge_similarity)
    images, labels, cams = [], [], []
    for v in videos:
        mine = [(c, int(label)) for c, label in zip(cands, labels_of) if c.key[0] == v.video_id]
        tracks = [t for c, _ in mine for t in c.tracks]
        if not tracks or cancelled():
            continue
        plan = plan_crops(
            tracks, infos[v.video_id], config.crops_per_track, appearance, qualities[v.video_id]
        )
        crops = read_crops(infos[v.video_id], plan, library.seek_table(v.video_id) or (), cancelled=cancelled)
        label_of_track = {t.pk: label for c, label in mine for t in c.tracks}
        for pk, cs in crops.items():
            for crop in cs:
                images.append(to_input(crop))
                labels.append(label_of_track[pk])
                cams.append(v.video_id)
    stats = {
        "videos": len(videos),
        "tracks": sum(len(c.tracks) for c in cands),
        "pseudo_identities": len(np.unique(labels_of)) if len(cands) else 0,
        "merged": len(cands) - (len(np.unique(labels_of)) if len(cands) else 0),
        "labels_used": "none (tracks and co-occurrence only)",
    }
    if not images:
        raise AdaptationError(
            f"the library has no track long and clean enough to adapt on (at least {config.min_observations} "
            f"observations, crop quality {config.min_quality}); index more footage first"
        )
    log.info("adaptation set: %s", stats)
    data = LabelledCrops(np.stack(images), np.asarray(labels), np.asarray(cams), f"library {library.where}")
    return data, stats


MIN_PSEUDO_IDENTITIES = 4
"""Fewer pseudo-identities (with 2+ crops) than this teach nothing about telling people apart."""


def fit_batch(config: TrainConfig, data: LabelledCrops) -> TrainConfig:
    """The training config with P lowered to the pseudo-identities a small library has (a library is
    what it is, unlike a labelled set chosen for training); AdaptationError below the minimum."""
    usable = len(usable_identities(data.labels.tolist()))
    if usable < MIN_PSEUDO_IDENTITIES:
        raise AdaptationError(
            f"the library gives {usable} pseudo-identities with 2+ crops, too few to adapt on (at least "
            f"{MIN_PSEUDO_IDENTITIES}); index more footage first"
        )
    if usable < config.ids_per_batch:
        log.info(
            "only %d pseudo-identities: %d per batch instead of %d", usable, usable, config.ids_per_batch
        )
        return replace(config, ids_per_batch=usable)
    return config
