"""File names that are not text, and names made for files Spotter writes.

A name written by another system (Latin-1 bytes from a Windows share or an old NVR's export, ``é`` as
the single byte ``0xE9``) reaches Python as a string with surrogate escapes (PEP 383). Such a string
opens the file, but it cannot be stored in the library (SQLite and PostgreSQL keep UTF-8 text), hashed
as UTF-8, or printed to a UTF-8 terminal. A video or folder with such a path is refused by name (the
operator renames it); a name that only appears in a message is shown with the undecodable bytes
replaced.
"""

from __future__ import annotations

import os
import re


def is_text(name: str) -> bool:
    """Whether ``name`` is valid Unicode text (no surrogate escapes of undecodable bytes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str | os.PathLike[str]) -> str:
    """``name`` as text that can be stored and printed: each undecodable byte becomes U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def slug(text: str, limit: int, default: str) -> str:
    """``text`` as part of a file name Spotter writes (a clip, a report's folder): letters of any
    script, digits, ``.``, ``-`` and ``_`` kept, every other run of characters one ``_``, at most
    ``limit`` characters; ``default`` when nothing is left. A camera named in Cyrillic or Chinese
    keeps its name in its clips' names."""
    return re.sub(r"[^\w.-]+", "_", text).strip("_")[:limit] or default
