"""The training loop: PK batches, augmentation, identity + triplet loss, warm-up then cosine learning
rate, an evaluation after every epoch (and before the first, so that training never ends worse than
its start), and the best weights kept.

``Trainer.run`` is a generator of progress events that checks a cancel flag between steps, driven the
same way by the command line and the desktop app (as the indexer is). Whatever stops it (the end,
cancel, Ctrl-C), ``best_state`` holds the best weights so far.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms import RandomErasing

from models.reid import IMAGENET_MEAN, IMAGENET_STD
from models.reid_training.convert import freeze_batchnorm, torch_embed
from models.reid_training.losses import batch_hard_triplet, make_head
from models.reid_training.sampler import check_pk, pk_batches

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """How a ReID model is trained or fine-tuned.

    epochs: passes over the training set; each covers every identity's images about once.
    ids_per_batch, images_per_id: P and K of PK sampling (batch = P x K crops). More identities per
        batch give harder negatives; K >= 2 gives every anchor a positive.
    lr: Adam learning rate of the network (fine-tuning a trained model wants it small; higher values
        forget the pretraining faster). head_lr_factor: the new identity head starts from random
        weights and learns this many times faster.
    weight_decay: L2 penalty of Adam.
    warmup_epochs: the learning rate rises linearly from warmup_start of lr over these epochs, then
        follows a cosine down to min_lr_factor of lr at the last epoch.
    loss: identity loss, "arcface" (additive angular margin on normalised features and class
        centres: arcface_scale, arcface_margin in radians) or "softmax" (cross-entropy with label
        smoothing on the raw features). ArcFace is the default because a search compares cosine
        similarities, which is what it separates; softmax can also be satisfied through feature norms.
    triplet_margin: margin of the batch-hard triplet loss on L2-normalised features (distances 0-2).
    id_weight, triplet_weight: weights of the two losses in the sum.
    distill_weight: weight of a third loss that keeps each crop's new embedding close (cosine) to the
        starting model's embedding of the same crop (feature distillation from a frozen copy). A few
        hundred crops of a dozen people are too few to re-learn what the starting model knows from
        thousands; this term lets training move the embedding only where the new data asks it to,
        instead of forgetting the rest. 0 switches it off (plain fine-tuning, for large labelled sets).
        Measured (bench.reid_training, README): plain fine-tuning on the dev sets lost 0.06-0.2 Rank-1
        and most of the absent-person rejection; at 10 the adapted models stay near the shipped one.
    label_smoothing: of the softmax identity loss (less over-confidence on few identities).
    flip_prob, pad, erase_prob: augmentation: left-right flip, pad-and-crop shift in pixels, random
        erasing of a rectangle (occlusion), each per crop.
    seed: sampling and augmentation are reproducible for a seed.
    device: "cpu" or "cuda".
    """

    epochs: int = 10
    ids_per_batch: int = 8
    images_per_id: int = 4
    lr: float = 1e-4
    head_lr_factor: float = 10.0
    weight_decay: float = 5e-4
    warmup_epochs: int = 1
    warmup_start: float = 0.1
    min_lr_factor: float = 0.01
    loss: str = "arcface"
    arcface_scale: float = 30.0
    arcface_margin: float = 0.3
    triplet_margin: float = 0.3
    id_weight: float = 1.0
    triplet_weight: float = 1.0
    distill_weight: float = 10.0
    label_smoothing: float = 0.1
    flip_prob: float = 0.5
    pad: int = 10
    erase_prob: float = 0.5
    seed: int = 0
    device: str = "cpu"


@dataclass(frozen=True)
class StepEvent:
    """One optimiser step done."""

    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based within the epoch
    steps: int
    loss: float
    id_loss: float
    triplet_loss: float
    lr: float
    elapsed_s: float
    eta_s: float


@dataclass(frozen=True)
class EpochEvent:
    """An epoch (0: the starting model) evaluated."""

    epoch: int
    epochs: int
    loss: float  # mean over the epoch's steps (nan for epoch 0)
    id_loss: float
    triplet_loss: float
    score: float  # the evaluation's figure (higher is better)
    best: bool  # the best so far: its weights are kept
    seconds: float


Evaluate = Callable[[Callable[[np.ndarray], np.ndarray]], float]
"""Given an embedding function (normalised NCHW batch -> L2-normalised features), a figure to maximise."""


def lr_factor(epoch_progress: float, config: TrainConfig) -> float:
    """Learning-rate multiplier at a point of training (in epochs, from 0): linear warm-up, then cosine."""
    w = config.warmup_epochs
    if epoch_progress < w:
        return config.warmup_start + (1 - config.warmup_start) * epoch_progress / w
    span = max(config.epochs - w, 1e-9)
    t = min((epoch_progress - w) / span, 1.0)
    return config.min_lr_factor + (1 - config.min_lr_factor) * 0.5 * (1 + math.cos(math.pi * t))


def normalise_batch(images: np.ndarray) -> np.ndarray:
    """uint8 RGB (N, H, W, 3) -> float32 NCHW with the ImageNet normalisation the ReID models expect."""
    x = images.astype(np.float32) / 255.0
    x = (x - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


@dataclass
class Trainer:
    """Trains ``model`` (a torch module giving features) on RGB uint8 crops at the model's input size."""

    model: torch.nn.Module
    images: np.ndarray  # (N, H, W, 3) uint8 RGB
    labels: np.ndarray  # (N,) identity of each image
    config: TrainConfig = field(default_factory=TrainConfig)
    evaluate: Evaluate | None = None
    best_state: dict | None = None
    best_score: float = -math.inf
    best_epoch: int = -1
    history: list[EpochEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_pk(self.labels.tolist(), self.config.ids_per_batch, self.config.images_per_id)
        self._classes = {int(c): i for i, c in enumerate(np.unique(self.labels))}
        self._rng = np.random.default_rng(self.config.seed)
        torch.manual_seed(self.config.seed)
        self.device = torch.device(self.config.device)
        self.model.to(self.device)
        dim = int(self.embed(self.images[:2]).shape[1])
        self.head = make_head(
            self.config.loss, dim, len(self._classes), self.config.arcface_scale, self.config.arcface_margin
        ).to(self.device)
        self.optimizer = torch.optim.Adam(
            [
                {"params": self.model.parameters(), "lr": self.config.lr},
                {"params": self.head.parameters(), "lr": self.config.lr * self.config.head_lr_factor},
            ],
            weight_decay=self.config.weight_decay,
        )
        self._base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self.teacher = None
        if self.config.distill_weight > 0:
            self.teacher = copy.deepcopy(self.model).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)
        self._eraser = RandomErasing(p=self.config.erase_prob, value=0.0)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """L2-normalised features of uint8 RGB crops with the current weights."""
        return self.embed_normalised(normalise_batch(images))

    def embed_normalised(self, batch: np.ndarray) -> np.ndarray:
        return torch_embed(self.model, batch)

    def _augment(self, idx: list[int]) -> torch.Tensor:
        c = self.config
        x = torch.from_numpy(normalise_batch(self.images[idx]))
        flip = torch.from_numpy(self._rng.random(len(idx)) < c.flip_prob)
        x[flip] = x[flip].flip(-1)
        if c.pad:
            h, w = x.shape[2:]
            padded = F.pad(x, (c.pad, c.pad, c.pad, c.pad))
            dy, dx = self._rng.integers(0, 2 * c.pad + 1, size=(2, len(idx)))
            x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(len(idx))])
        return torch.stack([self._eraser(img) for img in x])

    def _score(self, epoch: int, losses: np.ndarray, started: float) -> EpochEvent:
        if self.evaluate is not None:
            score = float(self.evaluate(self.embed_normalised))
        else:  # no evaluation set: the lower the training loss, the better
            score = -float(losses[:, 0].mean()) if len(losses) else -math.inf
        best = score >= self.best_score  # a tie goes to the later epoch (it trained longer)
        if best:
            self.best_score, self.best_epoch = score, epoch
            self.best_state = copy.deepcopy({k: v.detach().cpu() for k, v in self.model.state_dict().items()})
        mean = losses.mean(axis=0) if len(losses) else np.full(3, math.nan)
        ev = EpochEvent(epoch, self.config.epochs, *map(float, mean), score, best, time.monotonic() - started)
        self.history.append(ev)
        return ev

    def run(self, cancelled: Callable[[], bool] = lambda: False) -> Iterator[StepEvent | EpochEvent]:
        """Train; yields a StepEvent per step and an EpochEvent per evaluation. Stops early (keeping
        ``best_state``) when ``cancelled()`` turns true."""
        c = self.config
        started = time.monotonic()
        if self.evaluate is not None:
            yield self._score(0, np.zeros((0, 3)), started)
        labels = self.labels.tolist()
        total_steps, done_steps = None, 0
        self.model.train()
        freeze_batchnorm(self.model)
        for epoch in range(1, c.epochs + 1):
            t0 = time.monotonic()
            batches = pk_batches(labels, c.ids_per_batch, c.images_per_id, self._rng)
            total_steps = total_steps or len(batches) * c.epochs
            losses = []
            for step, idx in enumerate(batches, 1):
                if cancelled():
                    return
                factor = lr_factor(epoch - 1 + (step - 1) / len(batches), c)
                for g, base in zip(self.optimizer.param_groups, self._base_lrs):
                    g["lr"] = base * factor
                x = self._augment(idx).to(self.device)
                y = torch.tensor([self._classes[int(v)] for v in self.labels[idx]], device=self.device)
                features = self.model(x)
                logits = self.head(features, y)
                id_loss = F.cross_entropy(
                    logits, y, label_smoothing=c.label_smoothing if c.loss == "softmax" else 0.0
                )
                tri_loss = batch_hard_triplet(features, y, c.triplet_margin)
                loss = c.id_weight * id_loss + c.triplet_weight * tri_loss
                if self.teacher is not None:
                    with torch.no_grad():
                        target = F.normalize(self.teacher(x), dim=1)
                    drift = (1 - (F.normalize(features, dim=1) * target).sum(1)).mean()
                    loss = loss + c.distill_weight * drift
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"the training loss became {loss.item()} at epoch {epoch}")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                losses.append((loss.item(), id_loss.item(), tri_loss.item()))
                done_steps += 1
                elapsed = time.monotonic() - started
                eta = elapsed / done_steps * (total_steps - done_steps)
                yield StepEvent(
                    epoch, c.epochs, step, len(batches), *losses[-1], self._base_lrs[0] * factor, elapsed, eta
                )
            yield self._score(epoch, np.asarray(losses), t0)
        log.info("training done: best epoch %d (score %.4f)", self.best_epoch, self.best_score)

    def load_best(self) -> None:
        """Put the best weights seen so far into the model."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)


def training_device(requested: str) -> str:
    """``auto``/``cpu``/``cuda`` -> the torch device training runs on (``auto``: a GPU where torch
    sees one). Training runs in PyTorch, so it needs torch's CUDA, not ONNX Runtime's."""
    from models.errors import ModelError

    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise ModelError("CUDA requested but PyTorch sees no GPU (torch.cuda.is_available() is false)")
    return "cpu"
