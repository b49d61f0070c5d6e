"""Bad library files and places, given as ``--db``: another application's database, a folder this
user cannot write, a path under a file, a mistyped name, a library another process is creating.
Each is one clear line (exit 2 at the command line), and the file stays exactly as it was."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.errors import StorageError
from pipeline.storage import Library
from tests.conftest import ROOT, tud
from tests.test_bad_input import digest, one_line_error
from tests.test_cli import cli


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as c:
        c.execute("create table customers (id integer primary key, name text)")
        c.execute("insert into customers (name) values ('Ada')")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:  # even one with a table named like ours
        c.execute("create table videos (id integer primary key, title text)")
    settings = tmp_path / "settings.db"
    with sqlite3.connect(settings) as c:  # and one whose "meta" table is not ours: it was "no such column"
        c.execute("create table videos (id integer primary key, title text)")
        c.execute("create table meta (k text, v text)")
    notes = tmp_path / "notes.db"
    notes.write_text("my notes, not a database\n")
    for path in (shop, other, settings, notes):
        before = digest(path)
        with pytest.raises(StorageError, match="not a Spotter library"):
            Library(path)
        p = cli("videos", "--db", str(path))
        one_line_error(p, "not a Spotter library")
        assert digest(path) == before, f"{path.name} was changed"
        assert not Path(str(path) + "-wal").exists()


def as_another_user(home: Path, *args: str) -> subprocess.CompletedProcess:
    """``main.py ARGS`` as an unprivileged user when the tests run as root (root reads and writes
    anything, so permissions would not be tried), with ``home`` as its home folder."""
    as_other: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run as another user"
        as_other = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = os.environ | {"HOME": str(home)}
    return subprocess.run(
        [*as_other, sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_a_library_with_two_names_is_refused_before_either_writes(tmp_path: Path) -> None:
    """A sweep hard-linked a library and used both names at once (`serve` on one, commands on the
    other): SQLite keeps a journal per name, so one name did not see the other's writes, a case made
    through it vanished, and opening it afterwards damaged the library under both names."""
    lib = tmp_path / "lib.db"
    Library(lib).close()
    link = tmp_path / "same library.db"
    os.link(lib, link)
    before = digest(lib)
    for name in (lib, link):
        with pytest.raises(StorageError, match=r"has 2 names \(hard links\).*nothing was written"):
            Library(name)
        p = cli("videos", "--db", str(name))
        one_line_error(p, "has 2 names (hard links)")
    assert digest(lib) == before
    link.unlink()  # one name again: it opens
    Library(lib).close()


def test_a_library_this_user_cannot_write_says_so(tmp_path: Path) -> None:
    """A library in a folder the operator may read but not write (another user's, a read-only share):
    one line that says it is not writable, not that it "cannot be read"; the file stays as it was."""
    folder = Path(tempfile.mkdtemp(prefix="spotter-ro-"))  # outside pytest's private (0700) folders
    try:
        db = folder / "lib.db"
        Library(db).close()
        before = digest(db)
        folder.chmod(0o555)
        p = as_another_user(folder, "videos", "--db", str(db))
        one_line_error(p, str(db), "not writable")
        assert digest(db) == before
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_library_path_under_a_file_says_which_is_the_file(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not a folder")
    p = cli("index", str(tud().video), "--db", str(video / "lib.db"))
    one_line_error(p, f"{video} is a file, not a folder")


def test_a_mistyped_library_is_not_answered_from_an_empty_one(tmp_path: Path) -> None:
    """`search --db typo.db` answered "the person was not found" from a new, empty library it made; the
    commands that only read refuse a library file that is not there, and create nothing."""
    typo = tmp_path / "libary.db"
    photo = tmp_path / "q.jpg"
    cv2.imwrite(str(photo), np.full((160, 64, 3), 100, np.uint8))
    for args in (
        ["search", "--query", str(photo), "--no-service"],
        ["videos"],
        ["export", "--hit", "1", "--out", str(tmp_path / "c.mp4")],
        ["case", "show", "x"],
        ["serve"],
    ):
        one_line_error(cli(*args, "--db", str(typo)), f"no library at {typo}", "main.py index")
    assert not typo.exists() and not any(tmp_path.glob("libary.db*"))


def test_an_empty_file_is_not_read_as_an_empty_library(tmp_path: Path) -> None:
    """`videos --db` on a 0-byte file (a copy cut short) said 'no videos' and made it a library; the
    commands that only read refuse it, untouched. Indexing into it makes it one (below)."""
    empty = tmp_path / "copy.db"
    empty.touch()
    for args in (["videos"], ["case", "show", "x"]):
        one_line_error(cli(*args, "--db", str(empty)), f"{empty} is an empty file, not a library", "nothing")
    assert empty.stat().st_size == 0


def test_an_empty_file_becomes_a_library(tmp_path: Path) -> None:
    empty = tmp_path / "new.db"
    empty.touch()
    Library(empty).close()
    assert Library(empty).videos() == []


def test_a_library_being_created_by_another_process_is_waited_for(tmp_path: Path) -> None:
    """SQLite commits each CREATE TABLE on its own: a process opening a library that another is
    creating must wait for it (the opening lock), not take the half-made file for a foreign one."""
    db = tmp_path / "lib.db"
    script = textwrap.dedent(f"""
        import sqlite3, sys, time
        from pathlib import Path
        from pipeline.storage.video_lock import OpeningLock
        with OpeningLock(Path({str(db)!r})):
            with sqlite3.connect({str(db)!r}) as c:  # half of Spotter's tables, no meta yet
                c.execute("create table videos (id integer primary key)")
            print("holding", flush=True)
            time.sleep(1.0)
            Path({str(db)!r}).unlink()  # the creator gives up: the file is empty again
            Path({str(db)!r}).touch()
    """)
    creator = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert creator.stdout.readline().strip() == "holding"
        assert Library(db).videos() == []  # waited, then found an empty file and made it a library
    finally:
        creator.wait(timeout=60)


def test_an_unreadable_snapshot_in_a_folder_is_one_line_naming_it(tmp_path: Path) -> None:
    """A folder of snapshots with one image this user may not read (another user's upload, a
    permission a camera set) gave a PermissionError traceback from the folder's fingerprint; it is
    one line naming the image, and nothing is indexed from a folder that cannot be read whole."""
    from tests.test_image_sequence import tud_frames, write_named

    folder = Path(tempfile.mkdtemp(prefix="spotter-unreadable-"))  # outside pytest's 0700 folders
    try:
        folder.chmod(0o777)  # the library is written by the user who runs it
        shots = write_named(folder / "cam1", tud_frames(20))
        (folder / "cam1").chmod(0o755)
        shots[1].chmod(0o000)
        p = as_another_user(folder, "index", str(folder / "cam1"), "--db", str(folder / "lib.db"))
        assert "Traceback" not in p.stderr and "PermissionError" not in p.stderr, p.stderr
        assert p.returncode != 0 and shots[1].name in p.stderr and "cannot read this image" in p.stderr, (
            p.stderr
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE")
def test_a_library_on_a_full_disk_says_the_disk_not_just_io_error(tmp_path: Path) -> None:
    """Opening a library on a full disk (SQLite cannot make its journal files) said only "disk I/O
    error (the transaction was rolled back ...)", which names neither the disk nor what to do (a
    sweep). The process may write no byte to any file here: the disk is full for it."""
    import resource
    import signal

    db = tmp_path / "lib.db"
    Library(str(db)).close()
    before = digest(db)

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    p = subprocess.run(
        [sys.executable, "main.py", "videos", "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=full_disk,
    )
    one_line_error(p, str(db), "disk I/O error", "is it full")
    assert digest(db) == before


def test_a_symbolic_link_loop_in_db_is_one_line(tmp_path: Path) -> None:
    """Path.resolve raises RuntimeError for a link loop (Python 3.11): --db ended in a traceback; it
    now says what `index` says."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for p in (cli("videos", "--db", str(loop / "lib.db")),):
        assert p.returncode == 2 and "cannot resolve the path" in p.stderr, p.stderr
        assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_a_device_or_a_pipe_is_not_a_library_file(tmp_path: Path) -> None:
    """/dev/null, /dev/zero or a FIFO as --db was 'disk I/O error (is the disk full...)': SQLite took
    the device for an empty file; a pipe is judged without opening it (that waits for a writer)."""
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for path in ("/dev/null", "/dev/zero", str(fifo)):
        with pytest.raises(StorageError, match="is not a regular file"):
            Library(path)
        for args in (["videos"], ["index", str(tud().video)]):
            p = cli(*args, "--db", path, timeout=60)
            one_line_error(p, f"{path} is not a regular file (a device or a pipe), not a library file")
