"""The locks of :mod:`pipeline.storage.video_lock` for a library on PostgreSQL: advisory locks.

A file lock beside the database cannot serialise processes on different machines; PostgreSQL's
session-level advisory locks can. Each lock holds its own connection for as long as it is held, and
the server releases it when that connection ends, however the holder ends (kill -9, a lost machine),
so a crash never leaves a video locked. Keys are 63-bit numbers derived from a name, in a namespace of
their own so that Spotter's locks do not meet another application's on the same server.
"""

from __future__ import annotations

import hashlib
from types import TracebackType

from sqlalchemy import Connection, Engine, text

NAMESPACE = "spotter-library:"


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` (PostgreSQL's bigint)."""
    return int.from_bytes(hashlib.sha256((NAMESPACE + name).encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """Session-level advisory lock ``name`` on ``engine``'s server: ``wait`` blocks until it is free,
    otherwise ``acquired`` says whether this process got it."""

    def __init__(self, engine: Engine, name: str, wait: bool):
        self.engine, self.key, self.wait = engine, lock_key(name), wait
        self._conn: Connection | None = None
        self.acquired = False

    def __enter__(self) -> AdvisoryLock:
        self._conn = self.engine.connect()
        if self.wait:
            self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
            self.acquired = True
        else:
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            self.acquired = bool(got)
        self._conn.commit()  # the lock belongs to the session, not to a transaction
        return self

    def __exit__(self, kind: type | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._conn is None:
            return
        try:
            if self.acquired:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
        except Exception:
            self._conn.invalidate()  # the session ends, and with it the lock (not back to the pool)
            raise
        finally:
            self._conn.close()
            self._conn = None


def advisory_lock_held(engine: Engine, name: str) -> bool:
    """Whether some session on the server holds the advisory lock ``name`` (asked of ``pg_locks``,
    without taking the lock: a probe that took it for an instant could turn away an indexer starting
    just then). A bigint key is listed as its high and low 32 bits (``classid``, ``objid``)."""
    key = lock_key(name) & 0xFFFF_FFFF_FFFF_FFFF
    query = text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1)"
    )
    with engine.connect() as c:
        return bool(c.execute(query, {"hi": key >> 32, "lo": key & 0xFFFF_FFFF}).scalar())
