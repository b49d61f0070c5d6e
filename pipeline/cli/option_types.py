"""The types of the command line's options (argparse ``type`` and ``action``): each parses and
checks one value, and says in one line what is wrong with it."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.validation import ConfigError, Range, parse


class OneVideo(argparse.Action):
    """``search --video``: one only, given twice it is refused (argparse keeps the last one, so
    ``--video 1 --video 4`` searched video 4 alone and said nothing of video 1)."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, _: Any = None
    ):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(
                f"{'/'.join(self.option_strings)} is given twice: one only (search one video, or every "
                "video of some cameras with --camera, which repeats)"
            )
        setattr(namespace, self.dest, values)


def number(option: str, rule: Range | str) -> Callable[[str], Any]:
    """An argparse ``type`` that parses and checks one number. ``rule`` may name a config's rule as
    ``"module:RULES.field"``: it is looked up only when the option is given, so that ``--help`` and
    the commands that do not take it never import the module (the engine's imports take seconds)."""

    def convert(text: str) -> Any:
        checked = rule
        if isinstance(checked, str):
            module, _, name = checked.partition(":")
            table, _, key = name.partition(".")
            checked = getattr(importlib.import_module(module), table)[key]
        try:
            return parse(option, text, checked)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"{option} ")) from None

    convert.__name__ = option
    return convert


COORDINATE = Range(-1e6, 1e6)


def region(text: str) -> tuple[float, float, float, float]:
    """An argparse ``type`` for ``X1,Y1,X2,Y2`` (video pixels, X1 < X2, Y1 < Y2)."""
    parts = text.replace(" ", "").split(",")
    try:
        x1, y1, x2, y2 = (float(v) for v in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be X1,Y1,X2,Y2 in video pixels (got {text!r})") from None
    from pipeline.errors import SearchError
    from pipeline.search_filter import SearchFilter

    try:
        return SearchFilter(region=(x1, y1, x2, y2)).region  # type: ignore[return-value]
    except SearchError as e:  # the one rule for regions, the engine's
        raise argparse.ArgumentTypeError(str(e)) from None


def colour(text: str) -> str:
    """An argparse ``type`` for a clothing colour of the palette (``pipeline.clothing``)."""
    from pipeline.clothing import PALETTE, colour_index

    try:
        return PALETTE[colour_index(text)]
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _date_alone(text: str) -> bool:
    """Whether a time given is a date alone, in any ISO 8601 form (2026-11-21, 20261121, 2026-W47-6),
    not a date and time (20261121_143000 is one: its separator is any character)."""
    from datetime import date

    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def clock_time(option: str, end_of_day: bool = False) -> Callable[[str], Any]:
    """An argparse ``type`` for a wall-clock date and time (ISO 8601; see :mod:`pipeline.cameras`).
    ``end_of_day``: a date alone is its last moment, not its midnight (``--to 2026-11-21`` left out
    the whole of the 21st, and ``--from D --to D`` was an empty window said nowhere)."""

    def convert(text: str) -> Any:
        from datetime import timedelta

        from pipeline.cameras import parse_clock

        try:
            when = parse_clock(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if end_of_day and _date_alone(text):
            when += timedelta(days=1, microseconds=-1)
        return when

    convert.__name__ = option
    return convert


def out_path(text: str) -> Path:
    """An argparse ``type`` for ``--out``: a path, never the empty text (Path("") is the current
    folder, which nobody chose: an unset shell variable)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty: give a path")
    return Path(text)
