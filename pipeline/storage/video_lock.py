"""One indexer per video: a second ``index`` of the same video and library (another terminal, the app
and a script) skips it with a message instead of colliding in the database.

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


class VideoLock:
    """Non-blocking lock on (library, video); ``acquired`` says whether this process holds it."""

    def __init__(self, db_path: Path, video: Path):
        self.path = db_path.with_name(f".{db_path.name}.indexing.lock")
        self.offset = int(hashlib.sha256(str(video).encode()).hexdigest()[:15], 16) % SLOTS
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
