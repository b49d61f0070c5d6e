"""What every command needs: the library, the models, the list of videos to work on."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cli.console import err

if TYPE_CHECKING:
    from models.loader import ModelConfig, ModelSet
    from pipeline.storage import Library


def open_library(args: argparse.Namespace, create: bool = False) -> Library:
    """The library ``--db`` names (the user's default without it). Only a command that adds to a
    library (``create``: index, a new case, a case import) makes a new SQLite file; the others refuse
    a file that is not there (:func:`existing_library`)."""
    from pipeline.storage import Library, default_db_path

    if create:
        return Library(args.db or default_db_path())
    return Library(existing_library(args))


def existing_library(args: argparse.Namespace) -> str | Path:
    """The library ``--db`` names (the user's default without it), refused when it is an SQLite file
    that is not there or an empty file, so that a mistyped ``--db`` (or a copy cut short) is not
    answered from an empty library ("the person was not found"). Nothing is opened."""
    from pipeline.errors import StorageError
    from pipeline.storage import default_db_path
    from pipeline.storage.location import locate

    db = args.db or default_db_path()
    where = locate(db)
    if where.path is not None and not where.path.exists():
        if args.db:
            raise StorageError(f"no library at {where}: `main.py index VIDEO --db {args.db}` makes one")
        raise StorageError(f"no library yet ({where}): index a video first (main.py index VIDEO)")
    if where.path is not None and where.path.is_file() and where.path.stat().st_size == 0:
        # SQLite takes an empty file for a new database: a truncated copy of a library would be
        # answered as an empty one ("the person was not found"), and made into a library
        raise StorageError(
            f"{where} is an empty file, not a library (a copy cut short?); nothing was written"
        )
    return db


def model_set(args: argparse.Namespace, flip: bool | None = None, library: Library | None = None) -> ModelSet:
    """The models a command asked for (see :func:`model_config`)."""
    from models.loader import ModelSet

    return ModelSet(model_config(args, flip, library))


def model_config(
    args: argparse.Namespace, flip: bool | None = None, library: Library | None = None
) -> ModelConfig:
    """Which models a command asked for; with a library, its recorded ReID model (after ``adapt-reid``)
    unless ``--reid-model`` names another."""
    from dataclasses import replace

    from models.loader import ModelConfig, library_reid

    cfg = ModelConfig(device=args.device, trust_model=getattr(args, "trust_model", False))
    if library is not None and not getattr(args, "reid_model", None):
        cfg = library_reid(cfg, library.active_reid())
    if getattr(args, "detector", None):
        cfg = replace(cfg, detector=replace(cfg.detector, weights=args.detector))
    if getattr(args, "max_input", None):
        cfg = replace(cfg, detector=replace(cfg.detector, max_input=args.max_input))
    if getattr(args, "reid_model", None):
        cfg = replace(cfg, reid=replace(cfg.reid, weights=args.reid_model))
    if flip is not None:
        cfg = replace(cfg, reid=replace(cfg.reid, flip=flip))
    return cfg


def reid_model_path(name: str | None) -> Path:
    """A ReID model file by path or manifest name (default: the configured model)."""
    from models.reid import ReidConfig
    from models.weights import WeightStore

    return WeightStore().resolve(name or ReidConfig().weights)


def expand_videos(paths: list[Path]) -> list[Path]:
    """Files as given; folders expanded to the videos below them and the folders of images in them
    (each indexed as one sequence), sorted."""
    from pipeline.media_scan import media_in

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += media_in(p)
        else:
            out.append(p)
    return out


def video_of(library: Library, text: str, option: str = "") -> int:
    """A library video named on the command line by its path (an existing path wins), the path of a
    copy it is listed with, or its id."""
    from models.errors import SpotterError
    from pipeline.file_names import is_text, shown

    prefix = f"{option}: " if option else ""
    if not is_text(text):
        raise SpotterError(
            f"{prefix}{shown(text)} is not a video of the library: the name is not valid UTF-8 "
            "(written by another system), and such videos are never indexed"
        )
    by_path = library.video_id(text)
    videos = library.videos()
    if by_path is None:  # a copy it is listed with (an alias: the file moved, or indexed once as a twin)
        where = str(Path(text).expanduser().resolve())
        by_path = next((v.video_id for v in videos if where in v.aliases), None)
    video_id = by_path if by_path is not None or not text.isdigit() else int(text)
    if video_id is None or video_id not in {v.video_id for v in videos}:
        raise SpotterError(f"{prefix}{text} is not a video of the library {library.where}")
    return video_id


@contextmanager
def ctrl_c_cancels(what: str) -> Iterator[threading.Event]:
    """While inside, the first Ctrl-C sets the returned event (the work stops at its next step, keeping
    what it has), the second aborts at once (KeyboardInterrupt)."""
    cancel = threading.Event()

    def on_sigint(_sig: int, _frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        err(f"\n{what} (Ctrl-C again to abort at once)")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
