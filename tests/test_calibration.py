"""The library's own floor: same-person and different-people scores from pairs whose truth is certain
without labels, and their equal-error point."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from pipeline.calibration import (
    BINS,
    COLOUR,
    COLOURLESS,
    KINDS,
    METHOD,
    CalibrationConfig,
    calibrate_video,
    equal_error_floor,
    library_floors,
    score_histograms,
)
from pipeline.storage import Library, TrackInfo
from tests.test_search import add_video, unit


def track(pk: int, person: int, first: int, last: int, x: float) -> TrackInfo:
    frames = np.arange(first, last + 1, dtype=np.float64)
    path = np.zeros((len(frames), 7))
    path[:, 0], path[:, 2:6] = frames, [x, 10, x + 20, 60]
    return TrackInfo(pk, 1, "v", 10.0, pk, first, last, first / 10, last / 10, path, person)


def hist_of(scores: np.ndarray) -> np.ndarray:
    bins = np.clip(((scores + 1) / 2 * BINS).astype(int), 0, BINS - 1)
    return np.bincount(bins, minlength=BINS)


def test_which_pairs_count() -> None:
    rng = np.random.default_rng(0)
    crops = {pk: unit(rng.normal(size=(3, 16))) for pk in range(1, 6)}
    tracks = [
        track(1, 1, 0, 50, 0),  # overlaps 2 in time, far apart: a different-people pair
        track(2, 2, 10, 60, 200),
        track(3, 1, 70, 90, 0),  # the same person as 1 (linked): never a different-people pair
        track(4, 4, 75, 95, 5),  # touches 3 (boxes overlap): its crops may show both: left out
        track(5, 5, 200, 210, 300),  # alone in time: no pair
    ]
    genuine, impostor = score_histograms(tracks, lambda pks: {p: crops[p] for p in pks}, page=2)
    assert genuine.sum() == genuine[COLOUR].sum() == 5 * 3  # every crop against its best other crop
    assert impostor.sum() == impostor[COLOUR].sum() == 1 * (3 + 3)  # one pair (1, 2), 3 samples each way


def test_a_crowd_in_view_for_hours_costs_linear_pairs() -> None:
    """Tracks that all overlap in time: each new one is paired with the latest ``rivals`` only."""
    rng = np.random.default_rng(3)
    n, rivals = 200, 5
    crops = {pk: unit(rng.normal(size=(1, 16))) for pk in range(1, n + 1)}
    tracks = [track(pk, pk, pk, 10_000, 30 * pk) for pk in range(1, n + 1)]  # side by side, all day
    _, impostor = score_histograms(tracks, lambda pks: {p: crops[p] for p in pks}, rivals=rivals)
    pairs = sum(min(k, rivals) for k in range(n))
    assert impostor.sum() == 2 * pairs  # one crop each, both ways


def test_equal_error_point_between_the_two() -> None:
    rng = np.random.default_rng(1)
    genuine = hist_of(np.clip(rng.normal(0.85, 0.05, 5000), -1, 1))
    impostor = hist_of(np.clip(rng.normal(0.45, 0.1, 5000), -1, 1))
    floor, calibrated = equal_error_floor(genuine, impostor, CalibrationConfig(), 0.65)
    assert calibrated and floor == pytest.approx(0.717, abs=0.02)  # where 1-sided tails meet
    few = hist_of(np.full(10, 0.9))  # ten same-person pairs: too few to trust
    assert equal_error_floor(few, impostor, CalibrationConfig(), 0.65) == (0.65, False)
    alike = hist_of(np.clip(rng.normal(0.95, 0.02, 5000), -1, 1))
    bound, _ = equal_error_floor(alike, alike, CalibrationConfig(bounds=(0.55, 0.85)), 0.65)
    assert bound == 0.85


def test_old_libraries_are_calibrated_from_what_they_store(tmp_path: Path) -> None:
    library = Library(tmp_path / "lib.db")
    rng = np.random.default_rng(2)
    add_video(library, "cam1", list(unit(rng.normal(size=(6, 16)))))
    with sqlite3.connect(library.db_path) as c:  # as a library from before calibration existed
        c.execute("delete from calibration")
    assert library.score_histograms("test-reid", METHOD) is None
    floors = library_floors(library, "test-reid", CalibrationConfig(min_samples=1), 0.65)
    assert library.score_histograms("test-reid", METHOD) is not None
    calibrate_video(library, library.videos()[0].video_id, "test-reid")  # idempotent
    assert library_floors(library, "test-reid", CalibrationConfig(min_samples=1), 0.65) == floors


def test_tracks_without_colour_are_calibrated_apart() -> None:
    """A camera's night (tracks recorded without colour) and its day are two kinds of pairs: each
    kind's pairs in its own row, a pair of one of each (a dusk) in neither."""
    rng = np.random.default_rng(4)
    crops = {pk: unit(rng.normal(size=(2, 16))) for pk in range(1, 6)}
    tracks = [
        track(1, 1, 0, 50, 0),  # colour, beside 2: a colour pair
        track(2, 2, 10, 60, 200),
        track(3, 3, 100, 150, 0),  # without colour, beside 4: a colourless pair
        track(4, 4, 110, 160, 200),
        track(5, 5, 120, 170, 400),  # colour, beside 3 and 4: one of each kind, left out
    ]
    dark = {3: True, 4: True}
    genuine, impostor = score_histograms(
        tracks,
        lambda pks: {p: crops[p] for p in pks},
        colourless=lambda pks: {p: dark.get(p, False) for p in pks},
    )
    assert genuine.shape == impostor.shape == (KINDS, BINS)
    assert genuine[COLOUR].sum() == 3 * 2 and genuine[COLOURLESS].sum() == 2 * 2
    assert impostor[COLOUR].sum() == 2 * 2 and impostor[COLOURLESS].sum() == 2 * 2


def test_each_kind_has_its_floor_and_a_kind_with_few_pairs_takes_both_together(tmp_path: Path) -> None:
    library = Library(tmp_path / "lib.db")
    rng = np.random.default_rng(5)
    vid = add_video(library, "cam1", list(unit(rng.normal(size=(2, 16)))))
    day_g, day_i = hist_of(rng.normal(0.85, 0.05, 5000)), hist_of(rng.normal(0.45, 0.1, 5000))
    night_g, night_i = hist_of(rng.normal(0.9, 0.04, 5000)), hist_of(rng.normal(0.6, 0.1, 5000))
    config = CalibrationConfig()

    def stored(genuine: list[np.ndarray], impostor: list[np.ndarray]) -> None:
        library.set_score_histograms(
            vid, "test-reid", METHOD, np.concatenate(genuine), np.concatenate(impostor)
        )

    stored([day_g, night_g], [day_i, night_i])
    floors = library_floors(library, "test-reid", config, 0.65)
    assert floors.calibrated
    assert floors.colour == equal_error_floor(day_g, day_i, config, 0.65)[0]
    assert floors.colourless == equal_error_floor(night_g, night_i, config, 0.65)[0]
    assert floors.colourless > floors.colour + 0.05  # strangers look more alike in grey
    few = np.zeros(BINS, np.int64)
    few[300] = 10  # ten pairs without colour: too few to trust on their own
    stored([day_g, few], [day_i, few])
    floors = library_floors(library, "test-reid", config, 0.65)
    both = equal_error_floor(day_g + few, day_i + few, config, 0.65)[0]
    assert floors.colour == equal_error_floor(day_g, day_i, config, 0.65)[0]
    assert floors.colourless == both
