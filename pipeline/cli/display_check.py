"""Is there a screen for the desktop app? Asked before Qt is loaded, because Qt cannot be asked.

When Qt's platform plugin cannot start (``QT_QPA_PLATFORM`` names a plugin that does not exist,
``DISPLAY`` names an X server that is gone: an SSH session's stale variable, a closed Xvfb; or the
X11 plugin's system libraries are not installed: Qt 6.5+ needs ``libxcb-cursor0``, which a minimal
Linux lacks), Qt prints its own lines and aborts the process (SIGABRT, after seconds of retrying),
which no Python code can catch. So the likely causes are checked first, without loading Qt: the
plugin's file, a connection to the X server's or Wayland compositor's socket, and the X11 plugin's
libraries (``ldd``). A check that passes proves nothing more (an X server may still refuse us); one
that fails is always a start that Qt would abort. Qt-free, so that ``doctor`` can say it too.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

CONNECT_TIMEOUT_S = 2.0  # how long an X server over TCP may take to accept a connection
WITHOUT_ONE = "the command line works without one: python main.py --help"
X_TCP_BASE = 6000  # the X11 protocol's TCP port for display 0
XCB_RUNTIME_LIBS = ("libxcb-cursor.so.0",)  # opened by Qt 6.5+'s X11 plugin itself, so ldd does not list it


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why the desktop app cannot open a window with this environment (one line), else None."""
    env = dict(os.environ if env is None else env)
    forced = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if forced:
        plugins = platform_plugins()
        if plugins and forced not in plugins:
            there = ", ".join(sorted(plugins))
            return f"QT_QPA_PLATFORM={forced} names no Qt platform plugin (there are: {there}); unset it"
        if forced != "xcb":
            return None
    if not sys.platform.startswith("linux"):
        return None
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not forced and not (display or wayland):
        unset = "none found: DISPLAY and WAYLAND_DISPLAY are unset"
        return f"the desktop app needs a display ({unset}); {WITHOUT_ONE}"
    if not forced and wayland and _wayland_answers(wayland, env):
        return None
    if display and _x_answers(display):
        missing = xcb_missing_libraries()
        if missing:
            return (
                f"the desktop app's X11 plugin needs system libraries that are missing: {', '.join(missing)} "
                f"(Debian, Ubuntu: sudo apt-get install {' '.join(debian_package(m) for m in missing)})"
            )
        return None
    if display or forced:
        why = (
            f"DISPLAY={display} does not answer (the X server it named is gone?)"
            if display
            else "DISPLAY is unset"
        )
    else:
        why = f"WAYLAND_DISPLAY={wayland} does not answer (the session it named is gone?)"
    return f"the desktop app needs a display, and {why}; {WITHOUT_ONE}"


def xcb_missing_libraries() -> list[str]:
    """The shared libraries (sonames) that Qt's X11 platform plugin needs and this system lacks;
    empty where that cannot be told (no ``ldd``, no plugin file)."""
    plugin = next((f for f in _plugin_files() if f.name == "libqxcb.so"), None)
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        listed = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    missing = dict.fromkeys(m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", listed, re.M))
    for name in XCB_RUNTIME_LIBS:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing[name] = None
    return list(missing)


def debian_package(soname: str) -> str:
    """The Debian package that by Debian's naming rule ships a library: ``libfoo.so.N`` is in
    ``libfooN``, ``libfoo2.so.N`` in ``libfoo2-N`` (``libxcb-cursor.so.0``: ``libxcb-cursor0``)."""
    m = re.fullmatch(r"(lib.+?)\.so\.(\d+)(?:\..*)?", soname)
    if m is None:
        return soname
    stem, major = m.group(1), m.group(2)
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"


def platform_plugins() -> set[str]:
    """The names of the Qt platform plugins PySide6 ships (``xcb``, ``offscreen``, ...); empty when
    they cannot be listed (then nothing is refused for it)."""
    names = (re.match(r"^(?:lib)?q(\w+?)\.(?:so|dll|dylib)$", f.name) for f in _plugin_files())
    return {m.group(1) for m in names if m}


def _plugin_files() -> list[Path]:
    spec = importlib.util.find_spec("PySide6")
    folders = list(spec.submodule_search_locations or []) if spec else []
    subs = ("Qt/plugins/platforms", "plugins/platforms")
    return [f for folder in folders for sub in subs for f in sorted(Path(folder, sub).glob("*"))]


def _x_answers(display: str) -> bool:
    """Whether an X server accepts a connection at ``display`` (``:N``, ``:N.S``, ``host:N``)."""
    m = re.fullmatch(r"(?:unix)?(?P<host>[^:]*):(?P<n>\d+)(?:\.\d+)?", display.strip())
    if m is None:
        return True  # a form we do not know: let Qt judge it
    host, number = m["host"], int(m["n"])
    if host and host != "unix":
        try:
            with socket.create_connection((host, X_TCP_BASE + number), timeout=CONNECT_TIMEOUT_S):
                return True
        except OSError:
            return False
    path = f"/tmp/.X11-unix/X{number}"
    return _unix_answers(path) or _unix_answers("\0" + path)  # the file, or Linux's abstract name


def _wayland_answers(name: str, env: dict[str, str]) -> bool:
    path = name if name.startswith("/") else os.path.join(env.get("XDG_RUNTIME_DIR", ""), name)
    return _unix_answers(path)


def _unix_answers(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(CONNECT_TIMEOUT_S)
            s.connect(path)
    except OSError:
        return False
    return True
