"""A warm search process for scripts: ``main.py serve`` keeps one library open, its models loaded and
its vector index in memory, and ``main.py search`` on that library hands its command line to it
instead of starting the engine itself.

Why: a fresh ``main.py search`` spends most of its time before it searches: Python's imports
(SQLAlchemy, NumPy, OpenCV, ONNX Runtime, FAISS: about 0.45 s), two ONNX sessions and the vector
index (``python -m bench.cli_search``). A search that finds a service imports only the standard
library and this module, sends its arguments and working folder, and prints the answer: the same
output, messages and exit status as searching itself, because the service runs the same command
(:func:`pipeline.cli.search_cmd.cmd_search`) with the same parser. Without a service, or when it
cannot be reached, the search runs in the calling process as before (``search --no-service`` always
does).

Transport: :mod:`multiprocessing.connection` from the standard library: a Unix socket in a folder
only the user can open (a named pipe on Windows) and an HMAC challenge with a random key the service
writes to a file only the user can read, so another account on the machine can neither search the
library through the service nor send it anything. Messages are JSON, never pickle.

One service per library and user: its address is derived from the library's location (the SQLite
file's absolute path or the server URL), so ``search --db X`` reaches the service of X and no other.
A service answers one search at a time, in order of arrival.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import secrets
import socket
import stat
import sys
import tempfile
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import SpotterError, first_line
from pipeline.cli import LOG_FORMAT

if TYPE_CHECKING:
    from models.loader import ModelSet
    from pipeline.search import SearchConfig, Searcher

log = logging.getLogger(__name__)

REPLY_TIMEOUT_S = 120.0
"""How long a search waits for the service's answer before searching in its own process (the service
is busy with other searches, or hangs)."""
REQUEST_TIMEOUT_S = 10.0
"""How long the service waits for a connected client's request before serving the next one."""
MAX_REQUEST_BYTES = 1 << 20
"""Largest request the service reads (a command line and a folder name)."""


class ServiceError(SpotterError):
    """The search service cannot start (another one serves the library, the runtime folder is not
    private)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the service of one library listens, and the file holding its key."""

    address: str
    family: str  # "AF_UNIX" or "AF_PIPE" (Windows)
    key_file: Path


def runtime_dir(create: bool = True) -> Path:
    """The user's private folder for service sockets and keys: created readable by the user alone
    (``create``; a search only looks), and refused if it is a link or anyone else can open it."""
    if os.name == "nt":
        folder = Path(tempfile.gettempdir()) / "spotter-services"  # %TEMP% is per user
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


def endpoint(db: str | None, create: bool = True) -> Endpoint:
    """The address of the search service for the library ``db`` (None: the default library);
    ``create``: make the runtime folder if it is not there (a service does, a search does not)."""
    from pipeline.storage.location import default_db_path, locate

    url = locate(db or default_db_path()).url
    folder = runtime_dir(create)
    name = hashlib.sha256(f"{folder}\n{url}".encode()).hexdigest()[:20]  # per user and library
    if os.name == "nt":
        return Endpoint(rf"\\.\pipe\spotter-{name}", "AF_PIPE", folder / f"{name}.key")
    return Endpoint(str(folder / f"{name}.sock"), "AF_UNIX", folder / f"{name}.key")


@dataclass(frozen=True)
class Reply:
    """What the command printed and its exit status."""

    code: int
    stdout: str
    stderr: str


def _search_db(argv: list[str]) -> tuple[bool, str | None]:
    """(is this a search a service may answer, its --db) read from the command line without the full
    parser (whose option types import the engine). The service parses it again for real and refuses
    a search of another library, so a misreading here costs a fallback, never a wrong answer."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):  # options before the command
        i += 2 if argv[i] in ("--db", "--ray") else 1
    if i >= len(argv) or argv[i] != "search":
        return False, None
    rest = argv[i + 1 :]
    if any(t in ("-h", "--help", "--no-service") for t in rest):
        return False, None
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--db", default=None)
    known, _ = pre.parse_known_args(rest)
    return True, known.db


def forward_search(argv: list[str]) -> Reply | None:
    """The answer of a running search service to ``main.py`` with these arguments; None when they are
    not a search, no service serves the library, or it cannot be reached (the caller searches)."""
    is_search, db = _search_db(argv)
    if not is_search:
        return None
    try:
        where = endpoint(db, create=False)
        if not where.key_file.is_file():
            return None
        with Client(where.address, where.family, authkey=where.key_file.read_bytes()) as conn:
            conn.send_bytes(json.dumps({"argv": argv, "cwd": os.getcwd()}).encode())
            if not conn.poll(REPLY_TIMEOUT_S):
                log.warning("the search service did not answer in %.0f s; searching here", REPLY_TIMEOUT_S)
                return None
            reply = json.loads(conn.recv_bytes())
    except (OSError, EOFError, AuthenticationError, ValueError, SpotterError) as e:
        log.debug("no search service answered (%s); searching here", first_line(e))
        return None
    if "refused" in reply:
        log.debug("the search service refused: %s; searching here", reply["refused"])
        return None
    return Reply(int(reply["code"]), str(reply["stdout"]), str(reply["stderr"]))


class WarmSearch:
    """The library, models and searchers a service keeps from one search to the next."""

    def __init__(self, db: str | None):
        self.db = db
        self._open()

    def _open(self) -> None:
        from pipeline.storage import Library, default_db_path

        self.library = Library(self.db or default_db_path())
        self._identity = self._file_identity()
        self._models: dict[Any, ModelSet] = {}
        self._searchers: dict[tuple[int, SearchConfig], Searcher] = {}

    def _file_identity(self) -> tuple[int, int] | None:
        path = self.library.location.path
        if path is None:
            return None
        try:
            st = path.stat()
        except FileNotFoundError:
            return (-1, -1)
        return st.st_dev, st.st_ino

    def fresh(self) -> None:
        """Reopen the library when its file was replaced since it was opened (restored from a backup,
        deleted and created again): the open connection would still read the old file."""
        if self._file_identity() != self._identity:
            log.info("%s was replaced: opening it again", self.library.where)
            self.library.close()
            self._open()

    def models(self, args: argparse.Namespace) -> ModelSet:
        from models.loader import ModelSet
        from pipeline.cli.common import model_config

        cfg = model_config(args, library=self.library)
        if cfg not in self._models:
            self._models[cfg] = ModelSet(cfg)
        return self._models[cfg]

    def searcher(self, models: ModelSet, config: SearchConfig) -> Searcher:
        from pipeline.search import Searcher

        key = (id(models), config)
        if key not in self._searchers:
            self._searchers[key] = Searcher(self.library, models, config)
        return self._searchers[key]


class SearchService:
    """Answers ``main.py search`` command lines on one library with warm models and index."""

    def __init__(self, db: str | None, parse: Callable[[list[str]], argparse.Namespace]):
        from pipeline.storage.location import default_db_path, locate

        self.db, self.parse = db, parse
        self.url = locate(db or default_db_path()).url
        self.endpoint = endpoint(db)
        self.warm = WarmSearch(db)
        self.served = 0

    def serve(self, listening: Callable[[], None]) -> None:
        """Answer searches until interrupted (KeyboardInterrupt); removes its socket and key at the end.
        ``listening`` runs once the address is taken (searches that arrive meanwhile wait for it)."""
        listener = self._listen()
        try:
            listening()
            while True:
                try:
                    conn = listener.accept()
                except (AuthenticationError, EOFError, OSError) as e:
                    log.warning("refused a connection: %s", first_line(e))
                    continue
                with conn:
                    self._answer_connection(conn)
        finally:
            listener.close()
            self.endpoint.key_file.unlink(missing_ok=True)

    def _listen(self) -> Listener:
        where = self.endpoint
        if where.family == "AF_UNIX" and os.path.exists(where.address):
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(where.address)
            except OSError:  # nobody listens: left by a service that was killed
                os.unlink(where.address)
            else:
                raise ServiceError(
                    f"a search service for {self.warm.library.where} is already running ({where.address})"
                )
            finally:
                probe.close()
        key = secrets.token_bytes(32)
        try:
            listener = Listener(where.address, where.family, authkey=key)
        except OSError as e:
            raise ServiceError(f"cannot listen at {where.address}: {first_line(e)}") from e
        part = where.key_file.with_suffix(".part")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            os.replace(part, where.key_file)  # clients never read half a key
        except OSError as e:  # a full disk, say
            listener.close()
            raise ServiceError(f"cannot write the service's key {where.key_file}: {first_line(e)}") from e
        return listener

    def _answer_connection(self, conn: Connection) -> None:
        try:
            if not conn.poll(REQUEST_TIMEOUT_S):
                return
            request = json.loads(conn.recv_bytes(MAX_REQUEST_BYTES))
            argv, cwd = [str(a) for a in request["argv"]], str(request["cwd"])
        except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
            reply: dict[str, Any] = {"refused": f"unreadable request ({first_line(e)})"}
        else:
            reply = self.answer(argv, cwd)
        try:
            conn.send_bytes(json.dumps(reply).encode())
        except OSError:
            log.info("a client left before its answer")

    def answer(self, argv: list[str], cwd: str) -> dict[str, Any]:
        """What ``main.py`` with ``argv``, run in ``cwd``, prints and returns ("refused" with a reason
        for a command line this service does not answer: the client then searches itself)."""
        from pipeline.cli.search_cmd import cmd_search
        from pipeline.storage.location import default_db_path, locate

        out, err = io.StringIO(), io.StringIO()
        here = os.getcwd()
        try:
            os.chdir(cwd)
        except OSError as e:
            return {"refused": f"cannot work in {cwd} ({first_line(e)})"}
        root = logging.getLogger()
        handler, level = logging.StreamHandler(err), root.level
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        try:
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    args = self.parse(argv)
                except SystemExit as e:  # a usage error or --help: as the parser printed it
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
                    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
                try:
                    if args.command != "search" or locate(args.db or default_db_path()).url != self.url:
                        return {"refused": "not a search of this service's library"}
                except SpotterError as e:
                    return {"refused": first_line(e)}
                handler.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
                root.addHandler(handler)
                if level > handler.level:  # NOTSET (0) lets everything through already
                    root.setLevel(handler.level)
                try:
                    self.warm.fresh()
                    code = cmd_search(args, self.warm)
                except SpotterError as e:
                    print(f"error: {e}", file=sys.stderr)
                    code = 2
                except Exception as e:  # a fault of this service must not end it: say so, keep serving
                    log.exception("search %s failed", argv)
                    print(f"error: the search service failed: {first_line(e)} (see its log)", file=sys.stderr)
                    code = 1
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
            os.chdir(here)
        self.served += 1
        return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
