"""Spotter: find a person in video.

    python main.py                      open the desktop app
    python main.py index VIDEO...       index videos (once; later runs skip or resume them)
    python main.py search --query IMG   find the person in the photo in every indexed video
    python main.py export --hit ID --out CLIP.mp4 [--annotate]
    python main.py videos [--json]      list the library
    python main.py serve                keep the models warm: later searches of the library answer at once
    python main.py doctor               check models and hardware
    python main.py eval-reid DATASET    evaluate the ReID model on a Market-1501-style dataset
    python main.py export-detector M.pt convert a YOLO checkpoint to ONNX
    python main.py install-weights SRC  copy/download the model weights (done by install.sh)

The library commands (index, search, export, videos, doctor, case, adapt-reid) take --db FILE|URL:
an SQLite file (default: spotter.db in the user's data directory) or a PostgreSQL URL such as
postgresql+psycopg://operator@archive/spotter; `main.py --db FILE|URL` opens the app on it, and
`main.py --ray local|ADDRESS` has the app index on a Ray cluster.
"""

from __future__ import annotations

import logging
import os
import sys

from pipeline.cli import LOG_FORMAT
from pipeline.cli.console import err

log = logging.getLogger("spotter")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        return _main(args)
    except KeyboardInterrupt:  # Ctrl-C twice (the first asks the work to stop at its next step)
        resumes = " (an interrupted index resumes from it)" if _command(args) == "index" else ""
        err(f"aborted: what was committed before is kept{resumes}")
        return 130


def _command(argv: list[str]) -> str:
    """The subcommand of a command line (``index`` in ``--db lib.db index cam1.mp4``), "" for none."""
    valued = ("--db", "--ray")  # the global options that take a value
    for k, arg in enumerate(argv):
        if not arg.startswith("-") and (k == 0 or argv[k - 1] not in valued):
            return arg
    return ""


def _main(argv: list[str]) -> int:
    # OpenCV writes its own warnings to stderr ("[ WARN:0@0.4] global grfmt_png.cpp ..." for a truncated
    # photo) beside Spotter's one-line error; what matters is said by Spotter
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    from models.errors import SpotterError
    from pipeline.cli.search_service import forward_search

    try:
        answered = forward_search(argv)  # a search that a running `main.py serve` answers (no engine here)
    except SpotterError as e:  # the service took the search and failed to answer
        err(f"error: {e}")
        return 2
    if answered is not None:
        try:
            sys.stderr.write(answered.stderr)
            sys.stdout.write(answered.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()
        return answered.code
    from pipeline.cli.parser import build_parser

    args = build_parser(__doc__).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format=LOG_FORMAT, stream=sys.stderr
    )
    if args.command is None:
        return open_app(args.app_db, args.app_ray)
    from pipeline.cli import admin_cmd, case_cmd, index_cmd, search_cmd, train_cmd

    handler = {
        "index": index_cmd.cmd_index,
        "search": search_cmd.cmd_search,
        "serve": search_cmd.cmd_serve,
        "export": search_cmd.cmd_export,
        "videos": admin_cmd.cmd_videos,
        "doctor": admin_cmd.cmd_doctor,
        "eval-reid": admin_cmd.cmd_eval_reid,
        "export-detector": admin_cmd.cmd_export_detector,
        "install-weights": admin_cmd.cmd_install_weights,
        "case": case_cmd.cmd_case,
        "train-reid": train_cmd.cmd_train_reid,
        "adapt-reid": train_cmd.cmd_adapt_reid,
    }[args.command]
    try:
        code = handler(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return code
    except SpotterError as e:
        err(f"error: {e}")
        return 2
    except BrokenPipeError:  # `main.py search --json | head`: the reader left; exit quietly as Unix tools do
        _quiet_stdout()
        return 0


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def open_app(db: str | None = None, cluster: str | None = None) -> int:
    """The desktop app, or one clear line where there is no display to show it on."""
    from pipeline.cli.display_check import display_problem

    problem = display_problem()
    if problem:
        err(f"error: {problem}")
        return 2
    if db:  # a new library file, yes; a mistyped folder made on the way (/nonexistent/x.db), no
        from models.errors import SpotterError
        from pipeline.storage.location import locate

        try:
            where = locate(db)
        except SpotterError as e:
            err(f"error: {e}")
            return 2
        if where.path is not None and not where.path.parent.is_dir():
            folder = where.path.parent
            err(f"error: --db {db}: there is no folder {folder} (the app makes a library file, not folders)")
            return 2
    from gui.app import run_app

    return run_app(db, cluster)


if __name__ == "__main__":
    sys.exit(main())
