"""Cases in the library: their photos, verdicts (who, when) and marks taken up from a case file, on
SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from pipeline.errors import StorageError
from pipeline.storage import Library
from tests.test_review import E, people_library


def test_cases_keep_photos_and_verdicts(library_db: str) -> None:
    """On SQLite and PostgreSQL (which, unlike SQLite, enforces column lengths)."""
    library, t = people_library(library_db)
    case_id = library.create_case("  theft  at gate ", [("/p/a.jpg", "test-reid", E[0])])
    library.mark("theft at gate", t["T1"], "confirmed")
    library.mark("theft at gate", t["T3"], "confirmed")
    library.mark("theft at gate", t["T3"], "rejected")  # the later verdict stands
    case = library.case("theft at gate")
    assert case.case_id == case_id and [p for p, _, _ in case.photos] == ["/p/a.jpg"]
    assert np.allclose(case.vectors("test-reid")[0], E[0]) and case.vectors("other") == ()
    assert case.marked("confirmed") == (t["T1"],) and case.marked("rejected") == (t["T3"],)
    assert all(m.marked_at is not None for m in case.marks)
    with pytest.raises(StorageError, match="already exists"):
        library.create_case("theft at gate", [])
    with pytest.raises(StorageError, match="no case named"):
        library.mark("other", t["T1"], "confirmed")
    with pytest.raises(StorageError, match="no track 999"):
        library.mark("theft at gate", 999, "confirmed")
    # marks taken up from a case file into the case: only on tracks it has not marked, in one go
    at = datetime(2026, 12, 1, 9, 30)
    offered = [
        (t["T3"], "confirmed", "ana", at),
        (t["T4"], "rejected", "ana", at),
        (t["T1"], "confirmed", "ana", at),
    ]
    assert library.add_marks("theft at gate", offered) == (1, (t["T3"],))
    case = library.case("theft at gate")
    assert case.marked("rejected") == (t["T3"], t["T4"]) and case.marked("confirmed") == (t["T1"],)
    (taken,) = [m for m in case.marks if m.track_pk == t["T4"]]
    assert (taken.marked_by, taken.marked_at) == ("ana", at)
    with pytest.raises(StorageError, match="a verdict is one of"):
        library.add_marks("theft at gate", [(t["T2"], "maybe", "ana", at)])
    assert len(library.case("theft at gate").marks) == 3  # nothing of a refused call is kept
    with library.engine.begin() as c:  # a track removed with its video takes its marks along
        c.exec_driver_sql("DELETE FROM videos")
    assert library.case("theft at gate").marks == ()


def test_case_times_are_kept_in_utc_whatever_the_servers_zone(postgres) -> None:
    """A PostgreSQL server in another time zone turned a case file's times (UTC, with their zone)
    into its local time, so the same file imported again was taken for another case (a review)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from pipeline.storage.cases import ImportedCase

    url = postgres.new_database()
    name = make_url(url).database
    with psycopg.connect(
        f"host=127.0.0.1 port={postgres.port} user={make_url(url).username} dbname=postgres"
    ) as c:
        c.autocommit = True
        c.execute(f"ALTER DATABASE {name} SET timezone TO 'Asia/Kolkata'")  # UTC+05:30
    library = Library(url)
    opened = datetime(2026, 12, 1, 9, 30, 5, tzinfo=timezone.utc)
    library.create_case("night shift", [], imported=ImportedCase("ana", opened, "{}", ()))
    assert library.case("night shift").created_at == opened.replace(tzinfo=None)  # 15:00:05 before
    library.close()
