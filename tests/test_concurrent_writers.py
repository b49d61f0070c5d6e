"""Several processes writing one SQLite library at once (the app searching while `main.py search` and
an indexer run): each write transaction holds the write lock from its first read, so what it reads to
write (the next search id, a change counter) is not read by another writer at the same time."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np

from pipeline.storage import Library

WRITERS, SEARCHES = 4, 30


def _save_searches(db: str) -> list[str]:
    library = Library(db)
    failed = []
    for _ in range(SEARCHES):
        try:
            library.save_search("/q.jpg", (1, 2, 30, 80), "reid", {}, np.ones(8), [])
        except Exception as e:
            failed.append(str(e))
    library.close()
    return failed


def test_searches_saved_at_once_by_several_processes_all_keep_their_ids(tmp_path: Path) -> None:
    """pysqlite began a transaction only at the first write: two searches read the same highest id,
    and one failed to save ("UNIQUE constraint failed: searches.id"; 33 of 240 here)."""
    db = str(tmp_path / "lib.db")
    Library(db).close()
    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        failed = [line for lines in pool.map(_save_searches, [db] * WRITERS) for line in lines]
    assert failed == []
    library = Library(db)
    last = library.save_search("/q.jpg", (1, 2, 30, 80), "reid", {}, np.ones(8), [])[0]
    assert last == WRITERS * SEARCHES + 1  # every id given once, none skipped


def _register_while_hashing(db: str, started, done, said) -> None:
    from tests.test_storage import video_info

    def slow_hash() -> str:  # a whole large file's SHA-256 takes seconds a GB
        started.set()
        said.put(done.wait(20))  # whether the other process got its work done meanwhile
        return "ab" * 32

    Library(db).start_video(video_info(), "det", "reid", {}, content_hash=slow_hash)


def test_a_video_hashed_for_registering_does_not_hold_the_library(tmp_path: Path) -> None:
    """Registering a changed or new video hashes the whole file; inside the write transaction (which
    now holds the write lock from its first read) every other process's open, search or mark waited
    on it, and after 30 s failed with "database is locked" (a review of the change). The hash is
    taken before the transaction: the library is free meanwhile."""
    db = str(tmp_path / "lib.db")
    Library(db).close()
    ctx = multiprocessing.get_context("spawn")
    started, done, said = ctx.Event(), ctx.Event(), ctx.Queue()
    indexer = ctx.Process(target=_register_while_hashing, args=(db, started, done, said))
    indexer.start()
    try:
        assert started.wait(60)
        other = Library(db)  # another operator's search, while the file is hashed
        other.save_search("/q.jpg", (1, 2, 30, 80), "reid", {}, np.ones(8), [])
        other.close()
        done.set()
        assert said.get(timeout=60) is True  # done before the hash ended: nothing waited on it
    finally:
        done.set()
        indexer.join(60)
    assert indexer.exitcode == 0


def test_an_up_to_date_library_opens_and_reads_while_another_process_writes(tmp_path: Path) -> None:
    """Opening a library ran its schema check in a write transaction: with write transactions taking
    the lock first, every open (each search, each listing) would wait on any writer. An up-to-date
    library is opened by reading only."""
    import sqlite3

    db = tmp_path / "lib.db"
    Library(db).close()
    writer = sqlite3.connect(db, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write (an indexing chunk)
    try:
        library = Library(db)
        assert library.videos() == [] and library.identity
        library.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
