"""Scratch folders for benchmarks, removed when the benchmark's process ends.

A benchmark builds libraries of up to 10 GB (1e6 synthetic tracks); left behind in the system's
temporary folder, a few runs fill a disk that CI and the tests share. ``tempfile.TemporaryDirectory``
would need each benchmark's whole body indented under a ``with``; an ``atexit`` hook gives the same
cleanup on a normal exit, an exception or Ctrl-C (not on SIGTERM or SIGKILL: a benchmark killed
that way leaves its folder, named by its prefix, in the temporary folder).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_dir(prefix: str) -> Path:
    """A new empty folder under the system's temporary folder, deleted with everything in it at exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
