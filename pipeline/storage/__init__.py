"""Persistence: SQLAlchemy models on SQLite (WAL) and the library operations built on them.

``Library`` and the record types are imported on first use (PEP 562): where a library lives
(:mod:`pipeline.storage.location`) is needed by a command-line search that a running search service
answers, and that process must not pay for importing SQLAlchemy and NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.storage.location import default_db_path

if TYPE_CHECKING:
    from pipeline.storage.library import Library
    from pipeline.storage.records import StartDecision, TrackInfo

__all__ = ["Library", "StartDecision", "TrackInfo", "default_db_path"]


def __getattr__(name: str) -> Any:
    if name == "Library":
        from pipeline.storage.library import Library

        return Library
    if name in ("StartDecision", "TrackInfo"):
        from pipeline.storage import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
