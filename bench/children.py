"""Child processes of benchmarks end when the benchmark ends.

Benchmarks time ``main.py index`` (and the peer, and the decoder) in fresh processes. A benchmark
stopped by a timeout, Ctrl-C or an error used to die alone: its child ran on, holding the CPU (and a
GPU: on a lent GPU machine the orphaned index of a timed-out run spoiled the next figure) until it
finished on its own. Children here start in their own process group and the whole group is killed
when the benchmark leaves the block that started it for any reason other than the child's end; SIGTERM
to the benchmark is turned into an exit so that this happens then too (``bench.scratch``). Only
SIGKILL to the benchmark itself leaves the group running.

:func:`watch_index` is the one way the benchmarks run ``main.py index`` while watching its memory
(and, for the resume test, kill it part way as a crash would).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil

from bench.scratch import exit_on_sigterm
from bench.sequences import ROOT


@contextmanager
def child(cmd: Sequence[str], cwd: Path | None = None, **popen: Any) -> Iterator[subprocess.Popen]:
    """``subprocess.Popen(cmd, ...)`` in a process group of its own, killed with everything it started
    when the block ends while it still runs (an exception, Ctrl-C, SIGTERM, or a block that does not
    wait for it)."""
    exit_on_sigterm()
    proc = subprocess.Popen(list(cmd), cwd=cwd, start_new_session=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with suppress(ProcessLookupError):  # it ended between the poll and the kill
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_child(cmd: Sequence[str], cwd: Path | None = None, **popen: Any) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True)`` whose process group dies with the
    benchmark (see :func:`child`)."""
    with child(cmd, cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen) as proc:
        out, err = proc.communicate()
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def watch_index(video: Path, db: Path, every_s: float, on_sample: Callable[[float, float], bool]) -> bool:
    """Run ``main.py index VIDEO --db DB --quiet`` in a fresh process (see :func:`child`) and call
    ``on_sample(seconds since the start, resident memory in MiB)`` every ``every_s`` while it runs.
    When ``on_sample`` returns False the run is killed with SIGKILL, as a crash or power cut would end
    it. Returns True when it ran to its end, False when it was killed; a failed run raises
    RuntimeError with the end of its error output."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "main.py", "index", str(video), "--db", str(db), "--quiet"]
    # error output goes to a file, not a pipe: a child writing more than a pipe holds (64 KiB of
    # warnings) while nobody reads would stall until it is killed
    with tempfile.TemporaryFile() as errors:
        with child(cmd, ROOT, stdout=subprocess.DEVNULL, stderr=errors) as proc:
            ps = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    rss = ps.memory_info().rss / 2**20
                except psutil.Error:  # it ended between the poll and the reading
                    break
                if not on_sample(time.perf_counter() - t0, rss):
                    return False  # leaving the block kills its process group
                time.sleep(every_s)
            proc.wait()
        if proc.returncode != 0:
            errors.seek(max(errors.tell() - 8000, 0))
            raise RuntimeError(errors.read().decode(errors="replace")[-2000:])
    return True
