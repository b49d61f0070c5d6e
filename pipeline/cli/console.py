"""What the command line shows, in one place: a command's result on standard output (what a script
reads: ``videos --json``, ``search --json``), notes, progress and errors on standard error.

The commands write through :func:`out` and :func:`err`, not straight to the streams, so which stream
carries what is decided here. The streams are looked up at each call, so a test (or a caller that
redirects ``sys.stdout``) reads what was written as before. Standard error is line-buffered, so a
note is seen as soon as it is written, even when the output is piped.
"""

from __future__ import annotations

import sys


def out(text: object = "") -> None:
    """One line of the command's result, on standard output."""
    sys.stdout.write(f"{text}\n")


def err(text: object) -> None:
    """One line of note, progress or error, on standard error."""
    sys.stderr.write(f"{text}\n")
