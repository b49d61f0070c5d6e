"""A video indexed again with other models or settings: the review marks on a track the new run cut
otherwise go to the new track that shows the same person, by the rule case files use
(:mod:`pipeline.mark_matching`); only those with no such track are dropped, and said."""

from __future__ import annotations

import numpy as np

from pipeline.mark_matching import drop_stale
from pipeline.storage import Library
from pipeline.types import TrackRecord
from tests.test_storage import video_info


def walker(track_id: int, first: int, last: int, x0: float, seed: int = 0) -> TrackRecord:
    """A person walking right from ``x0`` (2 px a frame), seen at every frame from first to last."""
    frames = np.arange(first, last + 1, dtype=np.float64)
    x = x0 + 2.0 * (frames - first)
    path = np.column_stack(
        [frames, frames / 10.0, x, np.full_like(x, 20), x + 30, np.full_like(x, 100), frames * 0 + 0.9]
    )
    rng = np.random.default_rng(seed + track_id)
    crops = rng.normal(size=(3, 8)).astype(np.float32)
    crops /= np.linalg.norm(crops, axis=1, keepdims=True)
    mean = crops.mean(axis=0)
    return TrackRecord(
        track_id, path, mean / np.linalg.norm(mean), crops, (first, first + 1, first + 2), b"jpg", 0.5
    )


def test_marks_follow_the_person_when_a_new_run_cuts_tracks_otherwise(library: Library) -> None:
    d = library.start_video(video_info(), "det", "reid", {})
    first_run = [walker(1, 0, 99, 0), walker(2, 0, 99, 400), walker(3, 20, 60, 800), walker(4, 0, 99, 1200)]
    library.commit_chunk(d.video_id, first_run, 100, None, "reid")
    library.finish_video(d.video_id, "done", 100)
    pks = {t.track_id: t.pk for t in library.video_tracks(d.video_id)}
    library.create_case("gate", [])
    library.create_case("yard", [])
    library.mark("gate", pks[1], "confirmed")  # the walker from x=0
    library.mark("gate", pks[3], "rejected")  # a passer-by the new run does not see at all
    library.mark("yard", pks[2], "confirmed")
    library.mark("yard", pks[4], "rejected")

    library.start_video(video_info(), "det", "reid", {}, force=True)
    # another model: the walker from x=0 is found late (a track begun elsewhere: not found again
    # by its start), the walker from 400 split in two, the walker from 1200 is found as before
    second_run = [
        walker(1, 10, 99, 20, seed=7),
        walker(2, 0, 39, 400),
        walker(5, 45, 99, 490),
        walker(4, 0, 99, 1200),
    ]
    library.commit_chunk(d.video_id, second_run, 100, None, "reid")
    said = drop_stale(library, d.video_id)
    assert said == (
        "2 review mark(s) moved to the new tracks of the same people; "
        "1 review mark(s) in case(s) 'gate' dropped: their tracks were not found again"
    )
    now = {t.track_id: t.pk for t in library.video_tracks(d.video_id)}
    assert sorted(now) == [1, 2, 4, 5] and now[4] == pks[4]  # found again by its start: its key kept
    assert (
        library.case("gate").marked("confirmed") == (now[1],)
        and library.case("gate").marked("rejected") == ()
    )
    assert library.case("yard").marked("confirmed") == (now[5],)  # the longer piece: most of the span
    assert library.case("yard").marked("rejected") == (pks[4],)
    assert drop_stale(library, d.video_id) == ""


def test_a_case_with_a_mark_on_the_new_track_keeps_it(library: Library) -> None:
    """A case that marked a new track while the run went on (the operator's latest word) keeps that
    mark: the old track's mark on the same person is not moved over it, and is removed, said as
    such (it was counted with the marks whose tracks were not found again: a review of the change)."""
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [walker(1, 0, 99, 0), walker(2, 0, 99, 600)], 100, None, "reid")
    library.finish_video(d.video_id, "done", 100)
    pks = {t.track_id: t.pk for t in library.video_tracks(d.video_id)}
    library.create_case("gate", [])
    library.mark("gate", pks[1], "confirmed")
    library.mark("gate", pks[2], "rejected")
    library.start_video(video_info(), "det", "reid", {}, force=True)
    library.commit_chunk(d.video_id, [walker(7, 5, 99, 10), walker(8, 5, 99, 610)], 50, None, "reid")
    new = {t.track_id: t.pk for t in library.video_tracks(d.video_id) if t.track_id in (7, 8)}
    library.mark("gate", new[8], "confirmed")  # marked during the run: the operator's latest word
    assert drop_stale(library, d.video_id) == (
        "1 review mark(s) moved to the new tracks of the same people; "
        "1 not moved: their case had marked the same person's new track already"
    )
    assert library.case("gate").marked("confirmed") == (new[7], new[8])
    assert library.case("gate").marked("rejected") == ()


def test_a_mark_on_a_fragment_follows_the_person_into_a_longer_track(library: Library) -> None:
    """A confirmation on a fragment (14 frames) was dropped when the new run followed the same person
    in one track of 60 frames (a sweep: --stride 2 joined fragments): the spans had to overlap by half
    of the longer. The boxes agree on every marked frame: the mark moves. A track of another person
    at the same time still gets nothing."""
    d = library.start_video(video_info(), "det", "reid", {})
    first_run = [walker(1, 0, 19, 0), walker(2, 30, 43, 60), walker(3, 30, 43, 600)]
    library.commit_chunk(d.video_id, first_run, 100, None, "reid")
    library.finish_video(d.video_id, "done", 100)
    pks = {t.track_id: t.pk for t in library.video_tracks(d.video_id)}
    library.create_case("gate", [])
    library.mark("gate", pks[2], "confirmed")
    library.start_video(video_info(), "det", "reid", {}, force=True)
    library.commit_chunk(d.video_id, [walker(1, 0, 59, 0), walker(9, 25, 50, 590)], 100, None, "reid")
    said = drop_stale(library, d.video_id)
    assert said.startswith("1 review mark(s) moved to the new tracks of the same people"), said
    now = {t.track_id: t.pk for t in library.video_tracks(d.video_id)}
    assert library.case("gate").marked("confirmed") == (now[1],)
