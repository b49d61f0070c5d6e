"""Benchmarks' scratch folders (up to 10 GB each) are removed when the benchmark ends, also when it is
stopped with SIGTERM (a full disk from leftovers once failed CI)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import sys, time
from bench.scratch import scratch_dir
path = scratch_dir("spotter-scratch-test-")
(path / "library.db").write_bytes(b"x" * 1000)
print(path, flush=True)
sys.stdin.readline()  # the test has seen the folder
{end}
"""


@pytest.mark.parametrize("end", ["time.sleep(60)", "raise RuntimeError('bench failed')", "pass"])
def test_a_benchmark_leaves_no_scratch_folder(end: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(end=end)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    path = Path(proc.stdout.readline().strip())
    assert path.is_dir() and (path / "library.db").exists()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    if end.startswith("time.sleep"):
        time.sleep(0.5)  # inside the sleep
        proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert not path.exists()


CHILDREN = """
import sys
from bench.children import run_child
# the benchmark's child (main.py index in the benchmarks) starts a child of its own, as a Ray job does
run_child([sys.executable, "-c", {inner!r}])
"""
INNER = """
import os, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open({pids!r}, "w") as f:
    f.write(f"{{os.getpid()}} {{grandchild.pid}}")
time.sleep(60)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its parent to reap it is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_a_benchmark_stopped_by_sigterm_leaves_no_child_running(tmp_path: Path) -> None:
    """`timeout` stopping `bench.index_speed` once left the `main.py index` it timed running on (on a
    lent GPU machine it spoiled the next figure): the child and what it started die with the bench."""
    pids = tmp_path / "pids"
    script = CHILDREN.format(inner=INNER.format(pids=str(pids)))
    bench = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (pids.exists() and len(pids.read_text().split()) == 2):
        assert time.monotonic() < deadline and bench.poll() is None, "the child did not start"
        time.sleep(0.1)
    child, grandchild = map(int, pids.read_text().split())
    assert _running(child) and _running(grandchild)
    bench.send_signal(signal.SIGTERM)
    bench.wait(timeout=30)
    deadline = time.monotonic() + 10
    while (_running(child) or _running(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(child) and not _running(grandchild)
