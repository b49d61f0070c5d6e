"""File names holding control characters (a newline, an escape sequence) are shown escaped on the
command line: one message stays one line, and no name writes a line that looks like Spotter's own.
The names Spotter writes from them (clips, report folders) keep letters and their marks only."""

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


def test_a_video_path_with_a_newline_stays_one_line_in_hit_lists(tmp_path: Path, frame_of) -> None:
    """search, case add, case show and case refine printed a hit's or a mark's video path raw: a
    newline in it wrote a second line."""
    import cv2

    from tests.conftest import load_gt

    video = tmp_path / "a\nb.mp4"
    shutil.copy(tud().video, video)
    db = str(tmp_path / "lib.db")
    assert cli("index", str(video), "--db", db, "--quiet").returncode == 0
    x1, y1, x2, y2 = (max(round(v), 0) for v in load_gt(tud())[3][53])
    photo = tmp_path / "q.jpg"
    cv2.imwrite(str(photo), frame_of(tud().video, 53)[y1:y2, x1:x2])
    shown = "a\\nb.mp4"
    runs = {
        "search": cli("search", "--no-service", "--query", str(photo), "--db", db),
        "describe": cli("search", "--no-service", "--upper", "red", "--top", "50", "--db", db),
        "new": cli("case", "new", "C", "--db", db),
    }
    track = next(line.split()[-2] for line in runs["search"].stdout.splitlines() if shown in line)
    runs["add"] = cli("case", "add", "C", "--video", str(video), "--track", track, "--confirm", "--db", db)
    runs["show"] = cli("case", "show", "C", "--db", db)
    runs["refine"] = cli("case", "refine", "C", "--db", db)
    for what, p in runs.items():
        assert p.returncode == 0, (what, p.stderr)
        lines = p.stdout.splitlines()
        assert not any(line.startswith("b.mp4") for line in lines), (what, p.stdout)
    for what in ("search", "describe", "add", "show", "refine"):
        assert shown in runs[what].stdout, (what, runs[what].stdout)


def test_a_file_name_keeps_marks_on_letters_only() -> None:
    """An emoji's presentation selector (U+FE0F, a mark) outlived the emoji it followed: the report
    folder of case '👮‍♀️ lobby' began with an invisible character. Marks on letters stay."""
    from pipeline.file_names import slug

    assert slug("\U0001f46e\u200d\u2640\ufe0f lobby", 50, "case") == "lobby"
    assert slug("\u2764\ufe0f", 50, "case") == "case"
    assert (
        slug("Cafe\u0301 \u0e01\u0e34\u0e19 \u0915\u093f", 50, "x")
        == "Caf\u00e9_\u0e01\u0e34\u0e19_\u0915\u093f"
    )
