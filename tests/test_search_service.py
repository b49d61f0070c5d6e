"""The warm search service (``main.py serve``): searches of its library answered by it, the same as in
their own process; everything else (no service, a killed one, a stranger) falls back or is refused."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.storage import Library
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


def start_service(db: Path, log: Path, *env: str) -> subprocess.Popen:
    """``main.py serve --db DB`` (its log in ``log``), returned once it says it serves (models loaded,
    index built)."""
    with log.open("w") as f:
        proc = subprocess.Popen(
            ["env", *env, sys.executable, "main.py", "serve", "--db", str(db)], cwd=ROOT, stderr=f, text=True
        )
    deadline = time.monotonic() + 180
    while READY not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the service did not start: {log.read_text()}")
        time.sleep(0.1)
    return proc


def stop_service(proc: subprocess.Popen, log: Path) -> str:
    """SIGTERM, as a service manager stops it; its log."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()
    return log.read_text()


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
    proc = start_service(library, tmp_path / "serve.log")
    try:
        # how to reach it (its port and key) is the user's alone
        (info,) = runtime.glob("spotter/*.json")
        assert (runtime / "spotter").stat().st_mode & 0o777 == 0o700 and info.stat().st_mode & 0o777 == 0o600
        served = search(library, query, "--json")
        assert hits_of(served) == hits_of(alone) and hits_of(served)
        assert json.loads(served.stdout)["query"] == str(query)
        # relative paths are the caller's: the service works in the caller's folder
        relative = search("lib.db", query.name, "--json", cwd=tmp_path)
        assert hits_of(relative) == hits_of(alone)
        # errors and usage errors come back as the caller would have printed them, with their status
        unknown = search(library, query, "--video", "nowhere.mp4")
        assert unknown.returncode == 2
        assert unknown.stderr.startswith("error: --video: nowhere.mp4 is not a video of the library")
        usage = search(library, query, "--threshold", "5")
        assert usage.returncode == 2 and "--threshold: must be a number from 0 to 1" in usage.stderr
        # the caller of a served search loads no engine (that is what makes it fast)
        argv = ["main.py", "search", "--db", str(library), "--query", str(query)]
        probe = subprocess.run(
            [sys.executable, "-X", "importtime", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert probe.returncode == 0 and "hits" in probe.stdout
        assert not {"numpy", "sqlalchemy", "cv2", "onnxruntime"} & set(imports(probe.stderr))
        # searched in their own process: another library, --no-service, another time zone
        other = copy_library(library, tmp_path / "other.db")
        assert hits_of(search(other, query, "--json")) == hits_of(alone)
        assert hits_of(search(library, query, "--json", "--no-service")) == hits_of(alone)
        elsewhere = subprocess.run(
            ["env", "TZ=Asia/Tokyo", sys.executable, *argv, "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert hits_of(elsewhere) == hits_of(alone)
    finally:
        log = stop_service(proc, tmp_path / "serve.log")
    assert "stopped after 4 searches" in log  # served, relative, unknown video, -X importtime (a usage
    # error is the parser's answer, not a search)
    assert not info.exists()


def imports(importtime_log: str) -> list[str]:
    return [line.split("|")[-1].strip().split(".")[0] for line in importtime_log.splitlines() if "|" in line]


def test_a_killed_or_stopped_service_leaves_search_working(
    tmp_path: Path, runtime: Path, library: Path, frame_of
) -> None:
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    log = tmp_path / "serve.log"
    proc = start_service(library, log)
    served = search(library, query, "--json")
    proc.send_signal(signal.SIGSTOP)  # hung: takes connections (the kernel does), answers none
    try:
        hung = search(library, query, "--json")
        assert hits_of(hung) == hits_of(served)  # searched here after QUEUE_TIMEOUT_S
    finally:
        proc.send_signal(signal.SIGCONT)
    proc.kill()  # kill -9: its file stays behind
    proc.wait(timeout=60)
    assert list(runtime.glob("spotter/*.json"))
    after = search(library, query, "--json")
    assert hits_of(after) == hits_of(served) and not after.stderr
    again = start_service(library, tmp_path / "again.log")
    try:
        second = spotter("serve", "--db", str(library))
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1] == (
            f"error: a search service for this library is already running (process {again.pid})"
        )
        assert hits_of(search(library, query, "--json")) == hits_of(served)
    finally:
        text = stop_service(again, tmp_path / "again.log")
    assert "stopped after 1 searches" in text


def handshake(port: int, key: bytes) -> socket.socket:
    """A connection to the service that has proved it holds ``key`` (as a search does)."""
    from pipeline.cli.service_channel import PROTOCOL, proof, recv_message, send_message

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    hello = recv_message(sock, 64)
    send_message(sock, proof(key, b"client", hello[len(PROTOCOL) :]) + b"c" * 32)
    assert recv_message(sock, 64) == proof(key, b"service", b"c" * 32)  # and the service proved it too
    return sock


def test_the_service_refuses_strangers_and_bad_requests_and_keeps_serving(
    tmp_path: Path, runtime: Path, library: Path, frame_of
) -> None:
    from pipeline.cli.service_channel import PROTOCOL, endpoint, recv_message, send_message

    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    proc = start_service(library, tmp_path / "serve.log")
    try:
        info = json.loads(endpoint(str(library)).info_file.read_text())
        port, key = info["port"], bytes.fromhex(info["key"])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as stranger:
            assert recv_message(stranger, 64).startswith(PROTOCOL)
            send_message(stranger, b"x" * 64)  # does not hold the key: dropped, told nothing
            assert stranger.recv(1) == b""
        with handshake(port, key) as conn:
            send_message(conn, b"\x80\x04not json")  # a pickle's opening bytes: never unpickled
            assert "refused" in json.loads(recv_message(conn, 1 << 20))
        with handshake(port, key) as conn:
            send_message(conn, json.dumps({"argv": ["index", str(query)], "cwd": str(tmp_path)}).encode())
            assert "refused" in json.loads(recv_message(conn, 1 << 20))  # only searches are answered
        with socket.create_connection(("127.0.0.1", port), timeout=30):
            ok = search(library, query, "--json")  # a silent client holds the service a while, not forever
        assert hits_of(ok)
        assert hits_of(search(library, query, "--json"))
    finally:
        log = stop_service(proc, tmp_path / "serve.log")
    assert "refused a connection: it does not hold the key" in log
    assert "refused a connection: unreadable request" in log


def test_a_library_replaced_under_the_service_is_opened_again(
    tmp_path: Path, runtime: Path, library: Path, frame_of, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.cli.parser import build_parser
    from pipeline.cli.search_service import SearchService
    from pipeline.storage import Library

    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    monkeypatch.chdir(tmp_path)
    service = SearchService("lib.db", build_parser("").parse_args)  # named from its own folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    argv = ["search", "--db", str(library), "--query", str(query), "--json"]
    before = service.answer(argv, str(elsewhere))
    assert before["code"] == 0 and json.loads(before["stdout"])["hits"]
    for p in tmp_path.glob("lib.db*"):  # restored from an empty backup, say
        p.unlink()
    Library(library).close()
    after = service.answer(argv, str(elsewhere))
    assert after["code"] == 0 and json.loads(after["stdout"])["hits"] == []
    assert not list(elsewhere.iterdir()) and Path.cwd() == tmp_path  # the library's own place reopened
    service.warm.library.close()


def test_a_library_removed_or_emptied_under_the_service_is_not_made_again(
    tmp_path: Path, runtime: Path, library: Path, frame_of
) -> None:
    """A sweep removed the library while its service ran: the next search made an empty library in its
    place and said 'the person was not found', and every command after it read that one. Now the
    service answers as a search of its own would, and writes nothing."""
    from pipeline.cli.parser import build_parser
    from pipeline.cli.search_service import SearchService

    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    service = SearchService(str(library), build_parser("").parse_args)
    argv = ["search", "--db", str(library), "--query", str(query), "--json"]
    assert json.loads(service.answer(argv, str(tmp_path))["stdout"])["hits"]
    library.unlink()
    gone = service.answer(argv, str(tmp_path))
    assert (
        gone["code"] == 2
        and gone["stderr"]
        == f"error: no library at {library}: `main.py index VIDEO --db {library}` makes one\n"
    )
    assert not library.exists()
    library.write_bytes(b"")  # a copy cut short
    empty = service.answer(argv, str(tmp_path))
    assert empty["code"] == 2 and "is an empty file, not a library" in empty["stderr"], empty
    assert library.stat().st_size == 0
    service.warm.library.close()


def test_which_command_lines_a_service_may_answer(tmp_path: Path) -> None:
    from pipeline.cli.search_service import search_db

    assert search_db(["search", "--db", "a.db", "--query", "x.jpg"]) == (True, "a.db")
    assert search_db(["-v", "search", "--query", "x.jpg", "--db=b.db"]) == (True, "b.db")
    assert search_db(["--db", "app.db", "search", "--query", "x.jpg"]) == (True, None)  # the app's --db
    assert search_db(["search", "--query", "x.jpg"]) == (True, None)
    for argv in (
        ["index", "x.mp4"],
        ["export", "--hit", "1"],
        ["search", "--help"],
        ["--help", "search"],
        ["search", "--query", "x.jpg", "--no-service"],
        ["search", "--query", "x.jpg", "--no-serv"],
        ["search", "--query", "x.jpg", "--db"],  # the real parser says what is wrong
        [],
    ):
        assert search_db(argv)[0] is False, argv


def test_a_service_of_other_code_is_not_asked(
    tmp_path: Path, runtime: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from pipeline.cli.search_service import forward_search
    from pipeline.cli.service_channel import endpoint

    where = endpoint(str(tmp_path / "lib.db"))
    where.info_file.write_text(json.dumps({"port": 1, "key": "00", "pid": 4242, "code": "older"}))
    assert forward_search(["search", "--db", str(tmp_path / "lib.db"), "--query", "x.jpg"]) is None
    assert "process 4242) runs other Spotter code" in caplog.text


def test_a_search_without_a_service_leaves_no_trace(tmp_path: Path, runtime: Path) -> None:
    from pipeline.cli.search_service import forward_search

    assert forward_search(["search", "--db", str(tmp_path / "lib.db"), "--query", "x.jpg"]) is None
    assert not (runtime / "spotter").exists()  # looking for a service creates nothing


def test_a_runtime_folder_others_can_open_is_not_trusted(tmp_path: Path, runtime: Path) -> None:
    from pipeline.cli.service_channel import ServiceError, endpoint

    (runtime / "spotter").mkdir(mode=0o777)
    (runtime / "spotter").chmod(0o777)
    with pytest.raises(ServiceError, match="not private"):
        endpoint(str(tmp_path / "lib.db"))
    (runtime / "spotter").rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (runtime / "spotter").symlink_to(tmp_path / "elsewhere")  # a link planted where the folder goes
    with pytest.raises(ServiceError, match="not private"):
        endpoint(str(tmp_path / "lib.db"))
    Library(tmp_path / "lib.db").close()  # serve refuses a library that is not there before this
    served = spotter("serve", "--db", str(tmp_path / "lib.db"))
    assert served.returncode == 2 and served.stderr.strip().endswith("no search service is used")


def test_a_second_service_through_a_hard_link_is_refused(tmp_path: Path, runtime: Path) -> None:
    """The lock was keyed by the library's path: a hard link to the same file (or a spelling of its
    path that resolving does not make the same) started a second service of it (hostile review). A
    library with two names is now refused whenever it is opened; the lock is still the file's."""
    Library(tmp_path / "lib.db").close()
    (tmp_path / "other").mkdir()
    link = tmp_path / "other" / "same.db"
    proc = start_service(tmp_path / "lib.db", tmp_path / "serve.log")  # (a library with two names
    link.hardlink_to(tmp_path / "lib.db")  # is refused when opened: see tests/test_bad_libraries.py)
    assert link.stat().st_ino == (tmp_path / "lib.db").stat().st_ino
    try:
        try:  # refused at once, before any model is loaded
            second = subprocess.run(
                [sys.executable, str(ROOT / "main.py"), "serve", "--db", str(link)],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.fail("a second service of the library started through its hard link")
        assert second.returncode == 2, second.stderr
        assert "has 2 names (hard links)" in second.stderr  # refused as any use of two names is
    finally:
        stop_service(proc, tmp_path / "serve.log")
    other = tmp_path / "other.db"  # another library is not held by it
    Library(other).close()
    from pipeline.cli.service_channel import endpoint

    assert (
        endpoint(str(other)).file_lock
        != endpoint(str(link)).file_lock
        == endpoint(str(tmp_path / "lib.db")).file_lock
    )
