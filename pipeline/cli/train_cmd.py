"""``main.py train-reid`` (supervised, on a Market-1501 layout) and ``main.py adapt-reid`` (on a
library's own tracks, no labels, then re-embedding the library)."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace

from pipeline.cli.common import ctrl_c_cancels, open_library, reid_model_path
from pipeline.cli.console import err, out

log = logging.getLogger(__name__)


def train_config(args: argparse.Namespace) -> object:
    """TrainConfig with the options given on the command line (the others keep its defaults)."""
    from models.reid_training.loop import TrainConfig, training_device

    given = {
        "epochs": args.epochs,
        "loss": args.loss,
        "triplet_margin": args.triplet_margin,
        "lr": args.lr,
        "ids_per_batch": args.ids_per_batch,
        "images_per_id": args.images_per_id,
        "distill_weight": args.distill,
    }
    chosen = {k: v for k, v in given.items() if v is not None}
    return replace(TrainConfig(), **chosen, seed=args.seed, device=training_device(args.device))


def run_job(job: object, quiet: bool) -> dict:
    """Drive a training job with a progress line (ETA) on stderr; Ctrl-C stops it at the next step
    and keeps the best epoch so far (a second Ctrl-C aborts at once). Returns the card."""
    bar = None
    try:
        with ctrl_c_cancels("stopping after this step; the best epoch so far will be written") as cancel:
            for ev in job.run(cancel.is_set):  # type: ignore[attr-defined]
                bar = show(job, ev, bar, quiet)
    finally:
        if bar is not None:
            bar.close()
    if job.stopped_early:  # type: ignore[attr-defined]
        err("stopped: writing the best epoch so far")
    return job.finish()  # type: ignore[attr-defined]


def show(job: object, ev: object, bar: object, quiet: bool) -> object:
    """One training event on stderr: stage lines, a bar of steps on a terminal, a line per epoch."""
    from models.reid_training.loop import EpochEvent, StepEvent
    from pipeline.reid_training.job import StageEvent

    if isinstance(ev, StageEvent):
        err(ev.message)
    elif isinstance(ev, StepEvent) and not quiet and sys.stderr.isatty():
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=ev.steps * ev.epochs, unit="step", leave=False)
        bar.set_description(f"epoch {ev.epoch}/{ev.epochs} loss {ev.loss:.3f}")  # type: ignore[attr-defined]
        bar.update(1)  # type: ignore[attr-defined]
    elif isinstance(ev, EpochEvent):
        if bar is not None:
            bar.clear()  # type: ignore[attr-defined]
        eta = ""
        if ev.epoch:
            spent = sum(e.seconds for e in job.trainer.history if e.epoch)  # type: ignore[attr-defined]
            eta = f", {ev.seconds:.0f} s, about {spent / ev.epoch * (ev.epochs - ev.epoch):.0f} s left"
        err(job.epoch_line(ev) + eta)  # type: ignore[attr-defined]
    return bar


def cmd_train_reid(args: argparse.Namespace) -> int:
    import json

    from pipeline.reid_eval import GALLERY_DIR, QUERY_DIR
    from pipeline.reid_training.dataset import load_market_train
    from pipeline.reid_training.job import TrainingJob, card_path

    config = train_config(args)
    data = load_market_train(args.dataset)
    init = reid_model_path(args.init)
    eval_set = args.eval_set
    if eval_set is None and (args.dataset / QUERY_DIR).is_dir() and (args.dataset / GALLERY_DIR).is_dir():
        eval_set = args.dataset
    job = TrainingJob(data, init, args.out, config, eval_set)  # type: ignore[arg-type]
    card = run_job(job, args.quiet)
    out(f"wrote {args.out} and {card_path(args.out)} (best epoch {card['best_epoch']})")
    if card.get("evaluation"):
        for name in ("before", "after"):
            e = card["evaluation"][name]
            out(
                f"{name:>6}: Rank-1 {e['rank1']:.3f}  mAP {e['map']:.3f}  mINP {e['minp']:.3f}"
                f"  ({e['model']})"
            )
    if args.json:
        out(json.dumps(card))
    return 0


def cmd_adapt_reid(args: argparse.Namespace) -> int:
    from pipeline.cli.common import model_set, video_of
    from pipeline.reid_training.adapt import adapt_library

    library = open_library(args)
    models = model_set(args, library=library)
    videos = [video_of(library, v, "--video") for v in args.video] or None
    with ctrl_c_cancels("stopping: the library stays as it is unless it has switched already") as cancel:
        steps = adapt_library(
            library,
            models,
            args.out,
            train_config(args),
            videos,
            reembed=not args.no_reembed,
            cancelled=cancel.is_set,
        )  # type: ignore[arg-type]
        for ev in steps:
            if ev.message and (ev.stage == "done" or not args.quiet):
                (out if ev.stage == "done" else err)(ev.message)
        if cancel.is_set():
            return 130
    return 0
