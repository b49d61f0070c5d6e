"""PK sampling: every batch holds P identities with K images each, so that each anchor of the triplet
loss has positives and negatives in its batch (torchreid's RandomIdentitySampler, written as a plain
function of the labels so that it needs no torch).

An epoch goes once through every identity's images: each identity's images are shuffled and cut into
groups of K (the last group topped up by drawing again from the identity's images), and batches take
P groups of P different identities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from models.errors import SpotterError


class SamplingError(SpotterError):
    """The labelled set cannot fill PK batches (too few identities, or too few images of each)."""


MIN_IMAGES_PER_ID = 2
"""An identity needs at least this many images to give a triplet a positive; others are left out."""


def usable_identities(labels: Sequence[int]) -> dict[int, list[int]]:
    """Identity -> indices of its images, for identities with at least MIN_IMAGES_PER_ID images."""
    by_id: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_id[int(label)].append(i)
    return {pid: idx for pid, idx in by_id.items() if len(idx) >= MIN_IMAGES_PER_ID}


def check_pk(labels: Sequence[int], p: int, k: int) -> None:
    """Raise SamplingError when the labels cannot fill one batch of P identities x K images."""
    if p < 2 or k < 2:
        raise SamplingError(f"PK sampling needs P >= 2 identities and K >= 2 images each (got P={p}, K={k})")
    ids = usable_identities(labels)
    if len(ids) < p:
        raise SamplingError(
            f"the training set has {len(ids)} identities with {MIN_IMAGES_PER_ID}+ images; a batch needs "
            f"{p} (P identities x {k} images): add people or lower --ids-per-batch"
        )


def pk_batches(labels: Sequence[int], p: int, k: int, rng: np.random.Generator) -> list[list[int]]:
    """One epoch of batches of indices into ``labels``: P identities x K images each."""
    check_pk(labels, p, k)
    groups: dict[int, list[list[int]]] = {}
    for pid, idx in usable_identities(labels).items():
        order = list(rng.permutation(idx))
        if len(order) % k:
            order += list(rng.choice(idx, size=k - len(order) % k, replace=True))
        groups[pid] = [order[j : j + k] for j in range(0, len(order), k)]
    batches: list[list[int]] = []
    while True:
        live = [pid for pid, g in groups.items() if g]
        if len(live) < p:
            break
        batch: list[int] = []
        for pid in rng.choice(live, size=p, replace=False):
            batch += [int(i) for i in groups[int(pid)].pop()]
        batches.append(batch)
    return batches
