"""Adapting the ReID model to a library's cameras, end to end, as one generator of progress events
(driven the same way by ``main.py adapt-reid`` and the desktop app): the pseudo-labelled set from the
library's tracks (``library_set``), fine-tuning (``job``), then re-embedding the library with the new
model and switching to it (``reembed``). Cancelled before the switch, the library is left as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from models.errors import SpotterError
from models.loader import ModelSet
from models.reid import ReidConfig, ReidEmbedder
from models.reid_training.loop import EpochEvent, StepEvent, TrainConfig
from pipeline.reid_training.job import StageEvent, TrainingJob
from pipeline.reid_training.library_set import AdaptationError, AdaptConfig, fit_batch, library_training_set
from pipeline.reid_training.reembed import reembed_library
from pipeline.storage import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaptProgress:
    """``stage`` (set | train | reembed | done), ``done`` of ``total`` in it, a line for the operator
    (empty for steps that only move the bar), and the seconds left in the stage where known."""

    stage: str
    done: int
    total: int
    message: str = ""
    eta_s: float | None = None


def default_output(library: Library) -> Path:
    """Where the app writes an adapted model: beside the library, named for it and the time."""
    stem = Path(library.side_file("")).stem
    return library.side_file("").with_name(f"{stem}_adapted_{datetime.now():%Y%m%d_%H%M%S}.onnx")


def adapt_library(
    library: Library,
    models: ModelSet,
    out: Path,
    config: TrainConfig = TrainConfig(),
    videos: Sequence[int] | None = None,
    adapt: AdaptConfig = AdaptConfig(),
    reembed: bool = True,
    cancelled: Callable[[], bool] = lambda: False,
    epochs: int | None = None,
) -> Iterator[AdaptProgress]:
    """Adapt the library's current ReID model to its own tracks and (``reembed``) switch to it;
    ``epochs`` overrides the config's."""
    if epochs is not None:
        config = replace(config, epochs=epochs)
    current = models.reid_id
    if Path(out).name in (current, current.split("+")[0]):
        raise SpotterError(f"{out} has the name of the library's current model: choose another file name")
    if not any(v.status == "done" for v in library.videos()):
        raise AdaptationError(
            f"the library {library.where} has no indexed video to adapt on; index footage first"
        )
    yield AdaptProgress("set", 0, 1, f"building the training set from the library's tracks (model {current})")
    data, stats = library_training_set(library, current, videos, adapt, cancelled=cancelled)
    yield AdaptProgress(
        "set",
        1,
        1,
        f"{len(data)} crops of {stats['pseudo_identities']} pseudo-identities from {stats['tracks']} tracks "
        f"of {stats['videos']} videos ({stats['merged']} confident merges); no labels used",
    )
    init = models.store.resolve(models.config.reid.weights)
    job = TrainingJob(data, init, Path(out), fit_batch(config, data), extra={"adaptation": stats})
    for ev in job.run(cancelled):
        if isinstance(ev, StepEvent):
            done = (ev.epoch - 1) * ev.steps + ev.step
            yield AdaptProgress("train", done, ev.epochs * ev.steps, eta_s=ev.eta_s)
        elif isinstance(ev, EpochEvent):
            yield AdaptProgress("train", ev.epoch, ev.epochs, job.epoch_line(ev))
        elif isinstance(ev, StageEvent):
            yield AdaptProgress("train", 0, 1, ev.message)
    if cancelled():
        yield AdaptProgress("done", 0, 1, "cancelled: the library is unchanged")
        return
    card = job.finish()
    yield AdaptProgress("train", 1, 1, f"wrote {out} (best epoch {card['best_epoch']})")
    if not reembed:
        yield AdaptProgress("done", 1, 1, f"wrote {out}; the library is unchanged")
        return
    embedder = ReidEmbedder(Path(out), ReidConfig(), models.device.ort_providers)
    for ev in reembed_library(library, embedder, Path(out).name, cancelled=cancelled):
        if ev.switched:
            yield AdaptProgress("done", 1, 1, f"the library now uses {Path(out).name}")
            return
        what = "already done" if ev.skipped else f"{ev.tracks} tracks"
        yield AdaptProgress(
            "reembed", ev.done, ev.total, f"re-embedded {ev.done}/{ev.total}: {ev.video} ({what})"
        )
    yield AdaptProgress("done", 0, 1, f"cancelled: the library still uses {current} (the new model is {out})")
