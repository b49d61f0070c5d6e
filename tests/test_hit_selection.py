"""Which people of a search are hits: each held to the floor of their kind of track, within the margin
of the best person of their video who reaches their own floor."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.hit_selection import PersonFloors, best_track_flagged, chosen_people, margin_scope
from pipeline.search_config import SearchConfig
from pipeline.storage.clock import VideoClock
from tests.test_calibration import track


def person(video: int, person: int, first: int) -> list:
    return [replace(track(person, person, first, first + 10, 0), video_id=video)]


def test_a_person_below_their_own_floor_does_not_set_the_margin() -> None:
    """A night look-alike at 0.74 (the night floor 0.765) is no hit, and does not push the day's
    person at 0.68 (the day floor 0.65) out of the margin either: one camera's day and night."""
    night, day = person(1, 1, 0), person(1, 2, 100)
    floors = PersonFloors(colour=0.65, colourless=0.765, in_grey=0.79, night=frozenset({(1, 1)}))
    assert chosen_people([(0.74, night), (0.68, day)], floors, margin=0.05) == {(1, 2)}
    assert chosen_people([(0.80, night), (0.68, day)], floors, margin=0.05) == {(1, 1)}  # 0.68 < 0.75


def test_each_video_has_its_own_margin_unless_asked_otherwise() -> None:
    a, b = person(1, 1, 0), person(2, 1, 0)
    floors = PersonFloors(0.6, 0.6, 0.6)
    assert chosen_people([(0.95, a), (0.80, b)], floors, 0.05) == {(1, 1), (2, 1)}
    whole_library = margin_scope("library", {})
    assert chosen_people([(0.95, a), (0.80, b)], floors, 0.05, whole_library) == {(1, 1)}


def test_a_camera_scope_weighs_the_files_of_one_camera_together() -> None:
    """Videos 1 and 2 are two files of camera A, video 3 is camera B: the person at 0.80 in A's
    second file falls under A's best (0.95); B's best is judged on its own."""
    a1, a2, b = person(1, 1, 0), person(2, 1, 0), person(3, 1, 0)
    cameras = {1: VideoClock("A", None), 2: VideoClock("A", None), 3: VideoClock("B", None)}
    floors = PersonFloors(0.6, 0.6, 0.6)
    people = [(0.95, a1), (0.80, a2), (0.78, b)]
    assert chosen_people(people, floors, 0.05, margin_scope("camera", cameras)) == {(1, 1), (3, 1)}
    assert chosen_people(people, floors, 0.05, margin_scope("video", cameras)) == {(1, 1), (2, 1), (3, 1)}
    assert chosen_people(people, floors, 0.05, margin_scope("camera", {})) == {(1, 1), (2, 1), (3, 1)}
    unnamed = {1: VideoClock("", None), 2: VideoClock("", None), 3: VideoClock("B", None)}  # each its own
    assert chosen_people(people, floors, 0.05, margin_scope("camera", unnamed)) == {(1, 1), (2, 1), (3, 1)}


def test_a_margin_scope_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="margin_over"):
        SearchConfig(margin_over="site")


def test_the_kind_of_a_person_is_that_of_their_best_track() -> None:
    pks, scores = np.array([1, 2, 3]), np.array([0.9, 0.7, 0.8])
    owners = {1: (1, 1), 2: (1, 1), 3: (1, 2)}
    assert best_track_flagged(pks, scores, np.array([False, True, True]), owners) == {(1, 2)}
