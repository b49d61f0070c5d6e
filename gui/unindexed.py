"""Videos queued for indexing when the window closed, kept for the next start.

Closing the window cancels indexing: the video being indexed is kept as far as it went (the library
shows it resumable), but the videos still waiting in the queue have no row in the library at all. A
dropped folder of 50 recordings became one. Their paths are kept in the settings, per library, and
shown again at the next start as "not indexed" rows with a Resume button, until they are indexed or
the files are gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from pipeline.types import VideoSummary


def _key(where: str) -> str:
    """One settings key per library (its location may hold any characters)."""
    return "unindexed/" + hashlib.sha256(where.encode()).hexdigest()[:16]


def remember_unindexed(settings: QSettings, where: str, paths: Iterable[str]) -> None:
    """Keep these paths (queued, never indexed) for the next start; none clears the entry."""
    kept = list(dict.fromkeys(paths))
    if kept:
        settings.setValue(_key(where), kept)
    else:
        settings.remove(_key(where))
    settings.sync()


def recall_unindexed(settings: QSettings, where: str, indexed: Iterable[str]) -> list[str]:
    """The paths kept by :func:`remember_unindexed` that are still not in the library and still
    there."""
    value = settings.value(_key(where), [])
    paths = [value] if isinstance(value, str) else list(value or [])
    known = set(indexed)
    return [p for p in paths if isinstance(p, str) and p not in known and Path(p).exists()]


def show_unindexed(window: Any, videos: Sequence[VideoSummary]) -> None:
    """At the window's start: the videos queued when it last closed, as rows to index, and a note."""
    indexed = (p for v in videos for p in (v.path, *v.aliases))
    left = recall_unindexed(window.settings, window.library.where, indexed)
    if left:
        window.library_panel.mark_unindexed(left)
        window.messages.info(
            f"{len(left)} video(s) queued when Spotter closed are not indexed: Index them in the library"
        )


def keep_unindexed(window: Any) -> None:
    """At the window's close: the videos still queued, and the rows :func:`show_unindexed` showed that
    were not indexed since, for the next start."""
    waiting = [*window.library_panel.unindexed(), *window.indexing.waiting()]
    remember_unindexed(window.settings, window.library.where, waiting)
