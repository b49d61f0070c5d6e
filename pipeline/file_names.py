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
import unicodedata
from pathlib import Path

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # C0 (but tab), DEL and C1 controls


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


def resolved(path: str | os.PathLike[str], error: type[Exception]) -> Path:
    """``path`` made absolute with its links followed; ``error`` (one line) where that cannot be done:
    a symbolic link that leads back to itself (RuntimeError before Python 3.13, OSError after)."""
    path = Path(path).expanduser()
    try:
        return path.resolve()
    except (OSError, RuntimeError) as e:
        raise error(f"{shown(path)}: {unresolvable(e)}") from e


def unresolvable(e: OSError | RuntimeError) -> str:
    """Why a path could not be resolved (``e``, from ``Path.resolve``), in words, without the path."""
    why = e.strerror if isinstance(e, OSError) and e.strerror else e
    return f"cannot resolve the path ({why})"


def one_line(text: object) -> str:
    """``text`` with its control characters escaped as Python writes them in a string: one line. A
    name may hold any of them: printed as they are, a newline wrote a second line that looked like
    Spotter's own, and an escape sequence reached the terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def normal_name(text: str) -> str:
    """An operator's name for something (a camera, a case) as Spotter keeps and compares it: composed
    (NFC: 'café' typed as e + U+0301, as macOS writes file names, is the 'café' typed as one
    letter; two cases or cameras whose names look alike were two, and one was not found by the
    other's name) and each run of white space one space."""
    return unicodedata.normalize("NFC", " ".join(str(text).split()))


def slug(text: str, limit: int, default: str) -> str:
    """``text`` as part of a file name Spotter writes (a clip, a report's folder): letters of any
    script with their combining marks (Thai, Devanagari, an accent macOS keeps apart), digits, ``.``,
    ``-`` and ``_`` kept, every other run of characters one ``_``; no leading or trailing ``.``,
    ``-`` or ``_`` (a hidden file, an option to a shell command, a name Windows trims); at most
    ``limit`` bytes of UTF-8 (a file name holds 255, and a Chinese letter takes 3-4); ``default``
    when nothing is left. A camera named in Cyrillic or Chinese keeps its name in its clips' names."""
    out: list[str] = []
    for c in unicodedata.normalize("NFC", text):
        kind = unicodedata.category(c)[0]
        # a mark is kept on the letter it modifies: one left on a replaced symbol (an emoji's
        # presentation selector U+FE0F) would be an invisible character at the start of the name
        if kind in "LN" or c in "._-" or (kind == "M" and out and unicodedata.category(out[-1])[0] in "LMN"):
            out.append(c)
        elif not out or out[-1] != "_":
            out.append("_")
    name = "".join(out).strip("._-").encode("utf-8")[:limit].decode("utf-8", "ignore")
    return name.strip("._-") or default
