"""``main.py index``: index videos and folders of images with a progress bar, Ctrl-C to stop."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli.common import ctrl_c_cancels, expand_videos, model_set, open_library
from pipeline.cli.console import err
from pipeline.file_names import unresolvable

if TYPE_CHECKING:
    from models.loader import ModelConfig
    from pipeline.indexer import IndexConfig
    from pipeline.storage import Library


def print_report(report_json: str) -> None:
    """What indexing did (how the detector looked, how tall people were) and its warnings."""
    if not report_json:
        return
    from pipeline.index_report import summary

    report = json.loads(report_json)
    line = summary(report)
    if line:
        err(f"  {line}")
    for note in report.get("notes", []):
        err(f"  note: {note}")
    for warning in report.get("warnings", []):
        err(f"  warning: {warning}")


def cmd_index(args: argparse.Namespace) -> int:
    with ctrl_c_cancels("cancelling after the current batch") as cancel:
        return _index(args, cancel)


def _index(args: argparse.Namespace, cancel: threading.Event) -> int:
    from dataclasses import replace

    from models.errors import ModelError, SpotterError, WeightsError
    from pipeline.indexer import IndexConfig, index_video
    from pipeline.types import Stage

    unusable = unusable_paths(args.videos)
    given_ok = [g for g in args.videos if g not in unusable]
    to_index, empty = ([], {}) if args.ray else media_to_index(given_ok)
    if len(unusable) == len(args.videos) or not (args.ray or to_index):
        # nothing to index: a new --db is not made, empty, for it
        for given, why in (unusable | empty).items():
            err(f"error: {given}: {why}")
        return 2 if unusable else 1
    library = open_library(args, create=True)
    models = model_set(args, library=library)
    config = IndexConfig() if args.stride is None else replace(IndexConfig(), stride=args.stride)
    if args.ray:
        try:
            return _index_on_ray(args, library, models.config, config, cancel)
        finally:
            library.close()
    elif args.workers or args.segment_s is not None:
        raise SpotterError("--workers and --segment-s are for Ray: give --ray local (or a cluster address)")
    show_bar = not args.quiet and sys.stderr.isatty()
    failures = 0
    # argument errors (unusable, found above): said first, the rest still indexed
    for given, why in (unusable | empty).items():
        err(f"error: {given}: {why}")
    failures += len(empty)
    try:
        for video in to_index:
            bar = None
            try:
                for ev in index_video(video, library, models, config, cancel.is_set, args.force):
                    if ev.stage == Stage.PROBING and ev.reason:
                        err(f"{ev.video_path}: {ev.reason}")
                    if ev.stage == Stage.INDEXING and show_bar:
                        if bar is None:
                            from tqdm import tqdm

                            bar = tqdm(total=ev.frames_total, desc=video.name, unit="frame", leave=False)
                        bar.n = ev.frames_done
                        bar.set_postfix_str(
                            f"{ev.x_realtime:.1f}x real time, {ev.tracks} tracks, {ev.device}"
                        )
                    elif ev.stage in (Stage.DONE, Stage.SKIPPED, Stage.CANCELLED):
                        if bar is not None:
                            bar.close()
                        speed = f", {ev.x_realtime:.1f}x real time" if ev.stage == Stage.DONE else ""
                        note = f" ({ev.message})" if ev.message else ""
                        err(f"{ev.stage.value}: {ev.video_path}: {ev.tracks} tracks{speed}{note}")
                        print_report(ev.report_json)
            except (ModelError, WeightsError) as e:  # the same for every video: say it once and stop
                if bar is not None:
                    bar.close()
                err(f"error: {e}")
                return 2
            except SpotterError as e:
                failures += 1
                if bar is not None:
                    bar.close()
                err(f"error: {e}")
            if cancel.is_set():
                return 130
    finally:
        library.close()
    return 2 if unusable else 1 if failures else 0


def media_to_index(given: list[Path]) -> tuple[list[Path], dict[Path, str]]:
    """The files to index from the paths given (a folder: the media found in it), and the folders
    in which none was found, with why."""
    from pipeline.media_scan import nothing_in, scan_media

    files: list[Path] = []
    empty: dict[Path, str] = {}
    for path in given:
        if not path.is_dir():
            files.append(path)
        elif (scan := scan_media(path)).media:
            files += scan.media
        else:
            empty[path] = nothing_in(scan)
    return files, empty


def unusable_paths(paths: list[Path]) -> dict[Path, str]:
    """The given paths that name nothing: missing, or a symbolic link that never ends (a mistake in
    the command, exit 2, as opposed to a file that turns out not to be a good video, exit 1)."""
    out = {}
    for given in paths:
        try:
            given.resolve(strict=True)
        except FileNotFoundError:
            out[given] = "no such file or folder"
        except (OSError, RuntimeError) as e:  # a symlink loop (RuntimeError before Python 3.13)
            out[given] = unresolvable(e)
    return out


def _index_on_ray(
    args: argparse.Namespace,
    library: Library,
    models: ModelConfig,
    config: IndexConfig,
    cancel: threading.Event,
) -> int:
    """``index --ray``: the videos fanned out to Ray workers, one progress bar for the whole job."""
    from pipeline.distributed.long_video import SEGMENT_S
    from pipeline.distributed.ray_index import RayIndexJob, start_ray

    unusable = unusable_paths(args.videos)
    for given, why in unusable.items():
        err(f"error: {given}: {why}")
    videos = expand_videos([g for g in args.videos if g not in unusable])
    if not videos:
        return 2 if unusable else 1
    start_ray(args.ray, args.workers)
    segment_s = SEGMENT_S if args.segment_s is None else args.segment_s
    job = RayIndexJob(videos, library, models, config, args.workers, args.force, segment_s)
    show_bar = not args.quiet and sys.stderr.isatty()
    bar, failures, cancelled = None, 0, False
    err(f"indexing {len(videos)} videos on Ray ({args.ray}) with {job.n_workers} workers")
    for p in job.run():
        if cancel.is_set() and not cancelled:
            cancelled = True
            job.cancel()
        if show_bar:
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(total=max(p.frames_total, 1), desc="all videos", unit="frame", leave=False)
            bar.total = max(p.frames_total, bar.total or 1)
            bar.n = p.frames_done
            bar.set_postfix_str(f"{p.videos_done}/{p.videos_total} videos, {p.workers} workers")
        if p.retried:
            err(f"note: {p.retried}: its worker died; indexing it again on another")
        if p.finished is not None:
            o = p.finished
            failures += o.stage == "failed"
            note = f" ({o.message})" if o.message else ""
            line = f"{o.stage}: {o.stored_path or o.video}: {o.tracks} tracks{note}"
            err(f"error: {o.video}: {o.message}" if o.stage == "failed" else line)
    if bar is not None:
        bar.close()
    if cancelled:
        return 130
    return 2 if unusable else 1 if failures else 0
