"""The warm search service (``main.py serve``): searches of its library answered by it, the same as in
their own process; everything else (no service, a killed one, a stranger) falls back or is refused."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client
from pathlib import Path

import pytest

from tests.conftest import ROOT, copy_library, tud
from tests.test_cli import gt_crop

READY = "serving searches of"


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private runtime folder for this test's services (never the user's own)."""
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


def spotter(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def start_service(db: Path) -> subprocess.Popen:
    """``main.py serve --db DB``, returned once it says it serves (its models loaded, index built)."""
    proc = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--db", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    said = []
    while sel.select(timeout=180):
        line = proc.stderr.readline()
        said.append(line)
        if READY in line or not line:
            break
    sel.close()
    assert READY in "".join(said), f"the service did not start: {''.join(said)}"
    return proc


def stop_service(proc: subprocess.Popen) -> str:
    """SIGTERM, as a service manager stops it; its remaining log."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return err


def search(db: Path | str, query: Path | str, *more: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return spotter("search", "--db", str(db), "--query", str(query), *more, cwd=cwd)


def hits_of(p: subprocess.CompletedProcess) -> list[tuple]:
    assert p.returncode == 0, p.stderr
    hits = json.loads(p.stdout)["hits"]
    return [(h["video"], h["track_id"], round(h["score"], 5), h["start_frame"]) for h in hits]


@pytest.fixture
def library(tmp_path: Path, indexed) -> Path:
    return copy_library(indexed.db_path, tmp_path / "lib.db")


def test_the_service_answers_searches_as_their_own_process_would(
    tmp_path: Path, runtime: Path, library: Path, frame_of
) -> None:
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    alone = search(library, query, "--json")  # no service yet
    proc = start_service(library)
    try:
        # the socket and key are the user's alone
        (sock,) = runtime.glob("spotter/*.sock")
        (key,) = runtime.glob("spotter/*.key")
        assert (runtime / "spotter").stat().st_mode & 0o777 == 0o700 and key.stat().st_mode & 0o777 == 0o600
        served = search(library, query, "--json")
        assert hits_of(served) == hits_of(alone) and hits_of(served)
        assert json.loads(served.stdout)["query"] == str(query)
        # relative paths are the caller's: the service works in the caller's folder
        relative = search("lib.db", query.name, "--json", cwd=tmp_path)
        assert hits_of(relative) == hits_of(alone)
        # errors and usage errors come back as the caller would have printed them, with their status
        unknown = search(library, query, "--video", "nowhere.mp4")
        assert unknown.returncode == 2
        assert unknown.stderr.startswith("error: nowhere.mp4 is not in the library")
        usage = search(library, query, "--threshold", "5")
        assert usage.returncode == 2 and "--threshold: must be a number from 0 to 1" in usage.stderr
        # the caller of a served search loads no engine (that is what makes it fast)
        argv = ["main.py", "search", "--db", str(library), "--query", str(query)]
        probe = subprocess.run(
            [sys.executable, "-X", "importtime", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert probe.returncode == 0 and "hits" in probe.stdout
        assert not {"numpy", "sqlalchemy", "cv2", "onnxruntime"} & set(imports(probe.stderr))
        # another library is not this service's: searched in its own process
        other = copy_library(library, tmp_path / "other.db")
        assert hits_of(search(other, query, "--json")) == hits_of(alone)
        forced = search(library, query, "--json", "--no-service")
        assert hits_of(forced) == hits_of(alone)
    finally:
        log = stop_service(proc)
    assert "stopped after 4 searches" in log  # served, relative, unknown video, -X importtime (a usage
    # error is the parser's answer, not a search)
    assert not sock.exists() and not key.exists()


def imports(importtime_log: str) -> list[str]:
    return [line.split("|")[-1].strip().split(".")[0] for line in importtime_log.splitlines() if "|" in line]


def test_a_killed_service_leaves_search_working_and_a_new_one_can_start(
    tmp_path: Path, runtime: Path, library: Path, frame_of
) -> None:
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    proc = start_service(library)
    served = search(library, query, "--json")
    proc.kill()  # kill -9: its socket and key stay behind
    proc.wait(timeout=60)
    assert list(runtime.glob("spotter/*.sock"))
    after = search(library, query, "--json")
    assert hits_of(after) == hits_of(served) and not after.stderr
    again = start_service(library)
    try:
        second = spotter("serve", "--db", str(library))
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1].startswith(f"error: a search service for {library}")
        assert hits_of(search(library, query, "--json")) == hits_of(served)
    finally:
        log = stop_service(again)
    assert "stopped after 1 searches" in log


def test_the_service_refuses_strangers_and_bad_requests_and_keeps_serving(
    tmp_path: Path, runtime: Path, library: Path, frame_of
) -> None:
    from pipeline.cli.search_service import endpoint

    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    proc = start_service(library)
    try:
        where = endpoint(str(library))
        with pytest.raises(AuthenticationError):
            Client(where.address, where.family, authkey=b"not the key")
        with Client(where.address, where.family, authkey=where.key_file.read_bytes()) as conn:
            conn.send_bytes(b"\x80\x04not json")  # a pickle's opening bytes: never unpickled
            assert "refused" in json.loads(conn.recv_bytes())
        with Client(where.address, where.family, authkey=where.key_file.read_bytes()) as conn:
            conn.send_bytes(json.dumps({"argv": ["index", str(query)], "cwd": str(tmp_path)}).encode())
            assert "refused" in json.loads(conn.recv_bytes())  # only searches are answered
        ok = search(library, query, "--json")
        assert hits_of(ok)
    finally:
        log = stop_service(proc)
    assert "stopped after 1 searches" in log and "refused a connection" in log


def test_a_library_replaced_under_the_service_is_opened_again(
    tmp_path: Path, runtime: Path, library: Path, frame_of
) -> None:
    from pipeline.cli.parser import build_parser
    from pipeline.cli.search_service import SearchService
    from pipeline.storage import Library

    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    service = SearchService(str(library), build_parser("").parse_args)
    argv = ["search", "--db", str(library), "--query", str(query), "--json"]
    before = service.answer(argv, str(tmp_path))
    assert before["code"] == 0 and json.loads(before["stdout"])["hits"]
    for p in tmp_path.glob("lib.db*"):  # restored from an empty backup, say
        p.unlink()
    Library(library).close()
    after = service.answer(argv, str(tmp_path))
    assert after["code"] == 0 and json.loads(after["stdout"])["hits"] == []
    service.warm.library.close()


def test_only_searches_look_for_a_service(tmp_path: Path, runtime: Path) -> None:
    from pipeline.cli.search_service import forward_search

    db = str(tmp_path / "lib.db")
    assert forward_search(["search", "--db", db, "--query", "x.jpg"]) is None
    assert forward_search(["index", "x.mp4"]) is None
    assert forward_search(["--db", db, "search", "--help"]) is None


def test_a_search_without_a_service_leaves_no_trace(tmp_path: Path, runtime: Path) -> None:
    from pipeline.cli.search_service import forward_search

    assert forward_search(["search", "--db", str(tmp_path / "lib.db"), "--query", "x.jpg"]) is None
    assert not (runtime / "spotter").exists()  # looking for a service creates nothing


def test_a_runtime_folder_others_can_open_is_not_trusted(tmp_path: Path, runtime: Path) -> None:
    from pipeline.cli.search_service import ServiceError, endpoint

    (runtime / "spotter").mkdir(mode=0o777)
    (runtime / "spotter").chmod(0o777)
    with pytest.raises(ServiceError, match="not private"):
        endpoint(str(tmp_path / "lib.db"))
    (runtime / "spotter").rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (runtime / "spotter").symlink_to(tmp_path / "elsewhere")  # a link planted where the folder goes
    with pytest.raises(ServiceError, match="not private"):
        endpoint(str(tmp_path / "lib.db"))
    served = spotter("serve", "--db", str(tmp_path / "lib.db"))
    assert served.returncode == 2 and served.stderr.strip().endswith("no search service is used")
