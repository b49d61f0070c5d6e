"""A training job from labelled crops to a new ONNX ReID model and its JSON card.

Steps: convert the starting ONNX model to PyTorch and check the conversion on the set's own crops;
hold out identities for validation; train (``models.reid_training.loop``); export the best epoch's
weights to ONNX and check the export; evaluate the new model and the starting one with ``eval-reid``
(the same code as ``main.py eval-reid``) where an evaluation set is given; write the card beside the
model: data, settings, losses per epoch, figures, SHA-256 of both files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from models.errors import ModelError, SpotterError
from models.reid import ReidConfig, ReidEmbedder
from models.reid_training.convert import CONVERSION_TOLERANCE, export_onnx, load_trainable, max_difference
from models.reid_training.loop import EpochEvent, StepEvent, TrainConfig, Trainer, normalise_batch
from models.reid_training.sampler import check_pk
from models.weights import sha256_of
from pipeline.reid_training.dataset import (
    VAL_FRACTION,
    LabelledCrops,
    crops_per_identity,
    split_identities,
    validation_figure,
)

log = logging.getLogger(__name__)

CHECK_CROPS = 16
"""Crops of the training set on which conversion and export are checked against ONNX Runtime."""


@dataclass(frozen=True)
class StageEvent:
    """A step of the job outside the training loop (converting, exporting, evaluating)."""

    message: str


def card_path(model: Path) -> Path:
    """Where a model's card is written: beside it, ``MODEL.json``."""
    return Path(model).with_suffix(".json")


class TrainingJob:
    """Trains a ReID model; ``run()`` yields progress, ``finish()`` writes the model and its card.

    ``finish`` may be called after ``run`` stopped early (cancel or Ctrl-C): the best epoch so far is
    written (the starting model counts as epoch 0, so a job never writes a worse model than it
    started from, by its validation figure)."""

    def __init__(
        self,
        data: LabelledCrops,
        init: Path,
        out: Path,
        config: TrainConfig = TrainConfig(),
        eval_set: Path | None = None,
        val_fraction: float = VAL_FRACTION,
        extra: dict | None = None,
    ):
        self.data, self.init, self.out, self.config = data, Path(init), Path(out), config
        self.eval_set, self.val_fraction, self.extra = eval_set, val_fraction, extra or {}
        self.trainer: Trainer | None = None
        self.val: LabelledCrops | None = None
        self.conversion_diff = math.nan
        self.started = time.monotonic()
        self.stopped_early = False
        if self.out.resolve() == self.init.resolve():
            raise SpotterError(f"--out {self.out} is the starting model: write the new model to another file")
        check_pk(data.labels.tolist(), config.ids_per_batch, config.images_per_id)  # before any work

    def run(
        self, cancelled: Callable[[], bool] = lambda: False
    ) -> Iterator[StepEvent | EpochEvent | StageEvent]:
        yield StageEvent(f"converting {self.init.name} to PyTorch")
        model = load_trainable(self.init)
        check = normalise_batch(self.data.images[:CHECK_CROPS])
        self.conversion_diff = max_difference(self.init, model, check)
        if not self.conversion_diff <= CONVERSION_TOLERANCE:
            raise ModelError(
                f"the PyTorch conversion of {self.init.name} differs from it by {self.conversion_diff:.2e} "
                f"(more than {CONVERSION_TOLERANCE:g}): it cannot be trained here"
            )
        train, val = split_identities(
            self.data, self.val_fraction, self.config.seed, self.config.ids_per_batch
        )
        evaluate = validation_figure(val, normalise_batch, self.config.seed) if val is not None else None
        self.val = val
        self.trainer = Trainer(model, train.images, train.labels, self.config, evaluate)
        yield StageEvent(
            f"training on {len(train)} crops of {train.identities} people"
            + (f", validating on {val.identities} others" if val is not None else "")
        )
        finished = False
        try:
            yield from self.trainer.run(cancelled)
            finished = not cancelled()
        finally:
            self.stopped_early = not finished

    def epoch_line(self, ev: EpochEvent) -> str:
        """One line on an evaluated epoch: its losses and the figure that picks the best epoch."""
        losses = (
            ""
            if ev.epoch == 0
            else f"loss {ev.loss:.3f} (id {ev.id_loss:.3f}, triplet {ev.triplet_loss:.3f})"
        )
        figure = f"held-out people mAP {ev.score:.4f}" if self.val is not None else ""
        best = "  (best so far)" if ev.best and figure else ""
        return f"epoch {ev.epoch}/{ev.epochs}: " + ", ".join(p for p in (losses, figure) if p) + best

    def finish(self) -> dict:
        """Write the best model and its card (evaluating both models on ``eval_set``); the card."""
        t = self.trainer
        if t is None or t.best_state is None:
            raise SpotterError("training stopped before its first evaluation: no model was written")
        t.load_best()
        export_diff = export_onnx(t.model, self.out, normalise_batch(self.data.images[:CHECK_CROPS]))
        figures = {}
        if self.eval_set is not None:
            from pipeline.reid_benchmark import evaluate_reid

            for name, path in (("before", self.init), ("after", self.out)):
                figures[name] = evaluate_reid(self.eval_set, ReidEmbedder(path, ReidConfig())).to_json()
        card = {
            "model": self.out.name,
            "sha256": sha256_of(self.out),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "init": {"model": self.init.name, "sha256": sha256_of(self.init)},
            "data": {
                "source": self.data.source,
                "crops": len(self.data),
                "identities": self.data.identities,
                "crops_per_identity": crops_per_identity(self.data.labels),
                "validation_identities": 0 if self.val is None else self.val.identities,
            }
            | self.extra,
            "settings": dataclasses.asdict(self.config),
            "epochs": [
                {
                    "epoch": e.epoch,
                    "loss": _num(e.loss),
                    "id_loss": _num(e.id_loss),
                    "triplet_loss": _num(e.triplet_loss),
                    "validation_map" if self.val is not None else "score": round(e.score, 4),
                    "seconds": round(e.seconds, 1),
                }
                for e in t.history
            ],
            "best_epoch": t.best_epoch,
            "stopped_early": self.stopped_early,
            "conversion_max_difference": float(f"{self.conversion_diff:.3g}"),
            "export_max_difference": float(f"{export_diff:.3g}"),
            "evaluation": {"dataset": str(self.eval_set)} | figures if self.eval_set else None,
            "train_seconds": round(time.monotonic() - self.started, 1),
        }
        card_path(self.out).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        log.info("wrote %s and %s", self.out, card_path(self.out))
        return card


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 4)
