"""A real PostgreSQL server for the tests, started in a temporary folder and stopped at the end.

Uses the server programs of the system's PostgreSQL package (Debian/Ubuntu ``postgresql``, which
``.ci/run`` installs): ``initdb`` a fresh cluster (trust authentication, listening on 127.0.0.1 only,
on a free port), ``pg_ctl start``, one new database per test. PostgreSQL refuses to run as root, so
under root (CI containers) the server runs as the package's ``postgres`` user.

Where there is no PostgreSQL (a developer's laptop), the tests that need it are skipped, unless
``SPOTTER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "spotter"


def server_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (the newest installed version), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One throw-away PostgreSQL cluster; ``new_database()`` gives a fresh database's URL."""

    def __init__(self) -> None:
        bindir = server_bin()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL server programs (initdb, pg_ctl) are not installed")
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="spotter-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            shutil.chown(self.folder, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )

    def _run(self, program: str, *args: str) -> None:
        p = subprocess.run([*self._as, str(self.bindir / program), *args], capture_output=True, text=True)
        if p.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {p.stderr[-2000:]}{log}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres") as c:
            c.autocommit = True
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
