"""A library shared on PostgreSQL, and the schema's versions (Alembic) on both databases.

Runs against a real PostgreSQL server started for the session (tests/pg_server.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, text

from bench.sequences import cut
from pipeline.errors import StorageError
from pipeline.search import Searcher
from pipeline.search_index import VectorIndex
from pipeline.storage import Library
from pipeline.storage.migrate import COUNTERS, HEAD, script_head
from tests.conftest import ROOT, copy_library, pets, tud
from tests.test_search import DIM, add_video, unit


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_the_code_knows_the_newest_migration() -> None:
    assert script_head() == HEAD


def revision_of(engine_url: str) -> tuple[str, str]:
    engine = create_engine(engine_url)
    with engine.connect() as c:
        rev = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
        version = c.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
    engine.dispose()
    return str(rev), str(version)


def test_a_new_library_is_at_the_newest_revision(library_db: str) -> None:
    """...with the rows that concurrent writers lock already there (two processes that both found one
    missing would both insert it, and one would fail on the duplicate key)."""
    library = Library(library_db)
    assert revision_of(library.location.url) == (HEAD, "5")
    assert library.generation() == (0, 0)
    with library.engine.connect() as c:
        keys = {r[0] for r in c.execute(text("SELECT key FROM meta"))}
    assert set(COUNTERS) <= keys


def test_a_library_of_schema_4_upgrades_in_place_and_stays_searchable(
    indexed, models, frame_of, tmp_path: Path
) -> None:
    """A library as the Spotter before Alembic left it (schema 4: no alembic_version, no counters
    written before the first change) opens, upgrades, and answers a search exactly as before."""
    db = copy_library(indexed.db_path, tmp_path / "old.db")
    query = frame_of(tud().video, 40)[100:400, 300:420]
    before = Searcher(Library(db), models).search(query, save=False).hits
    with sqlite3.connect(db) as c:
        c.execute("DROP TABLE alembic_version")
        c.execute("DELETE FROM meta WHERE key IN ('last_search_id', 'last_hit_id')")
        c.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    upgraded = Library(db)
    assert revision_of(upgraded.location.url) == (HEAD, "5")
    after = Searcher(upgraded, models).search(query, save=False).hits
    assert before and [(h.video_id, h.track_id, round(h.score, 5)) for h in after] == [
        (h.video_id, h.track_id, round(h.score, 5)) for h in before
    ]
    assert len(upgraded.videos()) == 2 and all(v.status == "done" for v in upgraded.videos())


def test_cases_of_revision_3_upgrade_with_no_grey_vector(library_db: str) -> None:
    """Revision 0004 adds the photo turned grey to case photos: a case made before keeps its photo
    and searches with its colour vector (no grey one), on SQLite and PostgreSQL."""
    library = Library(library_db)
    library.create_case("before", [("/p/a.jpg", "test-reid", unit(np.ones(DIM)))])
    with library.engine.begin() as c:
        c.execute(text("ALTER TABLE case_photos DROP COLUMN grey_vector"))
        c.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    library.close()
    upgraded = Library(library_db)
    assert revision_of(upgraded.location.url) == (HEAD, "5")
    case = upgraded.case("before")
    assert np.allclose(case.vectors("test-reid")[0], unit(np.ones(DIM)))
    assert case.grey_vectors("test-reid") == (None,)
    upgraded.create_case(
        "after", [("/p/b.jpg", "test-reid", unit(np.ones(DIM)))], greys=[unit(-np.ones(DIM))]
    )
    assert np.allclose(upgraded.case("after").grey_vectors("test-reid")[0], unit(-np.ones(DIM)))
    upgraded.close()


def test_cases_of_revision_5_upgrade_with_no_person_box(library_db: str) -> None:
    """Revision 0006 adds the box of the person searched for to case photos: a case made before keeps
    its photo, shown whole (no box), on SQLite and PostgreSQL."""
    library = Library(library_db)
    library.create_case("before", [("/p/a.jpg", "test-reid", unit(np.ones(DIM)))])
    with library.engine.begin() as c:
        c.execute(text("ALTER TABLE case_photos DROP COLUMN box"))
        c.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    library.close()
    upgraded = Library(library_db)
    assert revision_of(upgraded.location.url) == (HEAD, "5")
    assert upgraded.case("before").photo_boxes == (None,)
    upgraded.create_case("after", [("/p/b.jpg", "test-reid", unit(np.ones(DIM)))], boxes=[(1, 2, 3, 4)])
    assert upgraded.case("after").photo_boxes == ((1.0, 2.0, 3.0, 4.0),)
    upgraded.close()


def test_tracks_of_revision_4_upgrade_as_current(library_db: str) -> None:
    """Revision 0005 adds tracks.stale (kept from before a run indexing the video again): tracks
    stored before are current ones, counted and searched as before, on SQLite and PostgreSQL."""
    library = Library(library_db)
    video = add_video(library, "cam1", [unit(np.ones(DIM))])
    with library.engine.begin() as c:
        c.execute(text("ALTER TABLE tracks DROP COLUMN stale"))
        c.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    library.close()
    upgraded = Library(library_db)
    assert revision_of(upgraded.location.url) == (HEAD, "5")
    assert upgraded.track_count(video) == 1 and len(upgraded.load_embeddings("test-reid", "track")[0]) == 1
    upgraded.close()


@pytest.mark.parametrize("state", ["revision", "schema"])
def test_a_library_of_a_newer_spotter_is_refused_untouched(tmp_path: Path, state: str) -> None:
    db = tmp_path / "new.db"
    Library(db).close()
    with sqlite3.connect(db) as c:
        if state == "revision":
            c.execute("UPDATE alembic_version SET version_num = 'f00d'")
        else:  # a future Spotter without Alembic's table would still carry its schema number
            c.execute("DROP TABLE alembic_version")
            c.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    before = db.read_bytes()
    with pytest.raises(StorageError, match="written by a newer Spotter"):
        Library(db)
    assert db.read_bytes() == before


def test_another_applications_server_database_is_refused_untouched(postgres) -> None:
    url = postgres.new_database()
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"))
    with pytest.raises(StorageError, match=r"another application's database .*customers"):
        Library(url)
    assert inspect(engine).get_table_names() == ["customers"]
    with engine.begin() as c:  # one with a "meta" table of its own (other columns than ours)
        c.execute(text("CREATE TABLE meta (k TEXT, v TEXT)"))
    with pytest.raises(StorageError, match=r"another application's database .*customers, meta"):
        Library(url)
    assert sorted(inspect(engine).get_table_names()) == ["customers", "meta"]
    engine.dispose()


def test_a_second_operators_new_video_appears_without_a_rebuild(postgres, monkeypatch) -> None:
    """Two processes (two Library objects) on one server library: what one adds, the other's vector
    index reads incrementally (only the new rows) at its next search."""
    url = postgres.new_database()
    mine, theirs = Library(url), Library(url)
    rng = np.random.default_rng(3)
    add_video(mine, "cam1", list(rng.normal(size=(20, DIM))))
    index = VectorIndex(mine, "test-reid")
    index.refresh()
    assert index.size == 20
    rebuilt: list[bool] = []
    real = index._rebuild
    monkeypatch.setattr(index, "_rebuild", lambda: (rebuilt.append(True), real())[1])
    new = list(rng.normal(size=(7, DIM)))
    vid = add_video(theirs, "cam2", new)
    index.refresh()
    assert index.size == 27 and not rebuilt
    pks, _ = index.search(unit(new[3]), 0.99, 1)
    assert mine.tracks(pks.tolist())[int(pks[0])].video_id == vid


def videos_json(db: str) -> dict[str, dict]:
    p = cli("videos", "--json", "--db", db)
    assert p.returncode == 0, p.stderr
    return {Path(v["path"]).name: v for v in json.loads(p.stdout)["videos"]}


def test_two_indexers_on_one_server_library_lose_and_duplicate_nothing(postgres, tmp_path: Path) -> None:
    """Two `main.py index` processes on the same videos and the same PostgreSQL library at once: each
    video is indexed once (the other process skips or waits), and the library holds what indexing
    the videos one by one gives: the same videos, statuses and track counts."""
    videos = [str(tud().video), str(cut(pets().video, tmp_path / "pets_12s.mp4", 0, 120))]
    shared = postgres.new_database()
    procs = [
        subprocess.Popen(
            [sys.executable, "main.py", "index", *order, "--db", shared, "--quiet"],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for order in (videos, videos[::-1])
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    alone = postgres.new_database()
    assert cli("index", *videos, "--db", alone, "--quiet").returncode == 0
    together, one_by_one = videos_json(shared), videos_json(alone)
    assert together.keys() == one_by_one.keys() == {"TUD-Campus.mp4", "pets_12s.mp4"}
    for name, v in one_by_one.items():
        assert together[name]["status"] == v["status"] == "done"
        assert together[name]["tracks"] == v["tracks"] > 0
    engine = create_engine(shared)
    with engine.connect() as c:
        dupes = c.execute(
            text("SELECT count(*) FROM (SELECT track_pk FROM embeddings WHERE kind = 'track' "
                 "GROUP BY track_pk HAVING count(*) > 1) d")
        ).scalar()  # fmt: skip
    engine.dispose()
    assert dupes == 0


@pytest.mark.parametrize(
    ("db", "expected"),
    [
        ("mysql://someone@host/spotter", "SQLite file or in PostgreSQL"),
        ("postgresql://spotter@127.0.0.1:1/spotter", "cannot reach the database server"),
        ("postgresql://", "names no database"),
    ],
)
def test_unusable_server_urls_are_one_clear_line(db: str, expected: str) -> None:
    p = cli("videos", "--db", db, timeout=60)
    assert p.returncode == 2 and expected in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
