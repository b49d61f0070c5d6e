"""A warm search process for scripts: ``main.py serve`` keeps one library open, its models loaded and
its vector index in memory, and ``main.py search`` on that library hands its command line to it
instead of starting the engine itself.

Why: a fresh ``main.py search`` spends most of its time before it searches: Python's imports
(SQLAlchemy, NumPy, OpenCV, ONNX Runtime, FAISS: about 0.45 s), two ONNX sessions and the vector
index (``python -m bench.cli_search``). A search that finds a service imports only the standard
library and this module, sends its arguments, working folder and environment, and prints the answer:
the same output, messages and exit status as searching itself, because the service runs the same
command (:func:`pipeline.cli.search_cmd.cmd_search`) with the same parser. A search runs in its own
process as before when no service runs, when the service cannot be reached or is busy for longer
than ``QUEUE_TIMEOUT_S``, when it runs other Spotter code or another environment (``TZ``,
``SPOTTER_*``), and always with ``search --no-service``.

How a search and a service reach each other, and why that way: :mod:`pipeline.cli.service_channel`.
"""

from __future__ import annotations

import argparse
import hmac
import io
import json
import logging
import os
import secrets
import socket
from collections import OrderedDict
from collections.abc import Callable
from contextlib import ExitStack, redirect_stderr, redirect_stdout, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.errors import SpotterError, first_line
from pipeline.cli import LOG_FORMAT
from pipeline.cli.console import err
from pipeline.cli.service_channel import (
    MAX_REPLY_BYTES,
    MAX_REQUEST_BYTES,
    PROTOCOL,
    ServiceError,
    ServiceLock,
    code_identity,
    endpoint,
    library_url,
    proof,
    read_info,
    recv_message,
    search_environment,
    send_message,
)

if TYPE_CHECKING:
    from models.loader import ModelSet
    from pipeline.search import SearchConfig, Searcher

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
"""How long a search waits to connect to the service's port."""
QUEUE_TIMEOUT_S = 10.0
"""How long a search waits for the service to take it up (it answers one search at a time) before
searching in its own process; nothing has run in the service by then."""
REPLY_TIMEOUT_S = 600.0
"""How long a search waits for the answer once the service has its request; past it the search
fails (exit 2) instead of running a second time here while the service may still be at it."""
REQUEST_TIMEOUT_S = 10.0
"""How long the service waits on a connected client (its proof, its request, taking the answer)."""
BACKLOG = 64
"""Searches that may wait to be taken up while the service answers one."""
MAX_WARM_SEARCHERS = 4
"""Searchers (each with its vector index) kept warm at once, for different models or settings."""


# ----- the search's side -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the command printed and its exit status."""

    code: int
    stdout: str
    stderr: str


class _NotForwardableError(Exception):
    pass


class _PreParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # the real parser will say it, in its own words
        raise _NotForwardableError(message)


def search_db(argv: list[str]) -> tuple[bool, str | None]:
    """(may a service answer this command line, its ``--db``), read without the full parser (whose
    option types import the engine). The service parses it again for real and refuses a search of
    another library, so a misreading here costs a search in its own process, never a wrong answer."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):  # options before the command
        i += 2 if argv[i] in ("--db", "--ray") else 1
    if i >= len(argv) or argv[i] != "search" or any(t in ("-h", "--help") for t in argv[:i]):
        return False, None
    pre = _PreParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--db", default=None)
    pre.add_argument("-h", "--help", action="store_true")
    try:
        known, _ = pre.parse_known_args(argv[i + 1 :])
    except _NotForwardableError:
        return False, None
    if known.help or any(t.startswith("--no-s") for t in argv[i + 1 :]):  # --no-service, abbreviated or not
        return False, None
    return True, known.db


def forward_search(argv: list[str]) -> Reply | None:
    """The answer of a running search service to ``main.py`` with these arguments; None when they are
    not a search, or the search should run in this process (see the module docstring)."""
    forwardable, db = search_db(argv)
    if not forwardable:
        return None
    try:
        info = read_info(endpoint(db, create=False).info_file)
        port, key, pid = info.port, info.key, info.pid
        same_code = info.code == code_identity()
        cwd = os.getcwd()
    except (OSError, ValueError, KeyError, TypeError, SpotterError):
        return None  # no service (or none readable) for this library
    if not same_code:
        log.warning("the search service of this library (process %d) runs other Spotter code: searching "
                    "here (restart it: main.py serve)", pid)  # fmt: skip
        return None
    request = {"argv": argv, "cwd": cwd, "env": search_environment()}
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT_S)
    except OSError:
        return None  # it was killed: its file outlives it until the next service starts
    with sock:
        try:
            sock.settimeout(QUEUE_TIMEOUT_S)
            hello = recv_message(sock, 64)
            if not hello.startswith(PROTOCOL):
                return None
            mine = secrets.token_bytes(32)
            send_message(sock, proof(key, b"client", hello[len(PROTOCOL) :]) + mine)
            if not hmac.compare_digest(recv_message(sock, 64), proof(key, b"service", mine)):
                log.warning("the program at the search service's port is not the service: searching here")
                return None
            send_message(sock, json.dumps(request).encode())
        except (OSError, EOFError, ValueError) as e:  # busy, stopped or gone: nothing ran there
            log.debug("the search service did not take the search (%s): searching here", first_line(e))
            return None
        sock.settimeout(REPLY_TIMEOUT_S)
        try:
            reply = json.loads(recv_message(sock, MAX_REPLY_BYTES))
        except TimeoutError as e:
            raise ServiceError(
                f"the search service (process {pid}) did not answer in {REPLY_TIMEOUT_S:.0f} s and may still "
                "be searching: see its log, or search with --no-service"
            ) from e
        except (OSError, EOFError, ValueError) as e:  # it died during the search: search here
            log.warning("the search service (process %d) failed during the search (%s): searching here",
                        pid, first_line(e))  # fmt: skip
            return None
    if "refused" in reply:
        log.debug("the search service refused: %s; searching here", reply["refused"])
        return None
    return Reply(int(reply["code"]), str(reply["stdout"]), str(reply["stderr"]))


# ----- the service's side ----------------------------------------------------------------------


class WarmSearch:
    """The library, models and searchers a service keeps from one search to the next."""

    def __init__(self, url: str):
        self.url = url  # absolute: a replaced library is reopened from the same place
        self._open()

    def _open(self) -> None:
        from pipeline.storage import Library

        self.library = Library(self.url)
        self._identity = self._file_identity()
        self._models: OrderedDict[Any, ModelSet] = OrderedDict()
        self._searchers: OrderedDict[tuple[Any, SearchConfig], Searcher] = OrderedDict()

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
        deleted and created again): the open connection would go on reading the old file."""
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
        self._models.move_to_end(cfg)
        while len(self._models) > MAX_WARM_SEARCHERS:
            self._models.popitem(last=False)
        return self._models[cfg]

    def searcher(self, models: ModelSet, config: SearchConfig) -> Searcher:
        from pipeline.search import Searcher

        key = (models.config, config)
        if key not in self._searchers or self._searchers[key].models is not models:
            self._searchers[key] = Searcher(self.library, models, config)
        self._searchers.move_to_end(key)
        while len(self._searchers) > MAX_WARM_SEARCHERS:
            self._searchers.popitem(last=False)
        return self._searchers[key]


class SearchService:
    """Answers ``main.py search`` command lines on one library with warm models and index."""

    def __init__(self, db: str | None, parse: Callable[[list[str]], argparse.Namespace]):
        self.parse = parse
        self.url = library_url(db)
        self.endpoint = endpoint(self.url)
        self.environment = search_environment()
        self.warm = WarmSearch(self.url)
        self.served = 0

    def serve(self, listening: Callable[[], None]) -> None:
        """Answer searches until interrupted (KeyboardInterrupt); ``listening`` runs once the library
        is this service's (searches that arrive meanwhile wait for it)."""
        with ExitStack() as held:
            held.enter_context(ServiceLock(self.endpoint.lock_file, self._holder))
            if self.endpoint.file_lock is not None:  # the same file by another name (a hard link)
                held.enter_context(ServiceLock(self.endpoint.file_lock, self._holder))
            server = socket.create_server(("127.0.0.1", 0), backlog=BACKLOG)
            key = secrets.token_bytes(32)
            try:
                self._publish(server.getsockname()[1], key)
                listening()
                while True:
                    conn, _ = server.accept()
                    with conn:
                        self._answer_connection(conn, key)
            finally:
                server.close()
                self._unpublish(key)

    def _holder(self) -> str:
        try:
            return f"process {read_info(self.endpoint.info_file).pid}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def _publish(self, port: int, key: bytes) -> None:
        info = {
            "port": port,
            "key": key.hex(),
            "pid": os.getpid(),
            "code": code_identity(),
        }
        part = self.endpoint.info_file.with_suffix(".part")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
            os.replace(part, self.endpoint.info_file)  # searches never read half of it
        except OSError as e:  # a full disk, say
            raise ServiceError(f"cannot write {self.endpoint.info_file}: {first_line(e)}") from e

    def _unpublish(self, key: bytes) -> None:
        try:
            if json.loads(self.endpoint.info_file.read_text()).get("key") == key.hex():  # still ours
                self.endpoint.info_file.unlink()
        except (OSError, ValueError):
            pass

    def _answer_connection(self, conn: socket.socket, key: bytes) -> None:
        try:
            conn.settimeout(REQUEST_TIMEOUT_S)
            challenge = secrets.token_bytes(32)
            send_message(conn, PROTOCOL + challenge)
            said = recv_message(conn, 64)
            if not hmac.compare_digest(said[:32], proof(key, b"client", challenge)):
                log.warning("refused a connection: it does not hold the key")
                return
            send_message(conn, proof(key, b"service", said[32:]))
            try:
                request = json.loads(recv_message(conn, MAX_REQUEST_BYTES))
                argv, cwd = [str(a) for a in request["argv"]], str(request["cwd"])
                env = {str(k): str(v) for k, v in dict(request.get("env", {})).items()}
            except (ValueError, KeyError, TypeError) as e:
                log.warning("refused a connection: unreadable request (%s)", first_line(e))
                reply: dict[str, Any] = {"refused": f"unreadable request ({first_line(e)})"}
            else:
                reply = self.answer(argv, cwd, env)
            send_message(conn, json.dumps(reply).encode())
        except (
            Exception
        ) as e:  # a client that vanished or stalled, or a fault here: never the end of the service
            log.warning("a search connection failed: %s", first_line(e))

    def answer(self, argv: list[str], cwd: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        """What ``main.py`` with ``argv``, run in ``cwd`` (with ``env``), prints and returns; "refused"
        with a reason for one this service does not answer (the caller then searches itself)."""
        from pipeline.cli.common import existing_library
        from pipeline.cli.search_cmd import cmd_search

        if env is not None and env != self.environment:
            differ = sorted(
                k for k in set(env) | set(self.environment) if env.get(k) != self.environment.get(k)
            )
            return {"refused": f"another environment ({', '.join(differ)})"}
        try:
            here: str | None = os.getcwd()
        except OSError:  # the folder the service was started in is gone: it does not need it
            here = None
        try:
            os.chdir(cwd)  # relative paths are the caller's
        except OSError as e:
            return {"refused": f"cannot work in {cwd} ({first_line(e)})"}
        stdout, stderr = io.StringIO(), io.StringIO()  # what the search writes, for the caller
        root = logging.getLogger()
        handler, level = logging.StreamHandler(stderr), root.level
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        try:
            with redirect_stdout(stdout), redirect_stderr(stderr):
                try:
                    args = self.parse(argv)
                except SystemExit as e:  # a usage error or --help: as the parser printed it
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
                    return {"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}
                try:
                    if args.command != "search" or args.no_service or library_url(args.db) != self.url:
                        return {"refused": "not a search of this service's library"}
                except SpotterError as e:
                    return {"refused": first_line(e)}
                handler.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
                root.addHandler(handler)
                if level > handler.level:  # NOTSET (0) lets everything through already
                    root.setLevel(handler.level)
                try:
                    # a library file removed or emptied since is refused as a search of its own
                    # refuses it: reopened, SQLite would make an empty library there and answer from it
                    existing_library(args)
                    self.warm.fresh()
                    code = cmd_search(args, self.warm)
                except SpotterError as e:
                    err(f"error: {e}")
                    code = 2
                except Exception as e:  # a fault of this service must not end it: say so, keep serving
                    log.exception("a search failed")
                    err(f"error: the search service failed: {first_line(e)} (see its log)")
                    code = 1
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
            if here is not None:
                with suppress(OSError):
                    os.chdir(here)
        self.served += 1
        return {"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}
