"""A filter shows less, it does not change who a person is: a hit of a search without the filter that
lies inside it is a hit with it (pipeline/filter_scope.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from pipeline.search import SearchConfig
from pipeline.search_filter import SearchFilter
from pipeline.storage import Library
from pipeline.types import TrackRecord
from pipeline.video import VideoInfo
from tests.test_search import DIM, searcher, unit

T0 = datetime(2026, 11, 21, 23, 59, 30)
LEFT, RIGHT = [10.0, 20.0, 40.0, 100.0], [200.0, 20.0, 240.0, 100.0]


def _library(db: str, q: np.ndarray) -> tuple[Library, dict[int, int]]:
    """One camera from 23:59:30: the person walks in on the left before midnight (track 1, their best
    look, 0.95) and is followed after it on the right, seen from behind (track 2, 0.80, linked to
    track 1); another man walks there after midnight (track 3, 0.88), and a third, on the right
    too (track 4, 0.60)."""
    rng = np.random.default_rng(3)

    def look(score: float) -> np.ndarray:
        n = unit(rng.normal(size=DIM))
        return score * q + np.sqrt(1 - score**2) * unit(n - (n @ q) * q)

    def track(k: int, first: int, box: list[float], score: float) -> TrackRecord:
        frames = np.arange(first, first + 20, dtype=np.float64)
        path = np.column_stack([frames, frames / 10, np.tile([*box, 0.9], (20, 1))])
        v = look(score)
        return TrackRecord(k, path, v, v[None], (first,), b"\xff\xd8", 0.5)

    library = Library(db)
    info = VideoInfo(Path("/videos/gate.mp4"), 1, 0.0, "gate".ljust(64, "0"), 10.0, 1000, 320, 240)
    vid = library.start_video(info, "det", "test-reid", {}).video_id
    records = [track(1, 0, LEFT, 0.95), track(2, 400, RIGHT, 0.80), track(3, 700, RIGHT, 0.88)]
    library.commit_chunk(vid, [*records, track(4, 800, RIGHT, 0.60)], 1000, None, "test-reid")
    library.finish_video(vid, "done", 1000)
    library.set_camera(vid, "Gate")
    library.set_start(vid, T0)
    pks = {t.track_id: t.pk for t in library.video_tracks(vid)}
    library.set_persons(vid, {pks[1]: 1, pks[2]: 1})
    return library, pks


def test_a_hit_inside_a_window_or_region_stays_a_hit(library_db: str) -> None:
    """Under --from midnight the person's track after it was scored alone (0.80), the other man (0.88)
    became the best of the window, and the person's own sighting fell below the margin: the hit
    vanished and the wrong man took its place (a sweep, on a snapshot folder across midnight). The
    same under a region that only the later track enters. Now the person is scored by all their
    tracks, and the filter only hides what lies outside it."""
    q = unit(np.random.default_rng(4).normal(size=DIM))
    library, pks = _library(library_db, q)
    s = searcher(library, SearchConfig(min_score=0.65, calibrate=False, one_place=False))

    def hits(where: SearchFilter | None = None) -> list[int]:
        return sorted(h.track_id for h in s.match(q, where=where).hits)

    assert hits() == [1, 2]
    after_midnight = SearchFilter(start=datetime(2026, 11, 22))
    assert hits(after_midnight) == [2]
    assert hits(SearchFilter(region=(150, 0, 320, 240))) == [2]
    assert hits(SearchFilter(start=datetime(2026, 11, 22), region=(150, 0, 320, 240))) == [2]
    m = s.match(q, where=after_midnight)
    scores = {h.track_id: round(h.score, 3) for h in m.candidates}
    assert scores[2] == 0.95 and 1 not in scores  # the person's score; nothing outside the window shown
    assert m.best_score is not None and round(m.best_score, 3) == 0.95
    # only people seen inside the filter are weighed: the best of a window without the person
    later = SearchFilter(start=T0 + timedelta(seconds=65))
    assert hits(later) == [3]
    assert sorted(pks) == [1, 2, 3, 4]
    library.close()


def test_a_person_is_found_inside_the_filter_by_who_they_are(library_db: str) -> None:
    """Seen inside the window only from behind (0.25, below what a search reads at all), or inside it
    only among the person's own better tracks outside (with few candidates), the person was not
    "seen inside" and lost the window's hit to another man (a review of the first fix): the people a
    filter may show are found by their tracks, in or out, and kept when any lies inside it."""
    q = unit(np.random.default_rng(4).normal(size=DIM))
    rng = np.random.default_rng(8)

    def look(score: float) -> np.ndarray:
        n = unit(rng.normal(size=DIM))
        return score * q + np.sqrt(1 - score**2) * unit(n - (n @ q) * q)

    def track(k: int, first: int, score: float) -> TrackRecord:
        frames = np.arange(first, first + 20, dtype=np.float64)
        path = np.column_stack([frames, frames / 10, np.tile([*RIGHT, 0.9], (20, 1))])
        v = look(score)
        return TrackRecord(k, path, v, v[None], (first,), b"\xff\xd8", 0.5)

    library = Library(library_db)
    for name, records, linked in (
        ("back", [track(1, 0, 0.95), track(2, 400, 0.25), track(3, 700, 0.70)], (1, 2)),
        ("few", [track(1, 0, 0.95), track(5, 100, 0.94), track(2, 400, 0.80)], (1, 5, 2)),
    ):
        info = VideoInfo(Path(f"/videos/{name}.mp4"), 1, 0.0, name.ljust(64, "0"), 10.0, 1000, 320, 240)
        vid = library.start_video(info, "det", "test-reid", {}).video_id
        library.commit_chunk(vid, records, 1000, None, "test-reid")
        library.finish_video(vid, "done", 1000)
        library.set_start(vid, T0)
        pks = {t.track_id: t.pk for t in library.video_tracks(vid)}
        library.set_persons(vid, {pks[k]: linked[0] for k in linked})
    after_midnight = SearchFilter(start=datetime(2026, 11, 22))
    for name, candidates, unfiltered in (("back", 500, [1, 2]), ("few", 2, [1, 2, 5])):
        config = SearchConfig(min_score=0.65, calibrate=False, one_place=False, candidates=candidates)
        s = searcher(library, config)
        video = library.video_id(f"/videos/{name}.mp4")

        def hits(where: SearchFilter, video: int = video, s=s) -> list[int]:
            found = s.match(q, where=replace(where, videos=(video,)))
            return sorted(h.track_id for h in found.hits)

        assert hits(SearchFilter()) == unfiltered, name
        assert hits(after_midnight) == [2], name
    library.close()


def test_people_of_a_thousand_videos_are_read(tmp_path: Path) -> None:
    """One OR'ed term per video: SQLite refused 998 videos' people ("Expression tree is too large"),
    which a search's candidates may span in a fleet's library."""
    library = Library(str(tmp_path / "lib.db"))
    people = [(video, 1) for video in range(1, 1201)]
    assert library.people_pks(people) == {} and library.people_tracks(people) == {}
    library.close()


def test_a_grey_photos_hit_inside_a_window_stays_a_hit(tmp_path: Path) -> None:
    """A photo without colour meets colour tracks by their crops turned grey, among the nearest at any
    score; a person found that way (0.2 by the colour vector, 0.9 in grey) was lost under a window
    that holds their track, since the people of a filter were looked for at the usual floor only
    (a review)."""
    from pipeline.grey_query import GreyTracks

    q = unit(np.random.default_rng(4).normal(size=DIM))
    rng = np.random.default_rng(3)

    def track(k: int, first: int, score: float) -> TrackRecord:
        n = unit(rng.normal(size=DIM))
        v = score * q + np.sqrt(1 - score**2) * unit(n - (n @ q) * q)
        frames = np.arange(first, first + 20, dtype=np.float64)
        path = np.column_stack([frames, frames / 10, np.tile([*LEFT, 0.9], (20, 1))])
        return TrackRecord(k, path, v, v[None], (first,), b"\xff\xd8", 0.5)

    library = Library(str(tmp_path / "lib.db"))
    info = VideoInfo(Path("/videos/gate.mp4"), 1, 0.0, "gate".ljust(64, "0"), 10.0, 1000, 320, 240)
    vid = library.start_video(info, "det", "test-reid", {}).video_id
    library.commit_chunk(vid, [track(1, 0, 0.5), track(2, 400, 0.2)], 1000, None, "test-reid")
    library.finish_video(vid, "done", 1000)
    library.set_start(vid, T0)
    person = {t.track_id: t.pk for t in library.video_tracks(vid)}[2]
    s = searcher(library, SearchConfig(min_score=0.65, calibrate=False, one_place=False))

    def in_grey(vec: np.ndarray, pks: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Track 2's best crop in grey is the photo's person (the ReID model is not run here)."""
        flags = pks == person
        return np.where(flags, 0.9, scores).astype(np.float64), flags

    grey = GreyTracks(library, None)  # type: ignore[arg-type]
    grey.scores = in_grey  # type: ignore[method-assign]
    s._grey_tracks = grey
    for where in (SearchFilter(), SearchFilter(start=datetime(2026, 11, 22))):
        assert [h.track_id for h in s.match(q, where=where, grey_vec=q).hits] == [2], where
    library.close()


def test_a_track_scores_the_same_under_any_filter(library_db: str) -> None:
    """Tracks far below the library's best kept their mean score, and only those near it were scored
    by their best crop: under --video the same track was re-scored (0.55 -> 0.50) and stopped being
    a hit it had been without the filter, or became one (a sweep: 0.517 without, 0.498 with it).
    Which tracks are re-scored depends on the floor alone now."""
    rng = np.random.default_rng(5)
    q = unit(rng.normal(size=DIM))

    def look(score: float) -> np.ndarray:
        n = unit(rng.normal(size=DIM))
        return score * q + np.sqrt(1 - score**2) * unit(n - (n @ q) * q)

    library = Library(library_db)
    videos = []
    for k, (mean, crop) in enumerate([(0.95, 0.95), (0.55, 0.50)]):
        info = VideoInfo(Path(f"/videos/cam{k}.mp4"), 1, 0.0, f"cam{k}".ljust(64, "0"), 10.0, 100, 320, 240)
        vid = library.start_video(info, "det", "test-reid", {}).video_id
        frames = np.arange(0, 20, dtype=np.float64)
        path = np.column_stack([frames, frames / 10, np.tile([*LEFT, 0.9], (20, 1))])
        record = TrackRecord(1, path, look(mean), look(crop)[None], (0,), b"\xff\xd8", 0.5)
        library.commit_chunk(vid, [record], 100, None, "test-reid")
        library.finish_video(vid, "done", 100)
        videos.append(vid)
    s = searcher(library, SearchConfig(min_score=0.52, calibrate=False))

    def scored(where: SearchFilter | None = None) -> tuple[float, bool]:
        m = s.match(q, where=where)
        (track,) = [h for h in m.candidates if h.video_id == videos[1]]
        return round(track.score, 3), any(h.video_id == videos[1] for h in m.hits)

    assert scored() == scored(SearchFilter(videos=(videos[1],))) == (0.5, False)
    library.close()
