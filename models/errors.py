"""Exceptions shared by every Spotter layer.

Each message is one line an operator can act on: what failed, which file, what to do.
"""

from __future__ import annotations


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none), for one-line errors."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


class SpotterError(Exception):
    """Base class of every error Spotter reports to an operator (CLI message, GUI dialog)."""


class WeightsError(SpotterError):
    """A model weight file is missing, unreadable or not the file the manifest expects."""


class ModelError(SpotterError):
    """A model could not be loaded or returned output that fails its contract."""
