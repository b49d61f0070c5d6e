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
