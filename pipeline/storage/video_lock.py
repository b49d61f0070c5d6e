"""One indexer per video: a second ``index`` of the same video and library (another terminal, the app
and a script) skips it with a message instead of colliding in the database. And one process at a
time opens (and, the first time, creates) a library: SQLite commits each ``CREATE TABLE`` on its own,
so a process opening a library while another creates it would otherwise see half of Spotter's
tables and take the file for another application's database.

The lock is an operating-system byte-range lock (``fcntl.lockf`` on Linux and macOS, ``msvcrt`` on
Windows) on one small file beside the library, at an offset derived from the video's path. The system
releases it when the holder exits, however it exits (kill -9 included), so a crash never leaves a
video locked, and the file is never deleted (deleting it while another process opens it would let
two processes hold "the same" lock on different files).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from types import TracebackType

SLOTS = 2**30  # byte offsets the videos are spread over (collisions are vanishingly rare)
OPENING = 0  # the byte of the opening lock's own file held while a library is opened


class VideoLock:
    """Non-blocking lock on (library, video); ``acquired`` says whether this process holds it."""

    def __init__(self, db_path: Path, video: Path):
        self.path = db_path.with_name(f".{db_path.name}.indexing.lock")
        self.offset = int(hashlib.sha256(os.fsencode(video)).hexdigest()[:15], 16) % SLOTS
        self._fd: int | None = None
        self.acquired = False

    def __enter__(self) -> VideoLock:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # an unwritable folder: the library's own writes will say so
            self.acquired = True
            return self
        self.acquired = _try_lock(self._fd, self.offset)
        return self

    def __exit__(self, kind: type | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is None:
            return
        if self.acquired:
            _unlock(self._fd, self.offset)
        os.close(self._fd)
        self._fd = None


class OpeningLock:
    """Blocking lock held while a library is opened (a new library's tables are created under it)."""

    def __init__(self, db_path: Path):
        # its own file: POSIX drops all of a process's locks on a file when any of its descriptors of
        # that file is closed, so sharing the videos' file would let an open release an indexer's lock
        self.path = db_path.with_name(f".{db_path.name}.opening.lock")
        self._fd: int | None = None

    def __enter__(self) -> OpeningLock:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # an unwritable folder: nothing can be created there, nothing to serialise
            return self
        _lock(self._fd, OPENING)
        return self

    def __exit__(self, kind: type | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is None:
            return
        _unlock(self._fd, OPENING)
        os.close(self._fd)
        self._fd = None


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int, offset: int) -> bool:
        os.lseek(fd, offset, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int, offset: int) -> None:
        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def _lock(fd: int, offset: int) -> None:
        os.lseek(fd, offset, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for about 10 s, then raises OSError

else:
    import fcntl

    def _try_lock(fd: int, offset: int) -> bool:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
            return True
        except OSError:
            return False

    def _unlock(fd: int, offset: int) -> None:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

    def _lock(fd: int, offset: int) -> None:
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset)
