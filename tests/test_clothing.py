"""Clothing colours and search by description: the colour names of crops, the tracks' stored
colours (and the backfill for older tracks), the description search and its command line."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from pipeline.clothing import LOWER, PALETTE, UPPER, colour_index, crop_colours
from pipeline.description import backfill_colours, colour_scores, describe
from pipeline.search import SearchConfig
from tests.conftest import ROOT, copy_library, tud
from tests.test_cli import cli

LABELS = json.loads((ROOT / "tests" / "data" / "clothing_colours.json").read_text())


def person(top_bgr: tuple[int, int, int], legs_bgr: tuple[int, int, int], shade: float = 1.0) -> np.ndarray:
    """A 200x80 'person': head, a top and trousers, on a grey wall; ``shade`` darkens the clothes."""
    crop = np.full((200, 80, 3), 128, np.uint8)
    crop[10:35, 30:50] = (120, 150, 200)  # face
    crop[36:105, 15:65] = np.array(top_bgr) * shade
    crop[106:190, 20:60] = np.array(legs_bgr) * shade
    return crop


@pytest.mark.parametrize(
    ("top", "legs", "upper", "lower"),
    [
        ((30, 30, 200), (140, 60, 20), "red", "blue"),  # red jacket, blue jeans
        ((240, 240, 240), (25, 25, 25), "white", "black"),
        ((40, 160, 40), (30, 90, 140), "green", "brown"),
        ((200, 150, 255), (130, 130, 130), "pink", "grey"),
    ],
)
def test_colour_names_of_a_crop(top: tuple, legs: tuple, upper: str, lower: str) -> None:
    shares = crop_colours(person(top, legs))
    assert PALETTE[int(shares[UPPER].argmax())] == upper and PALETTE[int(shares[LOWER].argmax())] == lower
    assert np.allclose(shares.sum(axis=1), 1.0, atol=1e-5)


def test_a_jacket_in_shadow_keeps_some_of_its_colour() -> None:
    shares = crop_colours(person((30, 30, 200), (140, 60, 20), shade=0.45))
    assert shares[UPPER, colour_index("red")] > 0.3


def test_scores_and_names() -> None:
    colours = np.zeros((2, 2, len(PALETTE)), np.float32)
    colours[0, UPPER, colour_index("red")], colours[0, LOWER, colour_index("blue")] = 0.8, 0.5
    colours[1, UPPER, colour_index("red")], colours[1, LOWER, colour_index("black")] = 0.9, 0.9
    assert np.allclose(colour_scores(colours, "red", "blue"), [0.4, 0.0])
    assert np.allclose(colour_scores(colours, "red", None), [0.8, 0.9])
    assert colour_index(" Gray ") == colour_index("grey")
    with pytest.raises(ValueError, match="unknown colour 'teal'"):
        colour_index("teal")


def test_tud_people_wear_what_they_were_labelled_with(indexed) -> None:
    """On the stored colours of TUD-Campus, each labelled person's best-matching description hit
    list holds someone; and the labelled upper colour is among the two largest shares of the track
    the description ranks first, for most people (colour naming is not exact)."""
    from pipeline.search import Searcher
    from tests.test_search import FakeModels

    s = Searcher(indexed, FakeModels(np.zeros(512)), SearchConfig())  # type: ignore[arg-type]
    agree = 0
    for upper, lower in LABELS["tud"].values():
        hits = describe(s, upper, lower, max_hits=5)
        assert (
            hits
            and all(h.score > 0 for h in hits)
            and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        )
        table = indexed.colour_table(len(PALETTE))
        k = int(np.flatnonzero(table.pks == hits[0].track_pk)[0])
        agree += colour_index(upper) in np.argsort(-table.colours[k, UPPER])[:2]
    assert agree >= len(LABELS["tud"]) - 2


def test_a_description_needs_a_known_colour(indexed) -> None:
    from pipeline.errors import SearchError
    from pipeline.search import Searcher
    from tests.test_search import FakeModels

    s = Searcher(indexed, FakeModels(np.zeros(512)), SearchConfig())  # type: ignore[arg-type]
    with pytest.raises(SearchError, match="needs an upper or a lower colour"):
        describe(s, None, None)
    with pytest.raises(SearchError, match="unknown colour 'teal'"):
        describe(s, "teal", None)


def test_older_tracks_get_colours_from_their_thumbnails(tmp_path: Path, indexed) -> None:
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    with contextlib.closing(sqlite3.connect(db)) as c, c:
        c.execute("UPDATE tracks SET colours = x''")  # as a library from before colours were kept
    from pipeline.storage import Library

    library = Library(db)
    n = len(library.tracks_without_colours(100_000))
    assert n > 0 and backfill_colours(library) == n and library.tracks_without_colours() == []
    assert library.colour_table(len(PALETTE)).colours.sum() > 0


def test_description_search_on_the_command_line(indexed) -> None:
    p = cli(
        "search", "--db", str(indexed.db_path), "--upper", "brown", "--lower", "brown", "--json", "--top", "3"
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["description"] == {"upper": "brown", "lower": "brown"} and 1 <= len(doc["hits"]) <= 3
    assert {"video", "track_id", "score", "camera", "start_time"} <= set(doc["hits"][0])
    tud_only = cli(
        "search", "--db", str(indexed.db_path), "--upper", "brown", "--camera", "TUD-Campus", "--json"
    )
    assert all(Path(h["video"]).name == tud().video.name for h in json.loads(tud_only.stdout)["hits"])
    for args, words in (
        (("--upper", "teal"), "unknown colour 'teal'"),
        ((), "needs --query PHOTO, or a description"),
        # options of a photo's search were ignored in silence (--threshold 0.99 listed scores of 0.004)
        (("--upper", "red", "--threshold", "0.99"), "--threshold: for a search by photo (--query)"),
        (
            ("--lower", "red", "--box", "1", "2", "30", "80", "--rerank"),
            "--box and --rerank: for a search by",
        ),
    ):
        q = cli("search", "--db", str(indexed.db_path), *args)
        assert q.returncode == 2 and words in q.stderr and len(q.stderr.strip().splitlines()) == 1, q.stderr


def test_a_description_inside_a_time_window_says_what_it_left_out(indexed) -> None:
    """A sweep: `--from` silently left out the videos whose start is unknown (the #2 person in blue
    went), and a window holding nobody printed "0 people"; a photo's search says both."""
    p = cli("search", "--db", str(indexed.db_path), "--upper", "blue", "--from", "2026-01-01")
    assert p.returncode == 0 and p.stdout.startswith("0 people"), p.stdout
    assert "video(s) left out by --from/--to: their start time is unknown" in p.stderr, p.stderr
    assert "no hits inside the filter (--from)" in p.stderr, p.stderr
    p = cli("search", "--db", str(indexed.db_path), "--upper", "blue")
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
