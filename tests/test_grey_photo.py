"""A query photo without colour (a still from a night camera, a photocopy) searched in colour
footage: the colour tracks are compared turned grey (:mod:`pipeline.grey_query`), so the person is
found; compared in colour, the photo found mostly whoever wore the fewest colours."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pipeline.grey_query import GREY_PHOTO_NOTE, GreyTracks
from pipeline.monochrome import grey
from pipeline.search import SearchConfig, Searcher
from pipeline.storage import Library
from tests.conftest import load_gt, tud
from tests.test_night_footage import is_person, photo_of


def grey_photo_of(person: int, tmp_path: Path) -> Path:
    path = tmp_path / f"grey{person}.png"
    cv2.imwrite(str(path), cv2.cvtColor(cv2.imread(str(photo_of(person, tmp_path))), cv2.COLOR_BGR2GRAY))
    return path


def test_grey_photos_find_the_people_in_colour_footage(indexed: Library, models, tmp_path: Path) -> None:
    """Every TUD-Campus person seen long enough to be searched for (7), in the library of PETS09-S2L1
    and TUD-Campus: their grey photo's best hit is them for at least 5 (measured 5 at the grey floor,
    7 at the colour floor, which lets strangers through); compared with
    the colour tracks as they are, 2."""
    people = [p for p, boxes in load_gt(tud()).items() if len(boxes) >= 20]
    found = {True: 0, False: 0}
    for like_with_like in found:
        searcher = Searcher(indexed, models, SearchConfig(like_with_like=like_with_like))
        for person in people:
            result = searcher.search(grey_photo_of(person, tmp_path), save=False)
            found[like_with_like] += bool(result.hits) and is_person(result.hits[0], person)
            assert (GREY_PHOTO_NOTE in result.query.note) == like_with_like
    assert len(people) == 7 and found[True] >= 5 and found[False] <= 3


def test_a_colour_photo_is_searched_as_it_is(indexed: Library, models, tmp_path: Path) -> None:
    """The grey comparison is for photos without colour only: a colour photo's scores and note are
    those of the colour vectors."""
    searcher = Searcher(indexed, models)
    result = searcher.search(photo_of(3, tmp_path), save=False)
    assert GREY_PHOTO_NOTE not in result.query.note and result.hits
    plain = Searcher(indexed, models, SearchConfig(like_with_like=False)).search(
        photo_of(3, tmp_path), save=False
    )
    assert [(h.track_pk, round(h.score, 6)) for h in result.hits] == [
        (h.track_pk, round(h.score, 6)) for h in plain.hits
    ]


def test_grey_vectors_are_made_once_and_forgotten_when_tracks_go(indexed: Library, models, tmp_path) -> None:
    """A track's grey vector is its thumbnail turned grey, embedded once; removing tracks forgets them
    all (a key may be given to a new track)."""
    from tests.conftest import copy_library

    library = Library(copy_library(indexed.db_path, tmp_path / "copy.db"))
    grey_tracks = GreyTracks(library, models.reid)
    first = [t.pk for t in library.video_tracks(library.video_id(tud().video))][:3]
    vectors = grey_tracks.vectors(first)
    thumb = cv2.imdecode(np.frombuffer(library.thumbnails(first[:1])[first[0]], np.uint8), cv2.IMREAD_COLOR)
    assert np.allclose(vectors[first[0]], models.reid.embed([grey(thumb)])[0], atol=1e-5)
    assert grey_tracks.vectors(first)[first[0]] is vectors[first[0]]  # remembered
    library.remove_video(library.video_id(tud().video))
    assert grey_tracks.vectors(first) == {}


def test_the_grey_floor_lets_through_the_share_of_strangers_the_colour_floor_does(
    indexed: Library, models
) -> None:
    """Quantile mapping: with grey different-people scores 0.1 higher than in colour, the grey floor
    is the colour floor + 0.1; with too few pairs of either kind, the configured default applies."""
    from pipeline.calibration import BINS, CalibrationConfig
    from pipeline.cosine_histogram import cosine_bins
    from pipeline.grey_query import GreyQueryConfig

    rng = np.random.default_rng(0)
    colour = np.bincount(cosine_bins(rng.normal(0.45, 0.08, 20_000), BINS), minlength=BINS)
    grey_scores = np.bincount(cosine_bins(rng.normal(0.55, 0.08, 20_000), BINS), minlength=BINS)
    top = grey_scores.copy()
    top[-1] += 1  # one pair of strangers as alike as one person (twins, a mannequin)
    tracks = GreyTracks(indexed, models.reid)
    tracks.impostor_histogram = lambda sample: top  # type: ignore[method-assign]
    config, calibration = GreyQueryConfig(), CalibrationConfig()
    floor, calibrated = tracks.floor(colour, 0.69, config, calibration)
    assert calibrated and abs(floor - 0.79) <= 0.011
    none_above = colour.copy()
    none_above[cosine_bins(np.array([0.69]), BINS)[0] :] = 0
    # no pair of strangers reaches the colour floor, and one in grey is as alike as can be: the highest
    assert tracks.floor(none_above, 0.69, config, calibration) == (calibration.bounds[1], True)
    few = np.zeros(BINS, np.int64)
    few[300] = calibration.min_samples - 1
    assert tracks.floor(few, 0.69, config, calibration) == (config.default_floor, False)


def test_strangers_grey_photos_get_no_hits(indexed: Library, models, tmp_path: Path) -> None:
    """The MOT17 sample people (other cameras) are not in the library of PETS09-S2L1 and TUD-Campus:
    their grey photos get hits in at most 1 search in 10 at the grey floor (the colour floor let
    through more)."""
    from bench.search_quality import mot17_queries

    photos = [grey_photo_path(p, tmp_path) for p in mot17_queries(tmp_path)]
    searcher = Searcher(indexed, models)
    colour_floor = searcher.calibrated_floor()[0]
    found = [bool(searcher.search(p, save=False).hits) for p in photos]
    at_colour_floor = [bool(searcher.search(p, save=False, min_score=colour_floor).hits) for p in photos]
    assert len(photos) >= 50 and sum(found) <= len(photos) / 10 and sum(found) < sum(at_colour_floor)


def grey_photo_path(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / f"grey_{path.name}"
    cv2.imwrite(str(target), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY))
    return target


def test_a_tinted_grey_photo_is_searched_as_the_grey_photo(indexed: Library, models, tmp_path: Path) -> None:
    """A night camera's still keeps its white balance's tint (each channel a few levels off grey): it
    is a photo without colour, embedded turned grey, so it finds what the grey photo finds (with
    its tint it scored 0.15 lower against the colour tracks turned grey, and found no one)."""
    plain = cv2.imread(str(grey_photo_of(3, tmp_path)))
    tinted = np.clip(plain.astype(np.int16) + np.int16([6, -2, 5]), 0, 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "tinted.png"), tinted)
    searcher = Searcher(indexed, models)
    want = searcher.search(grey_photo_of(3, tmp_path), save=False)
    got = searcher.search(tmp_path / "tinted.png", save=False)
    assert want.hits and GREY_PHOTO_NOTE in got.query.note
    assert [(h.track_pk, round(h.score, 2)) for h in got.hits] == [
        (h.track_pk, round(h.score, 2)) for h in want.hits
    ]


def test_rejecting_a_look_alike_keeps_a_grey_photos_person(indexed: Library, models, tmp_path: Path) -> None:
    """Refining a grey photo's search with a rejected look-alike compares in grey: the hits that are
    the person stay (compared in colour, the grey photo was nearer to no colour track than the
    rejected track was, and the person's hits went)."""
    from pipeline.refine import Review, refine

    searcher = Searcher(indexed, models)
    kept = tried = 0
    for person in (1, 2, 3, 4, 5, 7, 8):
        result = searcher.search(grey_photo_of(person, tmp_path), save=False)
        right = [h for h in result.hits if is_person(h, person)]
        hit_pks = {h.track_pk for h in result.hits}
        others = (
            [c for c in result.candidates if c.track_pk not in hit_pks and c.video_id == right[0].video_id]
            if right
            else []
        )
        if not others:
            continue
        tried += 1
        review = Review((result.vector,), rejected=(others[0].track_pk,), greys=(result.grey_vector,))
        refined = {h.track_pk for h in refine(searcher, review).hits}
        kept += all(h.track_pk in refined for h in right)
    assert tried >= 4 and kept == tried  # measured 5 of 5 (3 of 5 compared in colour)


def test_a_grey_and_a_colour_photo_together_report_the_lower_floor(
    indexed: Library, models, tmp_path: Path
) -> None:
    """Refined with a grey photo and a colour one, in either order, the floor reported (the GUI's
    slider starts there) is the lowest a hit had to reach: the colour floor, not the first photo's."""
    from pipeline.refine import Review, refine

    searcher = Searcher(indexed, models)
    in_grey = searcher.search(grey_photo_of(3, tmp_path), save=False)
    in_colour = searcher.search(photo_of(3, tmp_path), save=False)
    assert in_grey.cut > in_colour.cut
    for both in ((in_grey, in_colour), (in_colour, in_grey)):
        review = Review(tuple(r.vector for r in both), greys=tuple(r.grey_vector for r in both))
        assert refine(searcher, review).cut == in_colour.cut


def test_a_case_made_with_a_grey_photo_says_so(indexed: Library, tmp_path: Path) -> None:
    from tests.conftest import copy_library
    from tests.test_cli import cli

    db = copy_library(indexed.db_path, tmp_path / "case.db")
    p = cli("case", "new", "night still", "--db", str(db), "--query", str(grey_photo_of(3, tmp_path)))
    assert p.returncode == 0 and GREY_PHOTO_NOTE in p.stderr, p.stderr


def test_a_grey_photos_case_made_before_is_refined_in_grey(indexed: Library, tmp_path: Path) -> None:
    """A case made before photos without colour were compared in grey kept no grey vector for one
    (it was "its own"): `case refine` finds what a case made now finds, from the photo it keeps
    (compared in colour, it found a look-alike, or no one)."""
    import json
    import sqlite3

    from tests.conftest import copy_library
    from tests.test_cli import cli

    db = copy_library(indexed.db_path, tmp_path / "case.db")
    for person in (1, 3, 4):
        name = f"person {person}"
        made = cli("case", "new", name, "--db", str(db), "--query", str(grey_photo_of(person, tmp_path)))
        assert made.returncode == 0, made.stderr
    refined = {}
    for before in (False, True):
        if before:
            with sqlite3.connect(db) as con:
                con.execute("UPDATE case_photos SET grey_vector = NULL")
        for person in (1, 3, 4):
            p = cli("case", "refine", f"person {person}", "--db", str(db), "--json")
            assert p.returncode == 0, p.stderr
            hits = [(h["video"], h["track_id"]) for h in json.loads(p.stdout)["hits"]]
            refined.setdefault(person, hits)
            assert hits == refined[person] and (hits or person != 3)
