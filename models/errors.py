"""Exceptions shared by every Spotter layer.

Each message is one line an operator can act on: what failed, which file, what to do.
"""

from __future__ import annotations


class SpotterError(Exception):
    """Base class of every error Spotter reports to an operator (CLI message, GUI dialog)."""


class WeightsError(SpotterError):
    """A model weight file is missing, unreadable or not the file the manifest expects."""


class ModelError(SpotterError):
    """A model could not be loaded or returned output that fails its contract."""
