"""Exceptions shared by every Spotter layer.

Each message is one line an operator can act on: what failed, which file, what to do.
"""

from __future__ import annotations

import re

_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


def first_line(e: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (its type name when it has none), for one-line errors:
    at most ``limit`` characters (when given), without the ``[Errno N]`` that OSError and FFmpeg's
    errors put first (a number that means nothing to an operator; FFmpeg's are four-letter codes)."""
    text = str(e).strip().splitlines()
    line = _ERRNO.sub("", text[0]) if text else type(e).__name__
    return line if limit is None or len(line) <= limit else line[: limit - 1] + "…"


class SpotterError(Exception):
    """Base class of every error Spotter reports to an operator (CLI message, GUI dialog)."""


class WeightsError(SpotterError):
    """A model weight file is missing, unreadable or not the file the manifest expects."""


class ModelError(SpotterError):
    """A model could not be loaded or returned output that fails its contract."""
