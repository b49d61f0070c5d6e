"""Where a library lives: an SQLite file (the embedded default) or a PostgreSQL database (shared).

``--db`` and the app's library setting take either a file path (``~/cases/spotter.db``) or a
SQLAlchemy URL (``postgresql+psycopg://operator@archive/spotter``; a plain ``postgresql://`` URL
means the same, through psycopg 3). Side files that belong to a library but not in its database (the
vector index cache, copied case photos, adapted models) sit beside an SQLite file, and for a server
library in the user's data folder under a name derived from the URL (never its password).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import StorageError
from pipeline.file_names import resolved

SERVER_DRIVER = "postgresql+psycopg"  # the one server dialect Spotter runs on (psycopg 3)
DB_FILENAME = "spotter.db"


@dataclass(frozen=True)
class LibraryLocation:
    """url: the SQLAlchemy URL the engine opens.
    path: the SQLite file (None for a server library).
    shown: how messages name the library (the path, or the URL with its password hidden).
    side_dir: folder for the library's side files; side_name: their common file-name stem.
    """

    url: str
    path: Path | None
    shown: str
    side_dir: Path
    side_name: str

    @property
    def is_server(self) -> bool:
        return self.path is None

    def __str__(self) -> str:
        return self.shown


def default_db_path() -> Path:
    """``spotter.db`` in the user's data directory (shared by the CLI and the desktop app)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("Spotter", appauthor=False)) / DB_FILENAME


def looks_like_url(text: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text))


def locate(db: str | Path) -> LibraryLocation:
    """The location named by ``db`` (a path or a URL); :class:`StorageError` for one Spotter cannot use."""
    text = str(db)
    if not looks_like_url(text):
        return _file(Path(text))
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as e:  # ValueError: a port that is not a number
        raise StorageError(f"{text!r} is not a database URL ({e})") from e
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StorageError("an SQLite library needs a file (sqlite:///path/to/spotter.db)")
        return _file(Path(url.database))
    if url.get_backend_name() != "postgresql":
        raise StorageError(
            f"{url.render_as_string(hide_password=True)}: Spotter keeps libraries in an SQLite file or in "
            "PostgreSQL (postgresql+psycopg://user@host/database)"
        )
    if url.drivername != SERVER_DRIVER:  # psycopg 3 is the driver Spotter installs (install.sh --cluster)
        url = url.set(drivername=SERVER_DRIVER)
    if not url.database:
        raise StorageError(f"{url.render_as_string(hide_password=True)}: the URL names no database")
    shown = url.render_as_string(hide_password=True)
    from platformdirs import user_data_dir

    key = hashlib.sha256(f"{url.host}:{url.port}/{url.database}".encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in f"{url.host or 'local'}_{url.database}")
    return LibraryLocation(
        url=url.render_as_string(hide_password=False),
        path=None,
        shown=shown,
        side_dir=Path(user_data_dir("Spotter", appauthor=False)) / "libraries" / f"{stem}-{key}",
        side_name=url.database,
    )


def _file(path: Path) -> LibraryLocation:
    path = resolved(path, StorageError)
    _check_regular(path)
    return LibraryLocation(f"sqlite:///{path}", path, str(path), path.parent, path.name)


def _check_regular(path: Path) -> None:
    """Refuse a device or a pipe (``/dev/null``, a FIFO) as a library, judged by ``stat`` alone: SQLite
    took one for an empty file and failed with 'disk I/O error', and opening a pipe waits for a writer.
    A path that is not there (a new library) or a folder is left to the library's own checks."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise StorageError(
            f"{path} is not a regular file (a device or a pipe), not a library file "
            "(give a file name such as spotter.db)"
        )
