"""Refining a case within a filter: the person's confirmed sightings outside the filter (another
camera, a region their path does not enter) are not listed; one inside it below the floor is."""

from __future__ import annotations

import numpy as np

from pipeline.refine import Review, refine
from pipeline.search import SearchConfig
from tests.test_review import E, people_library
from tests.test_search import add_video, searcher


def test_refining_within_a_filter_lists_no_confirmed_sighting_outside_it(library_db: str) -> None:
    """A sweep's case filtered to one camera listed, scored 1.000, the person's confirmed sightings on
    another camera; a confirmed sighting inside the filter but below the floor is still listed."""
    from pipeline.search_filter import SearchFilter

    library, t = people_library(library_db)
    elsewhere = add_video(library, "yard", [0.3 * E[0] + np.sqrt(1 - 0.09) * E[5]])  # far below the floor
    library.set_camera(library.videos()[0].video_id, "Gate")
    library.set_camera(elsewhere, "Yard")
    yard = library.video_tracks(elsewhere)[0].pk
    s = searcher(library, SearchConfig(min_score=0.65, relative_margin=1.0, calibrate=False))
    review = Review((E[0],), confirmed=(t["T1"], yard))
    assert yard in {h.track_pk for h in refine(s, review).hits}  # below the floor: still the person
    assert yard in {h.track_pk for h in refine(s, review, SearchFilter(cameras=("Yard",))).hits}
    assert yard not in {h.track_pk for h in refine(s, review, SearchFilter(cameras=("Gate",))).hits}
    # a region its path does not enter (the test tracks' boxes are at 10-40 x 20-100): left out too
    assert yard not in {h.track_pk for h in refine(s, review, SearchFilter(region=(200, 200, 300, 300))).hits}
    assert yard in {h.track_pk for h in refine(s, review, SearchFilter(region=(0, 0, 50, 50))).hits}


def test_confirmed_sightings_stay_when_nothing_can_be_searched_with(library_db: str) -> None:
    """A case whose photos and confirmed tracks have no vectors of the model in use (the library
    moved to another ReID model) gave no hits at all, and its report said every confirmed sighting
    was outside the filter (a review). They are the person still."""
    library, t = people_library(library_db)
    s = searcher(library, SearchConfig(min_score=0.65, calibrate=False))
    s.models.reid_id = "another-reid"  # no vector of the case's tracks is this model's
    result = refine(s, Review((), confirmed=(t["T1"],)))
    assert [h.track_pk for h in result.hits] == [t["T1"]]
