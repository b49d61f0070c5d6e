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
