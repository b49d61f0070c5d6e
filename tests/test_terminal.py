"""The command line as a person at a keyboard runs it: on a pseudo-terminal, so progress bars are drawn.

Output piped to a test is not a terminal, so the progress bar code never ran in the other CLI tests;
a missing dependency of it crashed the first command a new user typed. These tests give the CLI a
real pseudo-terminal (``pty``) as stdin, stdout and stderr, exactly as an interactive shell does.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from pipeline.storage import Library
from tests.conftest import ROOT, asset, tud


def run_on_tty(*args: str, timeout: float = 300) -> tuple[int, str]:
    """Run ``main.py ARGS`` with a pseudo-terminal as its terminal; (exit code, everything it wrote)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=os.environ,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal (EIO on Linux)
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        proc.kill()
        os.close(master)
    return rc, b"".join(chunks).decode("utf-8", "replace")


def test_index_on_a_terminal_draws_progress_and_finishes(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    rc, out = run_on_tty("index", str(tud().video), "--db", str(db))
    assert rc == 0, out
    assert "Traceback" not in out and "Error" not in out, out
    assert "done:" in out and "tracks" in out
    (video,) = Library(db).videos()
    assert video.status == "done" and video.tracks > 0


@pytest.fixture(scope="module")
def small_reid_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reid_tty")
    with tarfile.open(asset("reid_eval_mot15.tar")) as t:
        t.extractall(root, filter="data")
    return root / "reid_eval_mot15"


def test_eval_reid_on_a_terminal(small_reid_set: Path) -> None:
    rc, out = run_on_tty("eval-reid", str(small_reid_set))
    assert rc == 0, out
    assert "Traceback" not in out, out
    assert "Rank-1" in out or "rank1" in out.lower(), out
