"""How a search and the search service reach each other (see :mod:`pipeline.cli.search_service`).

As Jupyter kernels do it: a TCP socket on the loopback interface, found through an information file
(port, key, process, code identity) that only the user can read, in a folder only the user can open;
both sides prove they hold the key (HMAC-SHA256 over the other side's random challenge) before
anything else is said, so another account on the machine can neither search a library through a
service nor pose as one and read a caller's arguments. Messages are length-prefixed JSON, never
pickle. Written here rather than with ``multiprocessing.connection``, whose handshake waits without
a timeout: one silent client (or a stopped service) would hang every search. One service per library
and user, held by a lock file the system releases when the service dies: a second is refused, and a
killed one leaves nothing that stops the next.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import stat
import struct
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from models.errors import SpotterError, first_line

MAX_REQUEST_BYTES = 1 << 20
"""Largest request a service reads (a command line, a folder name, a few variables)."""
MAX_REPLY_BYTES = 1 << 30
"""Largest answer a search reads (a million hits as JSON is about 300 MB)."""
PROTOCOL = b"spotter-search-1:"
"""Opens a service's first message: another protocol (another Spotter) is not spoken to."""


class ServiceError(SpotterError):
    """The search service cannot start or answer (another one serves the library, the runtime folder
    is not private, the service failed during a search)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the service of one library says how to reach it, and the locks it holds while it runs:
    one by the library's name (its URL) and, for an SQLite file, one by the file itself (its device
    and inode), so that a hard link to the file, or a spelling of its path that resolving does not
    make the same (a case-insensitive disk, a bind mount), is the same library to the lock."""

    info_file: Path
    lock_file: Path
    file_lock: Path | None = None


def runtime_dir(create: bool = True) -> Path:
    """The user's private folder for service files: created readable by the user alone (``create``;
    a search only looks), and refused if it is a link or anyone else can open it."""
    if os.name == "nt":
        folder = Path(tempfile.gettempdir()) / "spotter-services"  # %TEMP% is the user's own
    elif os.environ.get("XDG_RUNTIME_DIR"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "spotter"
    else:
        folder = Path(tempfile.gettempdir()) / f"spotter-{os.getuid()}"
    if create:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise ServiceError(f"cannot create {folder}: {first_line(e)}") from e
    if os.name != "nt" and os.path.lexists(folder):
        st = folder.lstat()
        if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise ServiceError(f"{folder} is not private to this user: no search service is used")
    return folder


def library_url(db: str | None) -> str:
    """The library's location, the same whatever folder ``db`` was named from (None: the default)."""
    from pipeline.storage.location import default_db_path, locate

    return locate(db or default_db_path()).url


def endpoint(db: str | None, create: bool = True) -> Endpoint:
    """The files of the search service for the library ``db``; ``create``: make the runtime folder
    if it is not there (a service does, a search does not)."""
    folder = runtime_dir(create)
    name = hashlib.sha256(library_url(db).encode()).hexdigest()[:20]
    same = file_identity(db)
    file_lock = (
        None if same is None else folder / f"file-{hashlib.sha256(same.encode()).hexdigest()[:20]}.lock"
    )
    return Endpoint(folder / f"{name}.json", folder / f"{name}.lock", file_lock)


def file_identity(db: str | None) -> str | None:
    """The SQLite file ``db`` names, as the system knows it (device and inode: the same through any
    hard link or path); None for a server library, or a file that is not there."""
    from pipeline.storage.location import default_db_path, locate

    path = locate(db or default_db_path()).path
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}"


@dataclass(frozen=True)
class ServiceInfo:
    """What a running service publishes in its information file: how to reach it and who it is."""

    port: int
    key: bytes
    pid: int
    code: str


def read_info(path: Path) -> ServiceInfo:
    """The information a service published at ``path`` (OSError, ValueError, KeyError or TypeError
    where there is none, or it is not readable)."""
    info = json.loads(path.read_text())
    return ServiceInfo(int(info["port"]), bytes.fromhex(info["key"]), int(info["pid"]), str(info.get("code")))


def code_identity() -> str:
    """Which Spotter code runs here: the engine's source files (names, sizes, modification times).
    A service started before an upgrade answers with the old code, so a search compares this."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in ("pipeline", "models"):
        for path in sorted((root / package).rglob("*.py")):
            st = path.stat()
            digest.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def search_environment() -> dict[str, str]:
    """The environment variables that change a search's answer: the clock's time zone (``--from``,
    ``--to``) and Spotter's own (``SPOTTER_MODELS``, ...)."""
    return {k: v for k, v in sorted(os.environ.items()) if k == "TZ" or k.startswith("SPOTTER_")}


# ----- messages --------------------------------------------------------------------------------


def send_message(sock: socket.socket, data: bytes) -> None:
    """One message: its length (4 bytes, big-endian), then its bytes."""
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_message(sock: socket.socket, limit: int) -> bytes:
    """The next message (at most ``limit`` bytes: a longer one is a ValueError)."""
    (size,) = struct.unpack(">I", _exactly(sock, 4))
    if size > limit:
        raise ValueError(f"a message of {size} bytes, more than {limit}")
    return _exactly(sock, size)


def _exactly(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(min(size - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("the connection was closed")
        buf += chunk
    return bytes(buf)


def proof(key: bytes, role: bytes, challenge: bytes) -> bytes:
    """That the sender (``role``) holds ``key``: HMAC-SHA256 of the other side's ``challenge``."""
    return hmac.new(key, role + challenge, hashlib.sha256).digest()


class ServiceLock:
    """An exclusive lock on a file for as long as a service runs (released by the system if it is
    killed); a second service of the library is refused with who holds it (the process number the
    holder wrote into the file, else ``holder()``)."""

    def __init__(self, path: Path, holder: Callable[[], str]):
        self.path, self.holder = path, holder
        self._fd: int | None = None

    def __enter__(self) -> ServiceLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise ServiceError(f"cannot create {self.path}: {first_line(e)}") from e
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            try:
                held_by = f"process {int(os.read(fd, 32).decode())}"
            except (OSError, ValueError):  # not written yet, or (Windows) the holder's locked byte
                held_by = self.holder()
            os.close(fd)
            raise ServiceError(f"a search service for this library is already running ({held_by})") from e
        with suppress(OSError):  # who holds it, for the next one refused (the lock stands without it)
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None
