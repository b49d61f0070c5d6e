"""The command line's ``case`` commands (new, add, refine, report, show, export, import): their options,
checked as they are parsed, as :mod:`pipeline.cli.parser` does for the others."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.validation import Range

WithDb = Callable[..., argparse.ArgumentParser]


@dataclass
class QueryPhoto:
    """One ``--query`` of ``case new`` and the ``--person`` or ``--box`` given after it."""

    path: Path
    person: int | None = None
    box: list[float] | None = None


class PhotoOption(argparse.Action):
    """``--query`` starts a photo; ``--person`` and ``--box`` choose the person in the photo before
    them (at most one of the two each), so photos of one case may be chosen each its own way."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any, flag: Any = None
    ) -> None:
        photos = list(getattr(namespace, self.dest) or [])
        if flag == "--query":
            photos.append(QueryPhoto(value))
        elif not photos:
            parser.error(f"{flag} chooses the person in a --query photo: give it after that --query")
        elif photos[-1].person is not None or photos[-1].box is not None:
            parser.error(
                f"{flag}: the person in {photos[-1].path} is chosen already (one --person or --box a photo)"
            )
        elif flag == "--person":
            photos[-1] = QueryPhoto(photos[-1].path, person=value)
        else:
            photos[-1] = QueryPhoto(photos[-1].path, box=list(value))
        setattr(namespace, self.dest, photos)


def add_case_commands(sub: argparse._SubParsersAction, with_db: WithDb) -> None:
    """``case`` and its sub-commands, on the command line's sub-parsers ``sub``."""
    from pipeline.cli.option_types import COORDINATE, number, out_path
    from pipeline.cli.parser import Parser

    case = sub.add_parser("case", help="work a case: query photos, confirm or reject hits, refine")
    cases = case.add_subparsers(dest="case_command", parser_class=Parser, required=True)
    p = with_db(cases.add_parser("new", help="open a case with its query photos"))
    p.add_argument("name", help="the case's name")
    p.add_argument("--query", type=Path, action=PhotoOption, dest="photos", default=[], metavar="PHOTO",
                   help="a photo of the person (repeat for several)")  # fmt: skip
    p.add_argument("--person", type=number("--person", Range(0, 10_000, integer=True)), action=PhotoOption,
                   dest="photos", help="which person in the --query photo before it, counted from 0 by the "
                   "size of their box (0 = the largest; without it, the largest, or the whole photo where "
                   "it is a crop of one person)")  # fmt: skip
    p.add_argument("--box", type=number("--box", COORDINATE), nargs=4, action=PhotoOption, dest="photos",
                   metavar=("X1", "Y1", "X2", "Y2"),
                   help="the person's box in the --query photo before it")  # fmt: skip
    p.add_argument("--note", default=None, help="what the case is about (kept with it, in the report)")
    p = with_db(cases.add_parser("add", help="confirm or reject a track (a hit) in a case"), detector=False)
    p.add_argument("name", help="the case's name")
    p.add_argument("--video", required=True, help="the video (its path or id)")
    p.add_argument("--track", type=number("--track", Range(0, 2**62, integer=True)), required=True,
                   help="the track number in the video (search shows it)")  # fmt: skip
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--confirm", action="store_true", help="this is the person")
    verdict.add_argument("--reject", action="store_true", help="this is not the person")
    p = with_db(cases.add_parser("refine", help="search with the case's photos and review"))
    p.add_argument("name", help="the case's name")
    p.add_argument("--top", type=number("--top", Range(1, 1_000_000, integer=True)), default=None,
                   help="at most this many hits")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the hits as JSON")
    p = with_db(cases.add_parser("report", help="write the case's PDF report and clips into a new folder"))
    p.add_argument("name", help="the case's name")
    p.add_argument("--out", type=out_path, required=True, help="folder to write the report folder in")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p = with_db(cases.add_parser("show", help="a case's photos and review"), detector=False)
    p.add_argument("name", help="the case's name")
    p.add_argument("--json", action="store_true", help="print the case as JSON")

    p = with_db(cases.add_parser("export", help="write the case to one file (photos, filter, review)"), False)
    p.add_argument("name", help="the case's name")
    p.add_argument(
        "--out", type=out_path, required=True, help="the case file (.spotter-case); never overwritten"
    )
    p = with_db(cases.add_parser("import", help="take up a case file in this library"), False)
    p.add_argument("file", type=Path, help="a .spotter-case file")
    p.add_argument("--as", dest="as_name", default=None, help="the case's name here (default: its own)")
