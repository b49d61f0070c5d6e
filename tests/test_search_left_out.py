"""A search whose filters (a video, cameras, times, region, clothing colours) left out every hit says
so, instead of "the person was not found" (a hostile review: `search --query PHOTO --upper white`
said "no hits ... (best score 0.966): the person was not found" of a person plainly in the
footage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import tud
from tests.test_cli import cli, gt_crop


def test_a_filter_that_left_out_every_hit_says_so(tmp_path: Path, tud_library: Path, frame_of) -> None:
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)  # the person in dark clothes
    search = ("search", "--no-service", "--db", str(tud_library), "--query", str(query))
    plain = cli(*search)
    assert plain.returncode == 0 and "hits (" in plain.stdout, (plain.stdout, plain.stderr)
    for narrowed, said in (
        (("--upper", "white"), "the filter (--upper white) left out "),
        (("--region", "0,0,1,1"), "the filter (--region) left out "),
        (("--region", "0,0,1,1", "--lower", "red"), "the filter (--region, --lower red) left out "),
    ):
        p = cli(*search, *narrowed)
        assert p.returncode == 0, p.stderr
        assert said in p.stdout and "run without it to see them" in p.stdout, p.stdout
        assert "the person was not found" not in p.stdout, p.stdout
    p = cli(*search, "--upper", "white", "--json")  # the JSON is a contract: unchanged, the note aside
    assert p.returncode == 0 and json.loads(p.stdout) == {"query": str(query.resolve()), "hits": []}
    assert "note: no hits: the filter (--upper white) left out " in p.stderr, p.stderr


def test_a_filter_that_left_out_better_tracks_than_its_hits_says_so(
    tmp_path: Path, indexed, frame_of
) -> None:
    """A filter that leaves only weaker hits: the best inside it read as the person, with no hint that
    tracks outside it scored higher (a helper's sweep: the first 20 s held one hit, another man at
    0.792). Now a note says so; a filter that left out nothing better says nothing."""
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    search = (
        "search",
        "--no-service",
        "--db",
        str(indexed.db_path),
        "--query",
        str(query),
        "--threshold",
        "0",
    )
    cameras = {v.camera for v in indexed.videos()}
    tud_camera = next(v.camera for v in indexed.videos() if v.path == str(tud().video.resolve()))
    (other,) = cameras - {tud_camera}  # PETS09-S2L1's camera: the person is not there
    p = cli(*search, "--camera", other)
    assert p.returncode == 0 and "hits (" in p.stdout, p.stdout
    assert (
        f"note: the filter (--camera {other}) left out " in p.stderr
        and "scoring above its best hit" in p.stderr
    )
    p = cli(*search, "--camera", tud_camera)
    assert p.returncode == 0 and "scoring above its best hit" not in p.stderr, p.stderr
    pets_video = next(v.video_id for v in indexed.videos() if v.camera == other)
    p = cli(*search, "--video", str(pets_video))  # --video gave no note (a sweep)
    assert p.returncode == 0 and "hits (" in p.stdout, p.stdout
    assert f"note: the filter (--video {pets_video}) left out " in p.stderr, p.stderr
    assert "scoring above its best hit" in p.stderr, p.stderr


def test_a_search_with_no_filter_and_no_hits_still_says_not_found(
    tmp_path: Path, tud_library: Path, frame_of
) -> None:
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    p = cli("search", "--no-service", "--db", str(tud_library), "--query", str(query), "--threshold", "0.999")
    assert p.returncode == 0 and "the person was not found" in p.stdout and "filter" not in p.stdout, p.stdout


def test_search_help_says_the_margin_beside_the_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    """`--threshold 0 --top 20` gave one hit, and neither option's help said why (hits must also lie
    within the relative margin of their video's best person)."""
    from pipeline.cli.parser import SEARCH_MARGIN, build_parser
    from pipeline.search_config import SearchConfig

    assert SearchConfig().relative_margin == SEARCH_MARGIN
    with pytest.raises(SystemExit):
        build_parser("").parse_args(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    threshold = text[text.index("--threshold THRESHOLD least") : text.index("--top TOP at most")]
    top = text[text.index("--top TOP at most") : text.index("--person PERSON which")]
    assert f"within {SEARCH_MARGIN} of the best person of its video" in threshold, threshold
    assert "SearchConfig.relative_margin" in threshold, threshold
    assert f"within {SEARCH_MARGIN} of their video's best" in top and "may still give one" in top, top


def test_top_with_a_colour_gives_the_best_that_wear_it(tmp_path: Path, tud_library: Path) -> None:
    """`--top K --upper C` cut the hits to K before the colour narrowed them, so it gave fewer than K
    (here none) while more people wearing C were hits (a hostile review)."""
    from tests.test_night_footage import photo_of

    search = ("search", "--no-service", "--db", str(tud_library), "--query", str(photo_of(4, tmp_path)))

    def hits(*more: str) -> list[tuple[str, int]]:
        p = cli(*search, "--threshold", "0", "--json", *more)
        assert p.returncode == 0, p.stderr
        return [(h["video"], h["track_id"]) for h in json.loads(p.stdout)["hits"]]

    plain, grey = hits(), hits("--upper", "grey")
    assert grey and grey[0] != plain[0]  # the best hit does not wear grey; another does
    assert hits("--upper", "grey", "--top", "1") == grey[:1]


def test_hits_of_a_video_that_moved_say_so(tmp_path: Path, frame_of) -> None:
    """A video moved (or a share not mounted) after indexing: its hits are still listed, from the
    library, with a note that they cannot be played or exported until the file is back."""
    import shutil

    video = tmp_path / "cam1.mp4"
    shutil.copy(tud().video, video)
    db = tmp_path / "lib.db"
    assert cli("index", str(video), "--db", str(db), "--quiet").returncode == 0
    search = (
        "search",
        "--no-service",
        "--db",
        str(db),
        "--query",
        str(gt_crop(tmp_path, frame_of, tud(), 3, 53)),
    )
    here = cli(*search, "--json")
    assert here.returncode == 0 and json.loads(here.stdout)["hits"], here.stderr
    assert "not where they were indexed" not in here.stderr
    video.rename(tmp_path / "elsewhere.mp4")
    for p in (cli(*search), cli(*search, "--json"), cli("search", "--db", str(db), "--upper", "black")):
        assert p.returncode == 0, p.stderr
        assert f"note: 1 video(s) of these hits are not where they were indexed ({video})" in p.stderr, (
            p.stderr
        )

    def listed(out: str) -> list[dict]:  # each search is saved anew: its hits' ids are its own
        return [{k: v for k, v in h.items() if k != "hit_id"} for h in json.loads(out)["hits"]]

    assert listed(cli(*search, "--json").stdout) == listed(here.stdout)  # listed as before
