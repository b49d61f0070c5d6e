"""Errors of the engine; all are :class:`SpotterError`, so callers catch one type for operator messages."""

from __future__ import annotations

from models.errors import ModelError, SpotterError, WeightsError


class VideoError(SpotterError):
    """A file is not a decodable video (not a video, empty, truncated before any frame, ...)."""


class QueryError(SpotterError):
    """A query photo is unusable: unreadable, not an image, or no person in it."""


class SearchError(SpotterError):
    """A search cannot be run as asked (a filter naming an unknown camera, a window that ends before
    it starts)."""


class StorageError(SpotterError):
    """The database cannot be opened or written (disk full, read-only folder, ...)."""


class ExportError(SpotterError):
    """A clip or thumbnail cannot be written (path exists, folder unwritable, disk full, ...)."""


__all__ = [
    "ExportError",
    "ModelError",
    "QueryError",
    "SearchError",
    "SpotterError",
    "StorageError",
    "VideoError",
    "WeightsError",
]
