"""What the command line shows, in one place: a command's result on standard output (what a script
reads: ``videos --json``, ``search --json``), notes, progress and errors on standard error.

The commands write through :func:`out` and :func:`err`, not straight to the streams, so which stream
carries what is decided here. The streams are looked up at each call, so a test (or a caller that
redirects ``sys.stdout``) reads what was written as before. Standard error is line-buffered, so a
note is seen as soon as it is written, even when the output is piped.

A line that names a file shows control characters in the name escaped (``\\n``, ``\\x1b``): a name
may hold any of them, and printed as they are, a newline in a file's name wrote a second line that
looked like Spotter's own ("done: cam2.mp4: 14 tracks"), and an escape sequence reached the terminal.
"""

from __future__ import annotations

import sys

from pipeline.file_names import one_line

__all__ = ["err", "one_line", "out"]


def out(text: object = "") -> None:
    """One line of the command's result, on standard output."""
    sys.stdout.write(f"{text}\n")


def err(text: object) -> None:
    """One line of note, progress or error, on standard error (control characters escaped; newlines
    that lead it, which end a progress bar's line, are kept)."""
    line = str(text)
    body = line.lstrip("\n")
    sys.stderr.write(f"{line[: len(line) - len(body)]}{one_line(body)}\n")
