"""Opening a library: the engine, one session per operation, the schema's version and its upgrades.

Every read or write is one short session; every write is one transaction, committed whole or rolled
back (and reported as :class:`StorageError`), so a failure (disk full, read-only folder, a crash)
leaves what was committed intact.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipeline.cameras import guess_camera, guess_start
from pipeline.errors import StorageError
from pipeline.storage.records import storage_message
from pipeline.storage.schema import BOX_COLUMNS, SCHEMA_VERSION, Base, MetaRow, VideoRow, make_engine
from pipeline.storage.video_lock import OpeningLock
from pipeline.types import union_box

log = logging.getLogger(__name__)

GEN_ADDED = "embeddings_added"  # bumped whenever embeddings are inserted
GEN_REMOVED = "embeddings_removed"  # bumped whenever embeddings are deleted
LIBRARY_ID = "library_id"  # a random identity, so caches beside a library are never another's


def check_is_library(path: Path) -> None:
    """Refuse, before writing a byte, a file that is neither empty nor a Spotter library: another
    application's database (or any other file) given as ``--db`` must stay exactly as it was."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
    except OSError as e:
        raise StorageError(storage_message(f"cannot open {path}", e)) from e
    if path.is_dir():
        raise StorageError(f"{path} is a folder, not a library file (give a file name such as spotter.db)")
    try:
        with open(path, "rb") as f:
            magic = f.read(16)
    except OSError as e:
        raise StorageError(storage_message(f"cannot read {path}", e)) from e
    if magic != b"SQLite format 3\x00":
        raise StorageError(f"{path} is not a Spotter library (not an SQLite database); nothing was written")
    uri = f"file:{path.as_posix()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as c:
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            ours = (
                "meta" in tables and c.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone()
            )
    except sqlite3.Error as e:
        raise StorageError(f"{path} cannot be read as a library ({e}); nothing was written") from e
    tables.discard("sqlite_sequence")
    if tables and not ours:
        shown = ", ".join(sorted(tables)[:5])
        raise StorageError(
            f"{path} is another application's database (tables: {shown}), not a Spotter library; "
            "nothing was written (choose another --db)"
        )


class LibraryBase:
    """A connection to one library database (see :class:`pipeline.storage.Library`)."""

    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path).expanduser().resolve()
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(storage_message(f"cannot create {self.db_path.parent}", e)) from e
        with OpeningLock(self.db_path):  # another process may be creating this very library
            check_is_library(self.db_path)  # before anything is written to it
            self.engine = make_engine(f"sqlite:///{self.db_path}")
            self._create_or_upgrade()

    def _create_or_upgrade(self) -> None:
        with self._write(f"cannot open database {self.db_path}") as s:
            Base.metadata.create_all(s.connection())
            version = s.get(MetaRow, "schema_version")
            if s.get(MetaRow, LIBRARY_ID) is None:
                s.add(MetaRow(key=LIBRARY_ID, value=uuid.uuid4().hex))
            if version is None:
                s.add(MetaRow(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(version.value) > SCHEMA_VERSION:
                raise StorageError(f"{self.db_path} was written by a newer Spotter (schema {version.value})")
            elif int(version.value) < SCHEMA_VERSION:
                self._migrate(s, int(version.value))
                version.value = str(SCHEMA_VERSION)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def identity(self) -> str:
        """This library's random identity (a restored backup keeps it; a new library gets its own)."""
        with self._read() as s:
            row = s.get(MetaRow, LIBRARY_ID)
            return row.value if row else ""

    @staticmethod
    def _migrate(s: Session, version: int) -> None:
        if version < 2:
            s.execute(text("ALTER TABLE tracks ADD COLUMN person INTEGER"))
            s.execute(text("UPDATE tracks SET person = track_id"))
            s.execute(text("CREATE INDEX IF NOT EXISTS ix_tracks_video_person ON tracks (video_id, person)"))
        if version < 3:
            s.execute(text("ALTER TABLE videos ADD COLUMN seek_json VARCHAR NOT NULL DEFAULT ''"))
            s.execute(text("ALTER TABLE videos ADD COLUMN report_json VARCHAR NOT NULL DEFAULT '{}'"))
            s.execute(text("ALTER TABLE videos ADD COLUMN content_sha256 VARCHAR(64) NOT NULL DEFAULT ''"))
            s.execute(text("ALTER TABLE videos ADD COLUMN aliases_json VARCHAR NOT NULL DEFAULT '[]'"))
            s.execute(
                text("CREATE INDEX IF NOT EXISTS ix_tracks_video_first ON tracks (video_id, first_frame)")
            )
        if version < 4:
            for column in ("camera", "camera_source", "start_source"):
                s.execute(text(f"ALTER TABLE videos ADD COLUMN {column} VARCHAR NOT NULL DEFAULT ''"))
            s.execute(text("ALTER TABLE videos ADD COLUMN start_time DATETIME"))
            for column in BOX_COLUMNS:
                s.execute(text(f"ALTER TABLE tracks ADD COLUMN {column} FLOAT NOT NULL DEFAULT 0"))
            s.execute(text("ALTER TABLE tracks ADD COLUMN colours BLOB NOT NULL DEFAULT x''"))
            boxes = [
                {"pk": pk, **dict(zip(BOX_COLUMNS, union_box(np.frombuffer(blob, np.float64))))}
                for pk, blob in s.execute(text("SELECT id, path FROM tracks")).all()
            ]
            if boxes:
                s.execute(
                    text(
                        "UPDATE tracks SET box_x1 = :box_x1, box_y1 = :box_y1, box_x2 = :box_x2,"
                        " box_y2 = :box_y2 WHERE id = :pk"
                    ),
                    boxes,
                )
            for video_id, path in s.execute(text("SELECT id, path FROM videos")).all():
                camera, camera_source = guess_camera(path)
                start, start_source = guess_start(path, container=False)
                s.execute(
                    update(VideoRow)
                    .where(VideoRow.id == video_id)
                    .values(
                        camera=camera,
                        camera_source=camera_source,
                        start_time=start,
                        start_source=start_source,
                    )
                )

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as s:
                yield s
        except (SQLAlchemyError, sqlite3.Error) as e:
            raise StorageError(storage_message(f"cannot read {self.db_path}", e)) from e

    @contextmanager
    def _write(self, action: str) -> Iterator[Session]:
        """One transaction: committed on success, rolled back (and reported) on any failure."""
        try:
            with Session(self.engine) as s, s.begin():
                yield s
        except StorageError:
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as e:
            raise StorageError(storage_message(action, e)) from e

    @staticmethod
    def _bump(s: Session, key: str) -> None:
        row = s.get(MetaRow, key)
        if row is None:
            s.add(MetaRow(key=key, value="1"))
        else:
            row.value = str(int(row.value) + 1)

    def generation(self) -> tuple[int, int]:
        """(added, removed) change counters of the embeddings table."""
        with self._read() as s:
            rows = dict(
                s.execute(
                    select(MetaRow.key, MetaRow.value).where(MetaRow.key.in_([GEN_ADDED, GEN_REMOVED]))
                ).all()
            )
        return int(rows.get(GEN_ADDED, 0)), int(rows.get(GEN_REMOVED, 0))
