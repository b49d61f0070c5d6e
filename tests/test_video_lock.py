"""Who is indexing a video now: a run left unfinished is 'indexing' while an indexer (another
process, another operator's machine) holds the video, and 'interrupted' once it is gone; asking never
releases a lock this process holds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pipeline.storage import Library
from tests.conftest import ROOT
from tests.test_cli import cli
from tests.test_storage import video_info

HOLDER = """
import sys, time
from pathlib import Path
from pipeline.storage import Library
library = Library(sys.argv[1])
with library.video_lock(Path(sys.argv[2])) as lock:
    print(lock.acquired, flush=True)
    time.sleep(600)
"""


def hold(db: str, video: Path) -> tuple[subprocess.Popen, bool]:
    """Another process holding ``video``'s indexing lock on the library ``db`` (as its indexer does),
    and whether it got it."""
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db, str(video)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    return p, p.stdout.readline().strip() == "True"


def state(library: Library) -> str:
    (video,) = library.videos()
    return video.state


def test_a_run_elsewhere_is_indexing_and_one_that_died_is_interrupted(library_db: str) -> None:
    library = Library(library_db)
    info = video_info()
    library.start_video(info, "det", "reid", {})  # a run began: "indexing" in the library
    holder, got = hold(library_db, info.path)
    try:
        assert got
        assert state(library) == "indexing"
        listed = cli("videos", "--json", "--db", library_db)
        assert json.loads(listed.stdout)["videos"][0]["status"] == "indexing", listed.stderr
    finally:
        holder.kill()  # kill -9: the system (or the server) releases its lock
        holder.wait()
    deadline = time.monotonic() + 30
    while state(library) != "interrupted" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state(library) == "interrupted"
    assert "interrupted" in cli("videos", "--db", library_db).stdout


def test_asking_does_not_release_the_lock_of_this_processs_own_indexer(tmp_path: Path) -> None:
    """POSIX drops all of a process's locks on a file when it closes any descriptor of it: a probe on
    a descriptor of its own would free the lock of the app's indexer for another process to take."""
    library = Library(tmp_path / "lib.db")
    info = video_info()
    library.start_video(info, "det", "reid", {})
    with library.video_lock(info.path) as lock:
        assert lock.acquired
        assert state(library) == "indexing"
        with library.video_lock(info.path) as second:  # another thread of the app
            assert not second.acquired
        holder, got = hold(str(tmp_path / "lib.db"), info.path)
        holder.kill()
        holder.wait()
        assert not got
    assert state(library) == "interrupted"
    holder, got = hold(str(tmp_path / "lib.db"), info.path)
    holder.kill()
    holder.wait()
    assert got
