"""The library schema's versions: create a new library, upgrade an older one in place, refuse a newer.

Alembic versions the schema (revisions in ``pipeline/storage/migrations/versions``) on SQLite and
PostgreSQL alike. Libraries written before Alembic carry only ``meta.schema_version`` (1 to 4): they
are brought to schema 4 by the steps written then (:func:`legacy_to_4`, SQLite only: PostgreSQL
libraries started with Alembic), stamped with revision 0001, and upgraded from there. A library whose
revision this Spotter does not know was written by a newer one and is refused before anything is
written. Alembic is imported only when something is to be created or upgraded: opening an up-to-date
library (every search) costs two small reads.

Runs inside the transaction that opens the library, so a failed upgrade leaves it as it was (DDL is
transactional on both databases).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, inspect, select, text, update

from pipeline.cameras import guess_camera, guess_start
from pipeline.errors import StorageError
from pipeline.storage.schema import BOX_COLUMNS, SCHEMA_VERSION, Base, MetaRow, VideoRow
from pipeline.types import union_box

log = logging.getLogger(__name__)

HEAD = "0006"  # the newest revision in migrations/versions (a test checks that they agree)
BASELINE = "0001"  # schema 4, where Alembic took over
LEGACY_HEAD = 4  # the last schema_version written without Alembic
LIBRARY_ID = "library_id"  # a random identity, so caches beside a library are never another's
GEN_ADDED = "embeddings_added"  # bumped whenever embeddings are inserted
GEN_REMOVED = "embeddings_removed"  # bumped whenever embeddings are deleted
# meta rows that writers lock (SELECT ... FOR UPDATE) and so must exist before the first writer: a new
# library gets them here, an upgraded one from revision 0002 (which keeps its own copy of this list)
COUNTERS = (GEN_ADDED, GEN_REMOVED, "last_search_id", "last_hit_id")
MIGRATIONS = Path(__file__).with_name("migrations")


def prepare_schema(conn: Connection, shown: str) -> None:
    """Create, upgrade or accept the library on ``conn`` (in its transaction); refuse a database that
    is another application's or a newer Spotter's."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        Base.metadata.create_all(conn)
        rows = [{"key": "schema_version", "value": str(SCHEMA_VERSION)}]
        conn.execute(MetaRow.__table__.insert(), rows + [{"key": k, "value": "0"} for k in COUNTERS])
        _run_alembic(conn, "stamp", HEAD)
    else:
        version = _schema_version(conn, tables, shown)
        revision = _revision(conn, tables)
        if revision is None:
            if version > LEGACY_HEAD:
                raise StorageError(f"{shown} was written by a newer Spotter (schema {version})")
            if version < LEGACY_HEAD:
                # tables that schema 2-4 added (calibration, cases, ...) as they are defined now: when a
                # revision changes one of them, this must create its schema-4 form instead, or the
                # revision must accept the change made already (0004 does)
                Base.metadata.create_all(conn)
                legacy_to_4(conn, version)
            log.info("upgrading the library %s from schema %d", shown, version)
            _run_alembic(conn, "stamp", BASELINE)
            revision = BASELINE
        if revision != HEAD:
            if not _known(revision):
                raise StorageError(
                    f"{shown} was written by a newer Spotter (schema revision {revision}); "
                    "upgrade Spotter to open it"
                )
            log.info("upgrading the library %s from revision %s to %s", shown, revision, HEAD)
            _run_alembic(conn, "upgrade", HEAD)
    if conn.execute(select(MetaRow.key).where(MetaRow.key == LIBRARY_ID)).first() is None:
        conn.execute(MetaRow.__table__.insert(), [{"key": LIBRARY_ID, "value": uuid.uuid4().hex}])


def is_current(conn: Connection) -> bool:
    """Whether the library on ``conn`` is this Spotter's, at the newest revision, with its identity:
    then :func:`prepare_schema` has nothing to write, and opening it (every search, every listing)
    takes no write lock."""
    tables = set(inspect(conn).get_table_names())
    if not {"meta", "alembic_version"} <= tables or _revision(conn, tables) != HEAD:
        return False
    return conn.execute(select(MetaRow.key).where(MetaRow.key == LIBRARY_ID)).first() is not None


def _schema_version(conn: Connection, tables: set[str], shown: str) -> int:
    row = None
    if "meta" in tables and {"key", "value"} <= {c["name"] for c in inspect(conn).get_columns("meta")}:
        row = conn.execute(select(MetaRow.value).where(MetaRow.key == "schema_version")).first()
    if row is None:
        shown_tables = ", ".join(sorted(tables)[:5])
        raise StorageError(
            f"{shown} is another application's database (tables: {shown_tables}), not a Spotter library; "
            "nothing was written (choose another --db)"
        )
    try:
        return int(row[0])
    except ValueError as e:
        raise StorageError(f"{shown}: its schema version {row[0]!r} is not Spotter's") from e


def _revision(conn: Connection, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def _config(conn: Connection):  # -> alembic.config.Config (imported lazily)
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory(str(MIGRATIONS)).get_revision(revision) is not None
    except CommandError:
        return False


def _run_alembic(conn: Connection, what: str, revision: str) -> None:
    from alembic import command

    getattr(command, what)(_config(conn), revision)


def script_head() -> str:
    """The head revision of the migrations folder (``HEAD`` must equal it)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


def legacy_to_4(conn: Connection, version: int) -> None:
    """The upgrade steps written before Alembic: schema 1..3 -> 4 (SQLite libraries only)."""
    if version < 2:
        conn.execute(text("ALTER TABLE tracks ADD COLUMN person INTEGER"))
        conn.execute(text("UPDATE tracks SET person = track_id"))
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_tracks_video_person ON tracks (video_id, person)"))
    if version < 3:
        conn.execute(text("ALTER TABLE videos ADD COLUMN seek_json VARCHAR NOT NULL DEFAULT ''"))
        conn.execute(text("ALTER TABLE videos ADD COLUMN report_json VARCHAR NOT NULL DEFAULT '{}'"))
        conn.execute(text("ALTER TABLE videos ADD COLUMN content_sha256 VARCHAR(64) NOT NULL DEFAULT ''"))
        conn.execute(text("ALTER TABLE videos ADD COLUMN aliases_json VARCHAR NOT NULL DEFAULT '[]'"))
        conn.execute(
            text("CREATE INDEX IF NOT EXISTS ix_tracks_video_first ON tracks (video_id, first_frame)")
        )
    if version < 4:
        for column in ("camera", "camera_source", "start_source"):
            conn.execute(text(f"ALTER TABLE videos ADD COLUMN {column} VARCHAR NOT NULL DEFAULT ''"))
        conn.execute(text("ALTER TABLE videos ADD COLUMN start_time DATETIME"))
        for column in BOX_COLUMNS:
            conn.execute(text(f"ALTER TABLE tracks ADD COLUMN {column} FLOAT NOT NULL DEFAULT 0"))
        conn.execute(text("ALTER TABLE tracks ADD COLUMN colours BLOB NOT NULL DEFAULT x''"))
        boxes = [
            {"pk": pk, **dict(zip(BOX_COLUMNS, union_box(np.frombuffer(blob, np.float64))))}
            for pk, blob in conn.execute(text("SELECT id, path FROM tracks")).all()
        ]
        if boxes:
            conn.execute(
                text(
                    "UPDATE tracks SET box_x1 = :box_x1, box_y1 = :box_y1, box_x2 = :box_x2,"
                    " box_y2 = :box_y2 WHERE id = :pk"
                ),
                boxes,
            )
        for video_id, path in conn.execute(text("SELECT id, path FROM videos")).all():
            camera, camera_source = guess_camera(path)
            start, start_source = guess_start(path, container=False)
            conn.execute(
                update(VideoRow)
                .where(VideoRow.id == video_id)
                .values(
                    camera=camera, camera_source=camera_source, start_time=start, start_source=start_source
                )
            )
    conn.execute(update(MetaRow).where(MetaRow.key == "schema_version").values(value=str(LEGACY_HEAD)))
