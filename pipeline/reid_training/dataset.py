"""Labelled person crops for training: read from a Market-1501 layout, split into training and
validation identities, and the validation figure the trainer keeps its best weights by.

Crops are held in memory resized to the ReID input (128 x 256 RGB, 96 KiB each: 10,000 crops take
about 1 GiB), decoded once rather than once per epoch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.reid import ReidConfig
from pipeline.reid_eval import (
    DISTRACTOR_PID,
    IMAGE_EXTENSIONS,
    JUNK_PID,
    DatasetError,
    evaluate_ranking,
    parse_market_name,
    read_image,
)

log = logging.getLogger(__name__)

TRAIN_DIR = "bounding_box_train"
"""Sub-folder of a Market-1501 root holding the training images."""

VAL_FRACTION = 0.15
"""Share of the identities held out to pick the best epoch (never trained on)."""

MIN_VAL_IDS = 3
"""Fewer held-out identities than this make no useful figure: then the training loss picks the epoch."""


@dataclass(frozen=True)
class LabelledCrops:
    """Person crops with an identity each: ``images`` (N, H, W, 3) uint8 RGB at the ReID input size,
    ``labels`` (N,) identities, ``cams`` (N,) camera (or video) of each crop, ``source`` in words."""

    images: np.ndarray
    labels: np.ndarray
    cams: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def identities(self) -> int:
        return len(np.unique(self.labels))

    def subset(self, keep: np.ndarray) -> LabelledCrops:
        return LabelledCrops(self.images[keep], self.labels[keep], self.cams[keep], self.source)


def to_input(bgr: np.ndarray, config: ReidConfig = ReidConfig()) -> np.ndarray:
    """A BGR crop as the RGB uint8 image of the ReID input size (the embedder's resize)."""
    size = (config.input_width, config.input_height)
    return cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)


def load_market_train(root: Path, config: ReidConfig = ReidConfig()) -> LabelledCrops:
    """The training split (``bounding_box_train/``) of a Market-1501 layout; junk and distractor
    images (pid -1 and 0) are left out.

    Raises:
        DatasetError: no such folder, no images, a file name that does not parse, an unreadable image.
    """
    folder = Path(root) / TRAIN_DIR
    if not folder.is_dir():
        raise DatasetError(f"{root} has no {TRAIN_DIR}/ folder (a Market-1501 layout is expected)")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DatasetError(f"no images in {folder}")
    images, labels, cams = [], [], []
    for path in files:
        try:
            pid, cam = parse_market_name(path.name)
        except DatasetError as e:
            raise DatasetError(f"{e} (at {path})") from None
        if pid in (JUNK_PID, DISTRACTOR_PID):
            continue
        images.append(to_input(read_image(path), config))
        labels.append(pid)
        cams.append(cam)
    if not images:
        raise DatasetError(f"only junk and distractor images (pid -1, 0) in {folder}")
    log.info("loaded %d training images of %d people from %s", len(images), len(set(labels)), folder)
    return LabelledCrops(np.stack(images), np.asarray(labels), np.asarray(cams), str(folder))


def split_identities(
    data: LabelledCrops, fraction: float, seed: int, keep: int = 0
) -> tuple[LabelledCrops, LabelledCrops | None]:
    """(training, validation) with whole identities held out; no validation when fewer than
    MIN_VAL_IDS would be held out, or fewer than ``keep`` identities would be left to train on."""
    ids = np.unique(data.labels)
    n_val = round(len(ids) * fraction)
    if n_val < MIN_VAL_IDS or len(ids) - n_val < keep:
        return data, None
    held = np.random.default_rng(seed).choice(ids, size=n_val, replace=False)
    is_val = np.isin(data.labels, held)
    return data.subset(~is_val), data.subset(is_val)


def validation_figure(
    val: LabelledCrops, normalise: Callable[[np.ndarray], np.ndarray], seed: int
) -> Callable[[Callable[[np.ndarray], np.ndarray]], float]:
    """An evaluation for the trainer: mAP of ranking the held-out identities, one query per identity
    against all their other crops. Crops from one camera or video count as matches here (the query
    itself excluded), since pseudo-identities from a library have only one."""
    rng = np.random.default_rng(seed)
    queries = []
    for pid in np.unique(val.labels):
        idx = np.flatnonzero(val.labels == pid)
        if len(idx) >= 2:
            queries.append(int(rng.choice(idx)))
    batch = normalise(val.images)

    def evaluate(embed: Callable[[np.ndarray], np.ndarray]) -> float:
        f = embed(batch)
        q = np.asarray(queries)
        # each query is its own "camera", shared with its own gallery entry only: the protocol's
        # same-person-same-camera rule then drops exactly the query itself from its ranking
        q_cam = np.arange(1, len(q) + 1)
        g_cam = np.zeros(len(val.labels), int)
        g_cam[q] = q_cam
        metrics = evaluate_ranking(f[q] @ f.T, val.labels[q], val.labels, q_cam, g_cam)
        return metrics.map

    return evaluate


def crops_per_identity(labels: Sequence[int]) -> str:
    counts = np.bincount(np.unique(np.asarray(labels), return_inverse=True)[1])
    return f"{counts.min()}-{counts.max()} (median {int(np.median(counts))})"
