"""Opening a library (SQLite file or PostgreSQL): the engine, one session per operation, the locks.

Every read or write is one short session; every write is one transaction, committed whole or rolled
back (and reported as :class:`StorageError`), so a failure (disk full, read-only folder, a crash)
leaves what was committed intact.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipeline.errors import StorageError
from pipeline.storage.location import LibraryLocation, locate
from pipeline.storage.migrate import GEN_ADDED, GEN_REMOVED, LIBRARY_ID, is_current, prepare_schema
from pipeline.storage.records import storage_message
from pipeline.storage.schema import WRITE, MetaRow, make_engine
from pipeline.storage.server_lock import AdvisoryLock, advisory_lock_held
from pipeline.storage.video_lock import OpeningLock, VideoLock, held

log = logging.getLogger(__name__)

__all__ = ["GEN_ADDED", "GEN_REMOVED", "LibraryBase", "check_is_library"]

NOTHING_WRITTEN = "nothing was written"  # what a refusal before the library is open says of it


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
    if (names := path.stat().st_nlink) > 1:  # SQLite's write-ahead log is kept by name, not by file
        raise StorageError(
            f"{path} has {names} names (hard links): SQLite keeps a library's journal beside each name, "
            "so two names in use at once lose writes and damage the library; nothing was written (give "
            "the library one name: copy it to a new file, or use a symbolic link)"
        )
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
            meta = {r[1] for r in c.execute("PRAGMA table_info(meta)")}  # another app's "meta" differs
            ours = {"key", "value"} <= meta and c.execute(
                "SELECT 1 FROM meta WHERE key = 'schema_version'"
            ).fetchone()
    except sqlite3.Error as e:  # damaged, or a library in a folder this user cannot write (WAL)
        raise StorageError(
            storage_message(f"{path} cannot be opened as a library", e, NOTHING_WRITTEN)
        ) from e
    tables.discard("sqlite_sequence")
    if tables and not ours:
        shown = ", ".join(sorted(tables)[:5])
        raise StorageError(
            f"{path} is another application's database (tables: {shown}), not a Spotter library; "
            "nothing was written (choose another --db)"
        )


def _server_engine(location: LibraryLocation) -> Engine:
    try:
        return make_engine(location.url)
    except ModuleNotFoundError as e:  # psycopg is an extra: ./install.sh --cluster
        raise StorageError(
            f"{location.shown}: a PostgreSQL library needs the psycopg package ({e}); "
            "install the cluster extras with ./install.sh --cluster"
        ) from e


class LibraryBase:
    """A connection to one library database (see :class:`pipeline.storage.Library`): an SQLite file
    or a PostgreSQL database (:mod:`pipeline.storage.location`)."""

    def __init__(self, db: str | Path):
        self.location = locate(db)
        self.where = self.location.shown  # how messages name the library
        if self.location.is_server:
            self.engine = _server_engine(self.location)
            try:
                with self._opening_lock():  # another process may be creating or upgrading it
                    self._create_or_upgrade()
            except SQLAlchemyError as e:  # the server cannot be reached, or refuses the user
                raise StorageError(storage_message(f"cannot open the library {self.where}", e)) from e
            return
        path = self.location.path
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise StorageError(f"{path}: {blocking} is a file, not a folder; nothing was written")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(storage_message(f"cannot create {path.parent}", e, NOTHING_WRITTEN)) from e
        with OpeningLock(path):  # another process may be creating this very library
            check_is_library(path)  # before anything is written to it
            self.engine = make_engine(self.location.url)
            self._create_or_upgrade()

    @property
    def db_path(self) -> Path:
        """The SQLite file of a file library (a server library has none: use ``where`` in messages)."""
        if self.location.path is None:
            raise StorageError(f"{self.where} is a server library, not a file")
        return self.location.path

    def _opening_lock(self) -> AdvisoryLock:
        return AdvisoryLock(self.engine, "opening", wait=True)

    def video_lock(self, video: Path) -> VideoLock | AdvisoryLock:
        """The lock one indexer of ``video`` holds on this library (``acquired`` False: someone else's)."""
        if self.location.is_server:
            return AdvisoryLock(self.engine, _lock_name(video), wait=False)
        return VideoLock(self.location.path, video)

    def being_indexed(self, video: Path) -> bool:
        """Whether an indexer (another process, machine or thread) holds ``video``'s lock now."""
        if self.location.is_server:
            return advisory_lock_held(self.engine, _lock_name(video))
        return held(self.location.path, video)

    def side_file(self, suffix: str) -> Path:
        """A file that belongs to this library outside its database (caches): beside an SQLite file,
        in the user's data folder for a server library (created when needed)."""
        folder = self.location.side_dir
        if self.location.is_server:
            folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self.location.side_name}{suffix}"

    def _create_or_upgrade(self) -> None:
        action = f"cannot open the library {self.where}"
        with self._read(action) as s:  # an up-to-date library is opened without the write lock
            if is_current(s.connection()):
                return
        with self._write(action) as s:
            prepare_schema(s.connection(), self.where)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def identity(self) -> str:
        """This library's random identity (a restored backup keeps it; a new library gets its own)."""
        with self._read() as s:
            row = s.get(MetaRow, LIBRARY_ID)
            return row.value if row else ""

    @contextmanager
    def _read(self, action: str = "") -> Iterator[Session]:
        try:
            with Session(self.engine) as s:
                yield s
        except (SQLAlchemyError, sqlite3.Error) as e:
            raise StorageError(storage_message(action or f"cannot read {self.where}", e)) from e

    @contextmanager
    def _write(self, action: str) -> Iterator[Session]:
        """One transaction: committed on success, rolled back (and reported) on any failure."""
        try:
            with Session(self.engine.execution_options(**{WRITE: True})) as s, s.begin():
                yield s
        except StorageError:
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as e:
            raise StorageError(storage_message(action, e)) from e

    @staticmethod
    def _bump(s: Session, key: str) -> None:
        """Count a change. Writers that add embeddings bump *before* inserting them: the counter's row
        lock (PostgreSQL; SQLite has one writer anyway) then orders their transactions, so embedding ids
        grow in commit order and a search that read up to id N never misses a later commit below N."""
        row = s.get(MetaRow, key, with_for_update=True)
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


def _lock_name(video: Path) -> str:
    """The name of a video's indexing lock on a server library."""
    return f"video:{video}"
