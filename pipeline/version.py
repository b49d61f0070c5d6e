"""Spotter's version, as reports and exports record it."""

from __future__ import annotations

import subprocess
from pathlib import Path

__version__ = "0.5.0"
ROOT = Path(__file__).resolve().parents[1]


def version() -> str:
    """The release, with the commit when running from a git checkout (``0.5.0+6db84ab``)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__
