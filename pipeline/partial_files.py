"""Files written whole or not at all: each is written under a temporary name in its own folder and
moved into place when finished, and what a killed writer left is removed by the next one.

A clip, a thumbnail, a summary or the search index's cache is first written to
``.spotter-part-<host>-<boot>-<pid>-<random><suffix>`` beside its target; a case report is built in
a folder named so, and renamed when whole. A process killed while writing (kill -9, a power cut, a
crash in FFmpeg) leaves that part behind: hidden, and for the index's cache of a large library
gigabytes. Every writer that makes a part in a folder first removes the parts there whose writer is
gone: made on this machine before it last started (a power cut: whatever process has the writer's
number now), or by a process that no longer runs. Another machine's parts on a shared folder cannot
be checked that way, and go when older than ``STALE_PART_S``. A part of a running export is never
touched: its process is alive. Parts named before 2026-12-03 (``.spotter-XXXXXXXX.mp4``,
``.spotter-index-XXXXXXXX``) carry no process, and go by age alone.

Two containers that share a host name and a folder but not their process numbers would each take
the other's parts for abandoned; Spotter's parts are not meant for that set-up.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

PART_PREFIX = ".spotter-part-"
# A part whose writer cannot be checked (another machine's, or named before parts named their
# writer) is left while younger than this: a writer on another machine may still be at work.
STALE_PART_S = 24 * 3600.0

_PART = re.compile(
    re.escape(PART_PREFIX)
    + r"(?P<host>[A-Za-z0-9.]+)-(?P<boot>[0-9a-f]{8})-(?P<pid>\d+)-[A-Za-z0-9_]+(\.\w+)?$"
)
# mkstemp's names of before: a clip, thumbnail or summary kept its suffix; the index's cache had none
_OLD_PART = re.compile(r"\.spotter-([a-z0-9_]{8}\.(mp4|jpg|json|csv)|index-[a-z0-9_]{8})$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", ".", socket.gethostname())[:40] or "host"


@functools.cache
def _boot() -> str:
    """This machine's boot, as 8 hex digits: a part of an earlier boot has lost its writer, whatever
    process now has its number (Linux names each boot; elsewhere, the time it began)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:8]
    except OSError:
        return f"{int(psutil.boot_time()) & 0xFFFFFFFF:08x}"


def new_part(folder: Path, suffix: str = "", directory: bool = False) -> Path:
    """A new, empty part file (or, with ``directory``, folder: a case report is built in one) in
    ``folder``, the leftovers of killed writers there removed first; the caller writes it, then moves
    it into place or removes it."""
    sweep_parts(folder)
    prefix = f"{PART_PREFIX}{_host()}-{_boot()}-{os.getpid()}-"
    if directory:
        return Path(tempfile.mkdtemp(dir=folder, prefix=prefix))
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    os.close(fd)
    return Path(name)


def public_mode(directory: bool = False) -> int:
    """The mode a new file (0644 usually) or, with ``directory``, folder (0755) gets from the user's
    umask: a part is private (``mkstemp`` 0600, ``mkdtemp`` 0700), which surprises whoever receives
    the evidence once it is in place."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def _abandoned(entry: os.DirEntry, now: float) -> bool:
    mine = _PART.match(entry.name)
    if mine is None and _OLD_PART.match(entry.name) is None:
        return False
    try:
        written = entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    if mine is not None and mine["host"] == _host():
        if mine["boot"] != _boot():  # made before this machine last started: its writer is gone
            return True
        pid = int(mine["pid"])
        return pid != os.getpid() and not psutil.pid_exists(pid)
    return now - written > STALE_PART_S


def sweep_parts(folder: Path) -> int:
    """Remove the parts in ``folder`` whose writer is gone (see the module's docstring); how many.
    Never raises: a folder that cannot be listed or a part that cannot be removed is left."""
    removed, now = 0, time.time()
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".spotter-")]
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_symlink() or not _abandoned(entry, now):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)  # a report built there
            else:
                os.unlink(entry.path)
            removed += 1
            log.info("removed %s, left by a writer that was stopped", entry.path)
        except OSError as e:
            log.debug("cannot remove %s: %s", entry.path, e)
    return removed
