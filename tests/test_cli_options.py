"""Command-line options a hostile review found wanting: what they accept, what their help says, and
what a mistaken one leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli.parser import build_parser
from tests.conftest import tud
from tests.test_cli import cli, gt_crop


def test_a_region_may_begin_left_of_the_frame(capsys: pytest.CaptureFixture[str]) -> None:
    """`--region -100,0,50,50` was taken for an option: "expected one argument"."""
    parse = build_parser("").parse_args
    for argv in (["--region", "-100,0,50,50"], ["--region=-100,0,50,50"], ["--region", "-.5,-2,50,50"]):
        region = parse(["search", "--query", "x.jpg", *argv]).region
        assert region == ((-100.0, 0.0, 50.0, 50.0) if "100" in argv[-1] else (-0.5, -2.0, 50.0, 50.0))
    with pytest.raises(SystemExit):  # still checked as a region
        parse(["search", "--query", "x.jpg", "--region", "-100,0"])
    assert "must be X1,Y1,X2,Y2" in capsys.readouterr().err
    assert parse(["index", "--", "-100,0,50,50.mp4"]).videos[0].name == "-100,0,50,50.mp4"


def test_search_takes_a_video_by_its_id(tmp_path: Path, tud_library: Path, frame_of) -> None:
    """`search --video 1` said "1 is not in the library (index it first)" of the video `videos` lists
    as 1 (`videos --set-camera`, `case add --video` take an id)."""
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    search = ("search", "--no-service", "--db", str(tud_library), "--query", str(query), "--json")
    listed = json.loads(cli("videos", "--db", str(tud_library), "--json").stdout)["videos"]
    by_path = cli(*search, "--video", listed[0]["path"])
    by_id = cli(*search, "--video", str(listed[0]["id"]))
    assert by_id.returncode == 0, by_id.stderr
    hits = json.loads(by_id.stdout)["hits"]
    assert hits and [h["track_id"] for h in hits] == [
        h["track_id"] for h in json.loads(by_path.stdout)["hits"]
    ]
    missing = cli(*search, "--video", "99")
    assert missing.returncode == 2 and "--video: 99 is not a video of the library" in missing.stderr


def test_person_help_says_where_counting_starts_and_in_which_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--person` said "0 = largest" only: whether 1 is the first or the second person, and what
    order the rest are in, was left to guess (pipeline.query.find_people: by box area, largest first)."""
    with pytest.raises(SystemExit):
        build_parser("").parse_args(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    person = text[text.index("--person PERSON which") : text.index("--box X1 Y1 X2 Y2 the")]
    assert "counted from 0" in person and "0 = the largest" in person and "1 = the next largest" in person
    # without it a crop of one person is searched whole, with --person 0 by its box (a helper's
    # sweep: 0.849 against 0.857, while the help called 0 the default)
    assert "the whole photo where it is a crop of one person" in person and "(the default)" not in person


def test_indexing_nothing_there_makes_no_library(tmp_path: Path) -> None:
    """`index /no/such/path --db NEW.db` failed, but left NEW.db behind, an empty library that later
    commands took for a real one."""
    p = cli("index", str(tmp_path / "no" / "such.mp4"), "--db", str(tmp_path / "new.db"), "--quiet")
    assert p.returncode == 2 and "no such file or folder" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())
    folder = tmp_path / "notes"  # a folder with no footage in it: the same (exit 1, a bad input)
    folder.mkdir()
    (folder / "readme.txt").write_text("not footage")
    p = cli("index", str(folder), "--db", str(tmp_path / "new.db"), "--quiet")
    assert p.returncode == 1 and p.stderr.startswith(f"error: {folder}: "), p.stderr
    assert sorted(tmp_path.iterdir()) == [folder], list(tmp_path.iterdir())


def test_the_videos_listing_keeps_its_columns_in_line(tmp_path: Path, tud_library: Path) -> None:
    """The status column was 8 wide: "interrupted" pushed that row's duration, tracks and camera out
    of line with the header and the other rows."""
    from pipeline.storage import Library
    from pipeline.video import VideoInfo
    from tests.conftest import copy_library

    db = copy_library(tud_library, tmp_path / "lib.db")
    library = Library(db)
    info = VideoInfo(tmp_path / "killed.mp4", 1000, 0.0, "killed".ljust(64, "0"), 10.0, 100, 320, 240)
    library.start_video(info, "det", "reid", {})  # never finished, held by no one: interrupted
    library.close()
    p = cli("videos", "--db", str(db))
    assert p.returncode == 0, p.stderr
    header, *rows = p.stdout.splitlines()
    assert any(" interrupted " in r for r in rows) and any(" done " in r for r in rows), p.stdout
    for column in ("duration", "tracks"):  # right-aligned: each ends where its header ends
        end = header.index(column) + len(column)
        for row in rows:
            assert row[end - 1] != " " and row[end] == " ", (column, header, row)
    camera = header.index("camera")
    assert all(row[camera - 1] == " " and row[camera] != " " for row in rows), p.stdout
