"""The desktop app where it cannot open a window: one line of Spotter's, never Qt's abort.

With ``QT_QPA_PLATFORM`` naming no plugin, or ``DISPLAY`` naming an X server that is gone, Qt aborts
the process (SIGABRT) after its own lines; :mod:`gui.display` finds both before Qt is loaded. The X
cases run against a real X server (Xvfb, installed by ``.ci/run``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.display import display_problem, platform_plugins
from tests.conftest import ROOT
from tests.test_bad_input import one_line_error

XVFB = shutil.which("Xvfb")
REQUIRE_XVFB = os.environ.get("SPOTTER_REQUIRE_XVFB") == "1"  # .ci/run installs it: never skip there


def app(**env: str) -> subprocess.CompletedProcess:
    """``python main.py`` (the desktop app) with only ``env`` as its display settings."""
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run(
        [sys.executable, "main.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=120,
    )


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
    while display_problem({"DISPLAY": display}) and time.monotonic() < deadline:
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
    assert display_problem({"DISPLAY": display}) is None  # a real X server answers
    assert display_problem({"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}) is None
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
