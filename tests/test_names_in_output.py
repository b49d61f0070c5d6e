"""File names holding control characters (a newline, an escape sequence) are shown escaped on the
command line: one message stays one line, and no name writes a line that looks like Spotter's own."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.cli.console import one_line
from tests.conftest import tud
from tests.test_cli import cli

FORGED = "cam1.mp4: cancelled\ndone: cam2.mp4: 14 tracks, 1.0x real time\x1b[2J\rwarning: x.mp4"


def test_control_characters_are_escaped_and_text_is_kept() -> None:
    assert one_line("a\nb\rc\x1b[0m\x7f\x85\td é 名") == "a\\nb\\rc\\x1b[0m\\x7f\\x85\td é 名"
    assert one_line(Path("/x/plain name.mp4")) == "/x/plain name.mp4"


def test_a_file_name_cannot_forge_lines_of_the_output(tmp_path: Path) -> None:
    folder = tmp_path / "footage"
    folder.mkdir()
    shutil.copy(tud().video, folder / "a\nb.mp4")  # a video whose name holds a newline
    (folder / FORGED).write_bytes(b"x")  # a file that is no video, named to forge lines
    db = str(tmp_path / "lib.db")
    p = cli("index", str(folder), "--db", db, "--quiet")
    assert p.returncode == 1, p.stderr  # the bad file fails, the video is indexed
    lines = p.stderr.strip().splitlines()
    assert not any(line.startswith("done: cam2.mp4") for line in lines), p.stderr
    assert "\x1b" not in p.stderr and "\r" not in p.stderr
    assert any("cam1.mp4: cancelled\\ndone: cam2.mp4" in line for line in lines), p.stderr
    assert any(line.startswith("done: ") and "a\\nb.mp4" in line for line in lines), p.stderr
    listed = cli("videos", "--db", db)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "a\\nb.mp4" in line]
    assert len(rows) == 1 and "done" in rows[0], listed.stdout
    assert len(listed.stdout.strip().splitlines()) == 2  # the header and the one video
