"""One indexer per video: a second ``index`` of the same video and library (another terminal, the app
and a script) skips it with a message instead of colliding in the database. And one process at a
time opens (and, the first time, creates) a library: SQLite commits each ``CREATE TABLE`` on its own,
so a process opening a library while another creates it would otherwise see half of Spotter's
tables and take the file for another application's database.

The lock is an operating-system byte-range lock (``fcntl.lockf`` on Linux and macOS, ``msvcrt`` on
Windows) on one small file beside the library, at an offset derived from the video's path. The system
releases it when the holder exits, however it exits (kill -9 included), so a crash never leaves a
video locked, and the file is never deleted (deleting it while another process opens it would let
two processes hold "the same" lock on different files). ``held`` asks whether a video is being
indexed now, so that a run left unfinished is told from one in progress elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path
from types import TracebackType

SLOTS = 2**30  # byte offsets the videos are spread over (collisions are vanishingly rare)
OPENING = 0  # the byte of the opening lock's own file held while a library is opened


class VideoLock:
    """Non-blocking lock on (library, video); ``acquired`` says whether this process holds it (False:
    another process, or another thread of this one, is indexing the video)."""

    def __init__(self, db_path: Path, video: Path):
        self.path, self.offset = _slot(db_path, video)
        self.acquired = False
        self._opened = False

    def __enter__(self) -> VideoLock:
        with _GUARD:
            if (self.path, self.offset) in _HELD:
                return self
            fd = _share(self.path)
            if fd is None:  # an unwritable folder: the library's own writes will say so
                self.acquired = True
                return self
            self._opened = True
            self.acquired = _try_lock(fd, self.offset)
            if self.acquired:
                _HELD.add((self.path, self.offset))
        return self

    def __exit__(self, kind: type | None, err: BaseException | None, tb: TracebackType | None) -> None:
        with _GUARD:
            if not self._opened:
                return
            if self.acquired:
                _unlock(_FILES[self.path][0], self.offset)
                _HELD.discard((self.path, self.offset))
            _unshare(self.path)
            self._opened = False


def held(db_path: Path, video: Path) -> bool:
    """Whether some indexer (another process, or this one) holds ``video``'s lock on the library at
    ``db_path`` now: a run left unfinished is being indexed, not interrupted. Asking takes the lock for
    an instant where it is free, and never releases one this process holds."""
    path, offset = _slot(db_path, video)
    with _GUARD:
        if (path, offset) in _HELD:
            return True
        fd = _share(path)
        if fd is None:
            return False
        try:
            free = _try_lock(fd, offset)
            if free:
                _unlock(fd, offset)
            return not free
        finally:
            _unshare(path)


def _slot(db_path: Path, video: Path) -> tuple[Path, int]:
    """The lock file of the library at ``db_path`` and the byte of ``video`` in it."""
    path = Path(os.path.realpath(db_path.with_name(f".{db_path.name}.indexing.lock")))  # one name per file
    return path, int(hashlib.sha256(os.fsencode(video)).hexdigest()[:15], 16) % SLOTS


# A process's locks on a file are all dropped when it closes any descriptor of that file (POSIX), so
# each lock file has one descriptor per process, shared by its locks and probes and closed only when
# the last of them is done; and since a process never conflicts with its own locks, the locks it holds
# are listed here. _GUARD serialises both (threads of the app index and probe at once).
_GUARD = threading.Lock()
_FILES: dict[Path, list[int]] = {}  # lock file -> [descriptor, users]
_HELD: set[tuple[Path, int]] = set()  # (lock file, offset) this process holds


def _share(path: Path) -> int | None:
    """This process's descriptor of the lock file (opened if it is not), one more user counted; None
    where it cannot be opened."""
    if path not in _FILES:
        try:
            _FILES[path] = [os.open(path, os.O_RDWR | os.O_CREAT, 0o644), 0]
        except OSError:
            return None
    _FILES[path][1] += 1
    return _FILES[path][0]


def _unshare(path: Path) -> None:
    entry = _FILES[path]
    entry[1] -= 1
    if entry[1] == 0:
        os.close(entry[0])
        del _FILES[path]


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
