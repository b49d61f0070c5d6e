"""The desktop app where it cannot open a window: one line of Spotter's, never Qt's abort.

With ``QT_QPA_PLATFORM`` naming no plugin, ``DISPLAY`` naming an X server that is gone, or the X11
plugin's system libraries missing, Qt aborts the process (SIGABRT) after its own lines;
:mod:`pipeline.cli.display_check` finds each before Qt is loaded. The X cases run against a real X
server (Xvfb, installed by ``.ci/run``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli.display_check import (
    debian_package,
    display_problem,
    platform_plugins,
    xcb_missing_libraries,
)
from tests.conftest import ROOT
from tests.test_bad_input import one_line_error

XVFB = shutil.which("Xvfb")
REQUIRE_XVFB = os.environ.get("SPOTTER_REQUIRE_XVFB") == "1"  # .ci/run installs it: never skip there


def app(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python main.py [args]`` (the desktop app) with only ``env`` as its display settings."""
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, env={**base, **env},
        timeout=120,
    )  # fmt: skip


def free_display() -> int:
    """A display number no X server uses here."""
    return next(n for n in range(87, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())


@pytest.fixture
def xvfb() -> Iterator[tuple[str, subprocess.Popen]]:
    if XVFB is None:
        if REQUIRE_XVFB:
            pytest.fail("Xvfb is required here (SPOTTER_REQUIRE_XVFB=1) but is not installed")
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    display = f":{free_display()}"
    server = subprocess.Popen([XVFB, display, "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while "does not answer" in (display_problem({"DISPLAY": display}) or "") and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield display, server
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_platform_plugin_that_does_not_exist_is_one_line() -> None:
    assert {"xcb", "offscreen"} <= platform_plugins()  # what PySide6 ships is found
    one_line_error(app(QT_QPA_PLATFORM="bogus"), "QT_QPA_PLATFORM=bogus names no Qt platform plugin", "xcb")
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_an_x_server_that_is_gone_is_one_line_and_a_live_one_passes(xvfb) -> None:
    display, server = xvfb
    for env in ({"DISPLAY": display}, {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}):
        problem = display_problem(env)  # a real X server answers (the plugin's libraries: next test)
        assert problem is None or "X11 plugin needs system libraries" in problem, problem
    server.terminate()
    server.wait(timeout=20)
    p = app(DISPLAY=display)  # the session it named is gone: Qt would abort after its own lines
    one_line_error(p, f"DISPLAY={display} does not answer", "--help")
    assert "Aborted" not in p.stderr and "qt.qpa" not in p.stderr


def test_every_display_setting_missing_or_dead() -> None:
    gone = f":{free_display()}"
    for env, words in (
        ({"QT_QPA_PLATFORM": "xcb"}, "DISPLAY is unset"),
        ({"DISPLAY": gone}, f"DISPLAY={gone} does not answer"),
        ({"DISPLAY": "127.0.0.1:99"}, "DISPLAY=127.0.0.1:99 does not answer"),  # over TCP, nothing there
        ({"WAYLAND_DISPLAY": "wayland-spotter-none", "XDG_RUNTIME_DIR": "/tmp"}, "WAYLAND_DISPLAY="),
        ({}, "none found"),
    ):
        problem = display_problem(env)
        assert problem is not None and words in problem and "--help" in problem, (env, problem)


def test_the_x11_plugin_libraries_are_checked_before_qt_would_abort(xvfb, tmp_path: Path) -> None:
    """Qt's X11 plugin on a system without its libraries (a minimal Linux lacks libxcb-cursor0,
    libxcb-icccm4, ...) aborts the process; the app says which are missing and how to install them,
    or, where none is, opens its window."""
    display, _ = xvfb
    missing = xcb_missing_libraries()
    if missing:
        p = app(DISPLAY=display)
        one_line_error(p, "X11 plugin needs system libraries", *missing, "apt-get install")
        assert all(debian_package(m) in p.stderr for m in missing)
        return
    with subprocess.Popen([sys.executable, "main.py", "--db", str(tmp_path / "lib.db")], cwd=ROOT, env={
        **{k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")},
        "DISPLAY": display,
    }, stderr=subprocess.PIPE, text=True) as running:  # fmt: skip
        try:
            assert running.wait(timeout=10) is None, running.stderr.read()  # exited: it should still run
        except subprocess.TimeoutExpired:
            pass  # the window is open
        finally:
            running.terminate()


def test_debian_package_names_follow_debians_rule() -> None:
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"  # a name ending in a digit
    assert debian_package("libxcb-icccm.so.4.0.0") == "libxcb-icccm4"


def test_doctor_says_whether_the_desktop_app_can_open_here(tmp_path: Path) -> None:
    """An IT team checking a machine sees it from ``doctor`` (the command line works either way)."""
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for env, words in (
        ({"QT_QPA_PLATFORM": "bogus"}, "desktop app: QT_QPA_PLATFORM=bogus names no Qt platform plugin"),
        ({"QT_QPA_PLATFORM": "offscreen"}, "desktop app: can open its window here"),
    ):
        p = subprocess.run(
            [sys.executable, "main.py", "doctor", "--db", str(tmp_path / "none.db")],
            cwd=ROOT, capture_output=True, text=True, timeout=300, env={**base, **env},
        )  # fmt: skip
        assert p.returncode == 0 and words in p.stdout, (p.stdout, p.stderr)
    assert not (tmp_path / "none.db").exists()


def test_the_app_does_not_make_a_mistyped_library_folder(tmp_path: Path) -> None:
    """`main.py --db /nonexistent/x.db` made the folder and an empty library in it, in silence."""
    missing = tmp_path / "no such folder" / "lib.db"
    one_line_error(app("--db", str(missing), QT_QPA_PLATFORM="offscreen"), "there is no folder")
    assert not missing.parent.exists()
