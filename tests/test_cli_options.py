"""Command-line options read as an operator means them, from a library sweep: a date alone as the
end of a window is that day's end; an option that takes one video refuses a second; a video is named
by any path it is listed with."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.cli.parser import build_parser
from tests.conftest import tud
from tests.test_bad_input import one_line_error
from tests.test_cli import cli, gt_crop


def test_a_date_alone_ends_a_window_at_the_end_of_that_day() -> None:
    """`--to 2026-11-21` was its midnight: the whole of the 21st left out, and `--from D --to D` an
    empty window that found nothing and said nothing."""
    args = build_parser("").parse_args(
        ["search", "--query", "q.jpg", "--from", "2026-11-21", "--to", "2026-11-21"]
    )
    assert args.time_from == datetime(2026, 11, 21)
    assert args.time_to == datetime(2026, 11, 21, 23, 59, 59, 999999)
    args = build_parser("").parse_args(["search", "--query", "q.jpg", "--to", "20261121"])  # any form
    assert args.time_to == datetime(2026, 11, 21, 23, 59, 59, 999999)
    args = build_parser("").parse_args(["search", "--query", "q.jpg", "--to", "2026-11-21T14:30"])
    assert args.time_to == datetime(2026, 11, 21, 14, 30)  # a time is the time
    args = build_parser("").parse_args(["search", "--query", "q.jpg", "--to", "20261121_143000"])
    assert args.time_to == datetime(2026, 11, 21, 14, 30)  # an NVR's name's time too (a review)


def test_a_second_video_is_refused_not_dropped(capsys: pytest.CaptureFixture) -> None:
    """`--video 1 --video 4` searched video 4 alone."""
    with pytest.raises(SystemExit) as ended:
        build_parser("").parse_args(["search", "--query", "q.jpg", "--video", "1", "--video", "4"])
    assert ended.value.code == 2 and "--video is given twice" in capsys.readouterr().err


def test_a_file_named_with_a_leading_dash_is_said_how_to_give(capsys: pytest.CaptureFixture) -> None:
    """`index -x.mp4` said only 'the following arguments are required: videos', `export --out
    -y.mp4` 'expected one argument' (a sweep). A negative number is no file name."""
    for words, said in (
        (["index", "-x.mp4"], "the following arguments are required: videos ('-x.mp4' starts with '-'"),
        (["index", "a.mp4", "-x.mp4"], "unrecognized arguments: -x.mp4 ('-x.mp4' starts with '-'"),
        (["export", "--hit", "1", "--out", "-y.mp4"], "write it as ./-y.mp4)"),
    ):
        with pytest.raises(SystemExit):
            build_parser("").parse_args(words)
        assert said in capsys.readouterr().err, words
    with pytest.raises(SystemExit):
        build_parser("").parse_args(["search", "--query", "q.jpg", "--threshold", "-0.5"])
    assert "starts with '-'" not in capsys.readouterr().err
    args = build_parser("").parse_args(["index", "--", "-x.mp4"])
    assert [str(v) for v in args.videos] == ["-x.mp4"]


def test_a_video_is_named_by_the_path_of_its_copy(tmp_path: Path, frame_of) -> None:
    """A recording moved after it was indexed: indexing it where it is now listed it as a copy of
    the path gone, hits kept that path, and `search --video NEW_PATH` said it was not a video of the
    library. It is now listed where it is, and the old path still names it."""
    live, archive = tmp_path / "live" / "Gate.mp4", tmp_path / "archive" / "Gate.mp4"
    for p in (live, archive):
        p.parent.mkdir()
    shutil.copy(tud().video, live)
    db = str(tmp_path / "lib.db")
    assert cli("index", str(live), "--db", db, "--quiet").returncode == 0
    shutil.move(live, archive)
    p = cli("index", str(archive), "--db", db, "--quiet")
    assert p.returncode == 0 and "gone from there: listed here now, indexed once" in p.stderr, p.stderr
    (entry,) = json.loads(cli("videos", "--json", "--db", db).stdout)["videos"]  # the path that plays
    assert entry["path"] == str(archive) and entry["aliases"] == [str(live)], entry
    shown = cli("videos", "--db", db, "--set-camera", str(archive), "Gate")
    assert shown.returncode == 0, shown.stderr
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    p = cli("search", "--query", str(photo), "--db", db, "--video", str(archive), "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["hits"], p.stderr
    assert {h["video"] for h in json.loads(p.stdout)["hits"]} == {str(archive)}  # not the path gone
    p = cli("search", "--query", str(photo), "--db", db, "--video", str(live), "--json")  # the old name
    assert p.returncode == 0 and json.loads(p.stdout)["hits"], p.stderr
    one_line_error(
        cli("search", "--query", "q.jpg", "--db", db, "--video", str(tmp_path / "other.mp4")),
        "is not a video",
    )
