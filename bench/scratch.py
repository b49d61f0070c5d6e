"""Scratch folders for benchmarks, removed when the benchmark's process ends.

A benchmark builds libraries of up to 10 GB (1e6 synthetic tracks); left behind in the system's
temporary folder, a few runs fill a disk that CI and the tests share. ``tempfile.TemporaryDirectory``
would need each benchmark's whole body indented under a ``with``; an ``atexit`` hook gives the same
cleanup on a normal exit, an exception or Ctrl-C, and on SIGTERM (``kill``, a CI job's timeout),
which is turned into a normal exit. Only SIGKILL leaves a folder behind, named by its prefix, in the
temporary folder.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import tempfile
import threading
from pathlib import Path


def scratch_dir(prefix: str) -> Path:
    """A new empty folder under the system's temporary folder, deleted with everything in it at exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    exit_on_sigterm()
    return path


def exit_on_sigterm() -> None:
    """SIGTERM ends the process as an exception would, so that ``atexit`` hooks run (Python's default
    is to die at once); a handler the benchmark set itself is left alone."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
        signal.SIG_DFL,
        None,
    ):
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
