"""The command line's options. Every number is checked where it is parsed, against the same range the
config dataclasses enforce (:mod:`models.validation`), and any mistake is one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from models.validation import Range
from pipeline.cli.case_parser import add_case_commands
from pipeline.cli.console import err
from pipeline.cli.option_types import COORDINATE, OneVideo, clock_time, colour, number, out_path, region

USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the usage is in ``--help``)."""

    _words: tuple[str, ...] = ()  # the command line being parsed (a subcommand's parser says its errors)

    def error(self, message: str) -> NoReturn:
        err(f"{self.prog}: error: {message}{dash_hint(Parser._words)} (see {self.prog} --help)")
        raise SystemExit(USAGE_ERROR)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        words = signed_values(sys.argv[1:] if args is None else list(args))
        Parser._words = tuple(words)
        parsed = super().parse_args(words, namespace)
        if getattr(parsed, "command", None) is not None and hasattr(parsed, "app_db"):
            self._before_command(parsed)
        return parsed

    def _before_command(self, args: argparse.Namespace) -> None:
        """``--db`` / ``--ray`` written before a command (``main.py --db lib.db index ...``) are the
        command's, as operators write them: silently taken as the desktop app's, they sent an index
        into the default library. Refused where the command does not take them or says otherwise."""
        for option, mine, app in (("--db", "db", "app_db"), ("--ray", "ray", "app_ray")):
            given = getattr(args, app)
            if given is None:
                continue
            if not hasattr(args, mine):
                self.error(
                    f"{option} does not apply to {args.command} (give it after the command, where it does)"
                )
            if getattr(args, mine) not in (None, given):
                self.error(
                    f"two values of {option}: {given!r} before the command, {getattr(args, mine)!r} after it"
                )
            setattr(args, mine, given)


SIGNED_VALUE_OPTIONS = ("--region",)
"""Options whose one value may begin with a minus sign (``--region -100,0,50,50``: a region may begin
left of the frame). argparse takes such a value for an option ("expected one argument"), as it takes
every word that starts with "-" and is not a plain number."""
SIGNED_VALUE = re.compile(r"^-\.?\d")


def dash_hint(words: tuple[str, ...]) -> str:
    """Where a word of the command line is a file name that starts with '-' (a video named
    ``-x.mp4``), how to give it: argparse reads it as an option and says only 'unrecognized
    arguments' or 'expected one argument' (a sweep). "" where there is none."""
    for word in words:
        if word == "--":
            break
        if word[:1] != "-" or word[1:2] == "-" or SIGNED_VALUE.match(word):
            continue
        if "." in word or "/" in word or Path(word).exists():
            return f" ({word!r} starts with '-' and reads as an option: write it as ./{word})"
    return ""


def signed_values(argv: list[str]) -> list[str]:
    """``argv`` with ``--region -100,...`` written as ``--region=-100,...``, which argparse reads."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = str(argv[i])
        if word == "--":  # what follows is positional, as written
            return out + [str(a) for a in argv[i:]]
        if word in SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and SIGNED_VALUE.match(str(argv[i + 1])):
            out.append(f"{word}={argv[i + 1]}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out


DB_HELP = (
    "library: an SQLite file (default: spotter.db in the user data dir) or a PostgreSQL URL "
    "(postgresql+psycopg://user@host/database) shared by several operators"
)


SEARCH_MARGIN = 0.05
"""``SearchConfig.relative_margin``, as ``search --help`` says it (written here so that ``--help`` does
not import the engine; a test holds the two equal)."""
MARGIN_HELP = (
    f"A hit must also score within {SEARCH_MARGIN} of the best person of its video "
    "(SearchConfig.relative_margin in pipeline/search_config.py; no option changes it), and a person "
    "seen beside a better hit at the same moment is not one: a lower --threshold (even 0) or a larger "
    "--top does not bring in look-alikes"
)


def build_parser(doc: str) -> Parser:
    parser = Parser(prog="spotter", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    parser.add_argument(
        "--db", dest="app_db", default=None, metavar="FILE|URL", help="the desktop app's " + DB_HELP
    )
    parser.add_argument(
        "--ray", dest="app_ray", metavar="local|ADDRESS", help="the desktop app indexes on this Ray cluster"
    )
    sub = parser.add_subparsers(dest="command", parser_class=Parser)

    def with_db(p: argparse.ArgumentParser, detector: bool = True) -> argparse.ArgumentParser:
        p.add_argument("--db", default=None, metavar="FILE|URL", help=DB_HELP)
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where models run")
        p.add_argument("--reid-model", default=None, help="ReID ONNX file or manifest name")
        if detector:
            p.add_argument("--detector", default=None, help="YOLO .onnx (or known .pt) file or manifest name")
            p.add_argument(
                "--trust-model",
                action="store_true",
                help="load a .pt detector that is not a known model (a .pt file can run code when loaded)",
            )
            p.add_argument(
                "--max-input",
                type=number("--max-input", "models.detector:DETECTOR_RULES.max_input"),
                default=None,
                help="longest side of the detector's whole-frame input, 32-8192 px (rounded up to 32)",
            )
        return p

    p = with_db(sub.add_parser("index", help="index videos and folders of images (skips unchanged, resumes)"))
    p.add_argument("videos", nargs="+", type=Path, help="video files, folders of images, folders of both")
    p.add_argument(
        "--stride",
        type=number("--stride", "pipeline.indexer:INDEX_RULES.stride"),
        default=None,
        help="run the detector on every n-th frame (n >= 1)",
    )
    p.add_argument("--force", action="store_true", help="redo videos that are already indexed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--ray",
        default=None,
        metavar="local|ADDRESS",
        help="index on a Ray cluster: 'local' starts one on this machine for the job, an address "
        "(host:6379) joins a running one (./install.sh --cluster)",
    )
    p.add_argument(
        "--workers",
        type=number("--workers", "pipeline.distributed.ray_index:RAY_RULES.workers"),
        default=None,
        help="Ray workers (each loads the models once; default: the cluster's CPUs, at most one per video)",
    )
    p.add_argument(
        "--segment-s",
        type=number("--segment-s", "pipeline.distributed.ray_index:RAY_RULES.segment_s"),
        default=None,
        help="with --ray: split videos longer than 1.5x this many seconds into parts of about this "
        "length for several workers, stitched back into whole tracks (default 600; 0: never split)",
    )

    p = with_db(sub.add_parser("search", help="find the person in a photo"))
    p.add_argument("--query", type=Path, default=None, help="photo of the person (a crop or a scene)")
    p.add_argument(
        "--video",
        type=Path,
        default=None,
        action=OneVideo,
        help="search only this indexed video (its path, or its id as `videos` lists it)",
    )
    p.add_argument(
        "--threshold",
        type=number("--threshold", "pipeline.search_config:SEARCH_RULES.min_score"),
        default=None,
        help="least similarity of a hit, 0..1 (default: the library's calibrated floor). " + MARGIN_HELP,
    )
    p.add_argument("--top", type=number("--top", Range(1, 1_000_000, integer=True)), default=None,
                   help="at most this many hits (1 or more); it shortens the list, never lengthens "
                   f"it: which people are hits is decided as --threshold says (within {SEARCH_MARGIN} "
                   "of their video's best), so --top 20 may still give one")  # fmt: skip
    person = p.add_mutually_exclusive_group()
    person.add_argument("--person", type=number("--person", Range(0, 10_000, integer=True)), default=None,
                        help="which person in a scene photo, counted from 0 by the size of their box: "
                        "0 = the largest, 1 = the next largest, ...; without it, the largest, or the "
                        "whole photo where it is a crop of one person")  # fmt: skip
    person.add_argument("--box", type=number("--box", COORDINATE), nargs=4, default=None,
                        metavar=("X1", "Y1", "X2", "Y2"), help="the person's box in the photo")  # fmt: skip
    p.add_argument("--camera", action="append", default=[], metavar="NAME",
                   help="only this camera's videos (repeat for more; names as `videos` shows)")  # fmt: skip
    p.add_argument("--from", dest="time_from", type=clock_time("--from"), default=None, metavar="ISO_TIME",
                   help="only people seen at or after this clock time (2026-11-21T14:30:00)")  # fmt: skip
    p.add_argument("--to", dest="time_to", type=clock_time("--to", end_of_day=True), default=None,
                   metavar="ISO_TIME", help="only people seen at or before this wall-clock time "
                   "(a date alone: to its end)")  # fmt: skip
    p.add_argument("--region", type=region, default=None, metavar="X1,Y1,X2,Y2",
                   help="only people whose box enters this rectangle (video pixels)")  # fmt: skip
    for part in ("upper", "lower"):
        p.add_argument(f"--{part}", type=colour, default=None, metavar="COLOUR",
                       help=f"{part}-body clothing colour (a description; --query optional)")  # fmt: skip
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking of the candidates")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--no-service",
        action="store_true",
        help="search in this process even where `main.py serve` runs for the library",
    )

    serve_help = "keep the library's models and index warm here: its searches are answered at once"
    sub.add_parser("serve", help=serve_help).add_argument(
        "--db", default=None, metavar="FILE|URL", help=DB_HELP
    )

    p = sub.add_parser("export", help="cut a hit to an MP4 clip (and a JPEG thumbnail)")
    p = with_db(p, detector=False)
    p.add_argument("--hit", type=number("--hit", Range(1, 2**62, integer=True)), required=True,
                   help="hit id (shown by search)")  # fmt: skip
    p.add_argument("--out", type=out_path, required=True, help="output .mp4 path (never overwritten)")
    p.add_argument("--annotate", action="store_true", help="draw the person's box")
    p.add_argument("--margin", type=number("--margin", "pipeline.export:EXPORT_RULES.margin_s"), default=None,
                   help="seconds added before and after, 0-3600")  # fmt: skip

    p = with_db(
        sub.add_parser("videos", help="list the indexed videos; set their camera and start time"), False
    )
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--set-camera", nargs=2, metavar=("VIDEO", "NAME"), default=None,
                   help="name the camera of a video (its path or id)")  # fmt: skip
    p.add_argument("--set-start", nargs=2, metavar=("VIDEO", "ISO_TIME"), default=None,
                   help="when a video's recording started (ISO 8601, local; 'none' clears it)")  # fmt: skip
    with_db(sub.add_parser("doctor", help="check model files and execution providers"))

    add_case_commands(sub, with_db)

    p = sub.add_parser("install-weights", help="copy or download the model weights into models/weights/")
    p.add_argument("source", help="folder holding the weight files, or a base URL")

    p = sub.add_parser("export-detector", help="convert a YOLO .pt checkpoint to ONNX (dynamic shapes)")
    p.add_argument("checkpoint", type=Path, help="YOLO .pt file")
    p.add_argument("--trust-model", action="store_true", help="load it although it is not a known model")
    p.add_argument("--out", type=out_path, default=None, help="output .onnx (default: beside the .pt)")
    p.add_argument("--imgsz", type=number("--imgsz", Range(32, 8192, integer=True)), default=640,
                   help="nominal input size recorded in the model")  # fmt: skip

    def training_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--out", type=out_path, required=True, help="the new ONNX model (its card: the same name, .json)"
        )
        p.add_argument(
            "--loss",
            choices=["softmax", "arcface"],
            default=None,
            help="identity loss beside the triplet loss (default arcface)",
        )
        # option, range, what it sets (unset: models.reid_training.loop.TrainConfig's default, named here)
        for option, rule, what in (
            ("--epochs", Range(1, 1000, integer=True), "passes over the training set (default 10)"),
            ("--triplet-margin", Range(0, 2), "margin of the batch-hard triplet loss (default 0.3)"),
            ("--lr", Range(1e-7, 1), "learning rate of Adam (default 1e-4)"),
            ("--ids-per-batch", Range(2, 1024, integer=True), "P: people per batch (default 8)"),
            ("--images-per-id", Range(2, 64, integer=True), "K: crops of each person per batch (default 4)"),
            (
                "--distill",
                Range(0, 1000),
                "weight of staying near the starting model's embeddings (default 10; 0: plain fine-tuning)",
            ),
        ):
            p.add_argument(option, type=number(option, rule), default=None, help=what)
        p.add_argument("--seed", type=number("--seed", Range(0, 2**31, integer=True)), default=0)
        p.add_argument(
            "--eval-set",
            type=Path,
            default=None,
            help="Market-1501 folder (query/, bounding_box_test/) to evaluate before and after",
        )
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--json", action="store_true", help="print the model card as JSON")

    p = sub.add_parser("train-reid", help="train the ReID model on a labelled Market-1501 layout set")
    p.add_argument("dataset", type=Path, help="folder with bounding_box_train/ (PID_cCsS_FFFFFF_NN.jpg)")
    p.add_argument("--init", default=None, help="starting ONNX model (default: the configured ReID model)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where training runs")
    training_options(p)

    p = with_db(
        sub.add_parser("adapt-reid", help="adapt the ReID model to the library's cameras (no labels)"), False
    )
    p.add_argument(
        "--video",
        action="extend",
        nargs="+",
        default=[],
        metavar="V",
        help="train on these videos' tracks only (paths or ids; the whole library is re-embedded)",
    )
    p.add_argument("--no-reembed", action="store_true", help="write the model but leave the library as it is")
    training_options(p)

    p = with_db(sub.add_parser("eval-reid", help="Market-1501 protocol evaluation of the ReID model"), False)
    p.add_argument("dataset", type=Path, help="folder with query/ and bounding_box_test/")
    p.add_argument("--model", default=None, help="ReID ONNX file (default: the configured model)")
    p.add_argument("--rerank", action="store_true", help="k-reciprocal re-ranking")
    p.add_argument("--flip", action="store_true", help="average each crop with its mirror image")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return parser
