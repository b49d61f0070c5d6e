"""Plain values of the storage layer."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.types import Box


@dataclass(frozen=True)
class StartDecision:
    """What the indexer should do with a video: skip it, resume from a checkpoint, or start afresh."""

    video_id: int
    action: str  # "skip" | "resume" | "fresh"
    frames_done: int = 0
    checkpoint: dict[str, Any] | None = None
    reason: str = ""


@dataclass(frozen=True)
class TrackInfo:
    """A stored track as search and export need it."""

    pk: int
    video_id: int
    video_path: str
    fps: float
    track_id: int
    first_frame: int
    last_frame: int
    start_s: float
    end_s: float
    path: np.ndarray  # (N, 7)
    person: int  # linked chain of tracks this one belongs to (its own track id when unlinked)
    video_frames: int = 0  # frames of the footage when it was indexed (0: unknown): evidence is cut
    # from these only; images a camera added to its folder since, or a recording's bytes written
    # since, were never checked against what was indexed


def f32_bytes(v: np.ndarray) -> bytes:
    """A vector as the float32 bytes stored in the database."""
    return np.ascontiguousarray(v, dtype=np.float32).tobytes()


def box_json(box: Sequence[float] | None) -> str | None:
    """A box as stored (JSON ``[x1, y1, x2, y2]``, None for none)."""
    return None if box is None else json.dumps([round(float(v), 2) for v in box])


def box_from_json(text: str | None) -> Box | None:
    """The box :func:`box_json` stored; None for none, or for anything that is not four finite numbers
    with x1 < x2 and y1 < y2 (a value edited by hand is not drawn)."""
    try:
        values = tuple(float(v) for v in json.loads(text)) if text else ()
    except (TypeError, ValueError):
        return None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return None
    x1, y1, x2, y2 = values
    return (x1, y1, x2, y2) if x1 < x2 and y1 < y2 else None


def storage_message(
    action: str,
    e: BaseException,
    otherwise: str = "the transaction was rolled back: what was committed before is kept",
) -> str:
    """One line for a storage failure: what was being done, the database's words, and what to do
    (``otherwise`` where the failure is none of the known kinds)."""
    text = str(getattr(e, "orig", None) or e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    low = text.lower()
    if "full" in low or "no space" in low:
        hint = "the disk is full; free some space and try again; nothing already indexed was lost"
    elif "disk i/o error" in low:  # SQLite's word for a write or read that failed (its temporary files too)
        hint = (
            "the disk could not be written or read: is it full, or a removable or network drive gone? "
            "Nothing already indexed was lost"
        )
    elif "readonly" in low or "read-only" in low or "permission" in low or "unable to open" in low:
        hint = "the database or its folder is not writable; choose a writable --db location"
    elif "malformed" in low or "not a database" in low or "corrupt" in low:
        hint = "the library file is damaged; restore it from a backup or start a new library"
    elif any(w in low for w in ("resolve host", "translate host name", "name or service", "name resolution")):
        hint = "the server's name does not resolve: is the host in the URL right?"
    elif "connection" in low and any(w in low for w in ("refused", "failed", "timeout", "timed out")):
        hint = "cannot reach the database server: is it running, and is the URL right?"
    elif "does not exist" in low and "database" in low:
        hint = "create the database on the server first (createdb NAME), then open it"
    elif "password" in low or "authentication" in low:
        hint = "the server refused the user: check the user and password in the URL"
    elif "locked" in low or "busy" in low:
        hint = "another program holds the library; try again when it is done"
    else:
        hint = otherwise
    return f"{action}: {text} ({hint})"


JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner: part of how words are written


def clean_name(text: str, limit: int, what: str) -> str:
    """An operator's name for something (a camera, a case) as kept (:func:`normal_name`), 1 to
    ``limit`` characters."""
    from pipeline.errors import StorageError
    from pipeline.file_names import normal_name

    name = normal_name(text)
    if not name or len(name) > limit:
        shown = name if len(name) <= limit else f"{name[:40]}... ({len(name)} characters)"
        raise StorageError(f"a {what} name must have 1 to {limit} characters, not {shown!r}")
    # ESC would drive the terminal, a bidi override reorder what is shown; the zero-width joiners
    # are letters' business (Persian names, emoji sequences such as a woman police officer)
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in JOINERS for c in name):
        raise StorageError(f"a {what} name cannot hold control characters: {name!r}")
    return text_only(name, f"{what} name")


def text_only(text: str, what: str) -> str:
    """``text`` as given; StorageError (one line) where it holds bytes of another encoding (surrogate
    escapes from a command line, a lone surrogate from JSON), which no database stores as text."""
    from pipeline.errors import StorageError
    from pipeline.file_names import is_text

    if not is_text(text):
        raise StorageError(f"a {what} must be text (UTF-8): {text!r} holds bytes of another encoding")
    return text
