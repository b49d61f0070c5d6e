"""Command-line options a hostile review found wanting: what they accept, what their help says, and
what a mistaken one leaves behind."""

from __future__ import annotations

import pytest

from pipeline.cli.parser import build_parser


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
