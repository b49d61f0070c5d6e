"""Cameras and wall-clock times: the operator's corrections, the cases that follow them, and search
filters (cameras, a time window, a region) that decide the candidate set (where cameras and times
come from: test_camera_guess.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from pipeline.cameras import (
    FROM_CONTAINER,
    FROM_FOLDER,
    OPERATOR,
    clock_label,
    container_creation_time,
    guess_camera,
    parse_clock,
)
from pipeline.errors import SearchError, StorageError
from pipeline.search import SearchConfig
from pipeline.search_filter import SearchFilter
from pipeline.search_index import VectorIndex, VectorIndexConfig
from pipeline.storage import Library
from pipeline.types import TrackRecord
from pipeline.video import VideoInfo
from tests.conftest import copy_library
from tests.test_search import DIM, add_video, searcher, unit

T0 = datetime(2026, 11, 21, 14, 30, 0)


def test_clock_times_parse_and_print() -> None:
    assert parse_clock("2026-11-21T14:30:00") == T0
    assert parse_clock("2026-11-21 14:30") == T0
    assert parse_clock("2026-11-21") == datetime(2026, 11, 21)
    for bad in ("yesterday", "2026-13-01", "14:30", ""):
        with pytest.raises(ValueError, match="not a date and time"):
            parse_clock(bad)
    assert clock_label(T0, 67.4, "Entrance") == "2026-11-21 14:31:07, Entrance"
    assert clock_label(None, 67.4, "Entrance") == "1:07.4, Entrance"


def test_operator_corrections_survive_indexing_again(library_db: str) -> None:
    library = Library(library_db)
    vid = add_video(library, "cam", [np.ones(DIM)])
    path = library.videos()[0].path
    library.record_clock_guess(vid, path, ("videos", FROM_FOLDER), (None, ""))
    library.set_camera(vid, "  Front   door ")
    library.set_start(vid, T0)
    library.record_clock_guess(vid, path, ("videos", FROM_FOLDER), (datetime(2020, 1, 1), FROM_CONTAINER))
    clock = library.clocks()[vid]
    assert (clock.camera, clock.start, clock.camera_source, clock.start_source) == (
        "Front door",
        T0,
        OPERATOR,
        OPERATOR,
    )
    v = library.videos()[0]
    assert (v.camera, v.start_time) == ("Front door", T0)
    with pytest.raises(StorageError, match="camera name"):
        library.set_camera(vid, "   ")
    with pytest.raises(StorageError, match="no video 99"):
        library.set_start(99, T0)


def test_a_cases_filter_follows_its_camera_renamed(library_db: str) -> None:
    """A case filtered to camera 'Lobby' stopped refining and reporting ("no camera named 'Lobby'")
    once its videos were named 'Entrance', and nothing could change the case's filter (a sweep). The
    filter follows when the last video of the old name is renamed; another camera's stays."""

    library = Library(library_db)
    one, two = (add_video(library, name, [np.ones(DIM)]) for name in ("lobby1", "lobby2"))
    garage = add_video(library, "garage", [np.ones(DIM)])
    for vid, camera in ((one, "Lobby"), (two, "Lobby"), (garage, "Garage")):
        library.set_camera(vid, camera)
    library.create_case("theft", [], "")
    library.update_case("theft", filter_json=json.dumps({"cameras": ["Lobby", "Garage"], "from": None}))
    library.create_case("other", [], "")
    assert library.set_camera(one, "Entrance") == []  # 'Lobby' still names video two
    assert library.set_camera(two, "Entrance") == ["theft"]
    assert json.loads(library.case("theft").filter_json) == {"cameras": ["Entrance", "Garage"], "from": None}
    assert json.loads(library.case("other").filter_json or "{}") == {}
    assert library.set_camera(garage, "Entrance") == ["theft"]  # two names become one
    assert json.loads(library.case("theft").filter_json)["cameras"] == ["Entrance"]
    library.update_case("other", filter_json=json.dumps({"videos": [garage]}))
    library.close()
    if "://" not in library_db:  # the filter is shown (it was by --json only), videos by their paths
        from tests.test_cli import cli

        shown = cli("case", "show", "theft", "--db", library_db)
        assert "  filter: cameras: Entrance\n" in shown.stdout, shown.stdout
        shown = cli("case", "show", "other", "--db", library_db)
        assert "  filter: videos: /videos/garage.mp4\n" in shown.stdout, shown.stdout


def test_an_older_library_gets_cameras_and_starts_from_its_paths(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    library = Library(db)
    add_video(library, "Cam07_20261121_143000", [np.ones(DIM)])
    library.close()
    with sqlite3.connect(db) as c:  # as schema 3 left it: no camera or start columns
        for column in ("camera", "camera_source", "start_time", "start_source"):
            c.execute(f"ALTER TABLE videos DROP COLUMN {column}")
        for column in ("box_x1", "box_y1", "box_x2", "box_y2", "colours"):
            c.execute(f"ALTER TABLE tracks DROP COLUMN {column}")
        c.execute("DROP TABLE case_marks")
        c.execute("DROP TABLE case_photos")
        c.execute("DROP TABLE cases")
        c.execute("DROP TABLE alembic_version")
        c.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    upgraded = Library(db)
    v = upgraded.videos()[0]
    assert (v.camera, v.start_time, v.tracks) == ("Cam07", T0, 1)
    assert upgraded.track_times().boxes.tolist() == [[10.0, 20.0, 40.0, 100.0]]  # from its stored path
    assert upgraded.tracks_without_colours() == [upgraded.video_tracks(v.video_id)[0].pk]  # backfilled later


def cameras_library(db: str | Path, q: np.ndarray) -> tuple[Library, dict[str, int]]:
    """Three videos, two cameras, known starts an hour apart (one unknown): the best match of the
    query is in the first, a slightly weaker one in each other video."""
    library = Library(db)
    rng = np.random.default_rng(0)
    ids = {}
    for name, camera, start, target in (
        ("a", "Entrance", T0, 0.95),
        ("b", "Entrance", T0 + timedelta(hours=1), 0.90),
        ("c", "Yard", None, 0.85),
    ):
        n = unit(rng.normal(size=DIM))
        look = target * q + np.sqrt(1 - target**2) * unit(n - (n @ q) * q)
        others = list(unit(rng.normal(size=(30, DIM))))
        ids[name] = add_video(library, name, [look, *others])  # the look-alike is track 1, at 0-0.4 s
        library.set_camera(ids[name], camera)
        library.set_start(ids[name], start)
    return library, ids


@pytest.mark.parametrize("ivf", [False, True])
def test_filters_choose_the_candidates(library_db: str, ivf: bool) -> None:
    q = unit(np.random.default_rng(5).normal(size=DIM))
    library, ids = cameras_library(library_db, q)
    index = VectorIndexConfig(ivf_min=10, nlist_per_sqrt=1.0, nprobe=1) if ivf else VectorIndexConfig()
    # one candidate only, no calibration: only a filter applied to the candidate set finds the rest
    s = searcher(library, SearchConfig(min_score=0.5, relative_margin=1.0, candidates=1, index=index))

    def videos(where: SearchFilter) -> list[int]:
        return [h.video_id for h in s.match(q, where=where).hits]

    assert videos(SearchFilter()) == [ids["a"]]
    assert s.index.backend == ("ivf" if ivf else "flat")
    assert videos(SearchFilter(cameras=("Yard",))) == [ids["c"]]
    assert videos(SearchFilter(start=T0 + timedelta(minutes=30))) == [ids["b"]]
    assert videos(SearchFilter(end=T0 + timedelta(seconds=0.2))) == [ids["a"]]  # overlaps its start
    assert videos(SearchFilter(start=T0 + timedelta(seconds=0.5), end=T0 + timedelta(minutes=59))) == []
    m = s.match(q, where=SearchFilter(cameras=("Entrance", "Yard"), start=T0))
    assert [h.video_id for h in m.hits] == [ids["a"]] and m.videos_without_start == 1
    hit = m.hits[0]
    assert (hit.camera, hit.start_time) == ("Entrance", T0)
    assert hit.to_json()["start_time"] == "2026-11-21T14:30:00.000"
    with pytest.raises(SearchError, match=r"no camera named 'Gate'.*Entrance, Yard"):
        s.match(q, where=SearchFilter(cameras=("Gate",)))
    with pytest.raises(SearchError, match=r"ends .* before it starts"):
        SearchFilter(start=T0, end=T0 - timedelta(seconds=1))


def test_a_narrow_filter_on_an_ivf_index_finds_its_exact_best(tmp_path: Path) -> None:
    """IVF scans few lists; the allowed tracks of a narrow filter are mostly elsewhere, so the search
    widens to the lists that hold them: the result equals brute force over the allowed tracks."""
    rng = np.random.default_rng(7)
    vectors = unit(rng.normal(size=(2000, DIM))).astype(np.float32)
    pks = np.arange(1, 2001, dtype=np.int64)
    index = VectorIndex(Library(tmp_path / "lib.db"), "test-reid", VectorIndexConfig(ivf_min=100, nprobe=1))
    index.add_vectors(vectors, pks)
    assert index.backend == "ivf"
    for trial in range(20):
        q = unit(rng.normal(size=DIM))
        allowed = np.sort(rng.choice(pks, size=8, replace=False))
        got, _ = index.search(q, -1.0, 3, allowed)
        best = allowed[np.argsort(-(vectors[allowed - 1] @ q))[:3]]
        assert got.tolist() == best.tolist(), trial
        assert set(got.tolist()) <= set(allowed.tolist())


def test_cameras_and_clock_times_on_the_command_line(tmp_path: Path, indexed, frame_of) -> None:
    """Indexing guessed each video's camera from its folder; the operator renames one and sets its
    start; search filters by camera and clock time and prints the clock in JSON; mistakes are one
    line and exit 2, and leave the library as it was."""

    from tests.conftest import pets, tud
    from tests.test_cli import cli, gt_crop

    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    listed = {v["path"]: v for v in json.loads(cli("videos", "--json", "--db", str(db)).stdout)["videos"]}
    pets_v, tud_v = listed[str(pets().video.resolve())], listed[str(tud().video.resolve())]
    tagged = container_creation_time(pets().video)  # the file's creation_time tag: its start
    assert tagged is not None and pets_v["start_time"] == tagged.isoformat(timespec="milliseconds")
    assert pets_v["camera"] == pets().video.parent.name and tud_v["camera"] == "TUD-Campus"
    assert cli("videos", "--db", str(db), "--set-start", str(pets_v["id"]), "none").returncode == 0

    assert cli("videos", "--db", str(db), "--set-camera", str(tud().video), "Yard").returncode == 0
    p = cli("videos", "--db", str(db), "--set-start", str(tud_v["id"]), "2026-11-21T14:30:00")
    assert p.returncode == 0 and "camera 'Yard', start 2026-11-21 14:30:00" in p.stdout
    listed = {v["id"]: v for v in json.loads(cli("videos", "--json", "--db", str(db)).stdout)["videos"]}
    assert (listed[tud_v["id"]]["camera"], listed[tud_v["id"]]["start_time"]) == (
        "Yard",
        "2026-11-21T14:30:00.000",
    )

    query = str(gt_crop(tmp_path, frame_of, tud(), 3, 53))

    def search(*extra: str) -> subprocess.CompletedProcess:
        return cli("search", "--db", str(db), "--query", query, "--json", *extra)

    hits = json.loads(search("--camera", "Yard").stdout)["hits"]
    assert hits and all(h["camera"] == "Yard" and h["video"] == str(tud().video.resolve()) for h in hits)
    start = datetime.fromisoformat(hits[0]["start_time"])
    assert start == T0 + timedelta(seconds=hits[0]["start_s"])
    inside = search("--from", "2026-11-21T14:30:01", "--to", "2026-11-21 14:30:02")
    assert json.loads(inside.stdout)["hits"] and "1 video(s) left out" in inside.stderr
    assert json.loads(search("--from", "2026-11-21T15:00:00").stdout)["hits"] == []
    assert json.loads(search("--camera", pets().video.parent.name).stdout)["hits"] == []  # not there

    hits = json.loads(search("--region", "0,0,320,480").stdout)["hits"]  # TUD's left half (640x480)
    assert hits and all(min(f[1] for f in h["frames"]) < 320 for h in hits)
    before = cli("videos", "--json", "--db", str(db)).stdout
    for args, words in (
        (("--camera", "Gate"), "no camera named 'Gate'"),
        (("--region", "5000,5000,6000,6000"), "outside the frame of every video"),
        (("--region", "10,10,5"), "X1,Y1,X2,Y2"),
        (("--from", "2026-11-21T15:00", "--to", "2026-11-21T14:00"), "before it starts"),
        (("--from", "yesterday"), "not a date and time"),
    ):
        p = search(*args)
        assert p.returncode == 2 and words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    for args, words in (
        (("--set-camera", "/no/such.mp4", "X"), "is not a video of the library"),
        (("--set-start", str(tud_v["id"]), "soon"), "not a date and time"),
        (("--set-start", str(tud_v["id"]), ""), "no time given"),  # an unset shell variable
        (("--set-start", str(tud_v["id"]), "9999-12-31T23:59:59"), "outside the years"),
        (("--set-camera", str(tud_v["id"]), " "), "camera name"),
        (("--set-camera", str(tud_v["id"]), "esc\x1b[31mred"), "control characters"),
    ):
        p = cli("videos", "--db", str(db), *args)
        assert p.returncode == 2 and words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert cli("videos", "--json", "--db", str(db)).stdout == before  # nothing changed


def test_a_region_keeps_the_tracks_that_enter_it(library_db: str) -> None:
    """Region filters: by the union of a track's boxes for the candidates, then by its own boxes."""
    q = unit(np.random.default_rng(9).normal(size=DIM))
    library = Library(library_db)

    def look(target: float, seed: int) -> np.ndarray:
        n = unit(np.random.default_rng(seed).normal(size=DIM))
        return target * q + np.sqrt(1 - target**2) * unit(n - (n @ q) * q)

    def track(k: int, boxes: list[list[float]], vector: np.ndarray) -> TrackRecord:
        frames = np.arange(len(boxes), dtype=np.float64)
        path = np.column_stack([frames, frames / 10, np.array(boxes), np.full(len(boxes), 0.9)])
        return TrackRecord(k, path, vector, vector[None], (0,), b"\xff\xd8", 0.5)

    info = VideoInfo(Path("/videos/r.mp4"), 1, 0.0, "r".ljust(64, "0"), 10.0, 100, 320, 240)
    vid = library.start_video(info, "det", "test-reid", {}).video_id
    left, right = [10, 20, 40, 100], [200, 20, 240, 100]
    records = [
        track(1, [left], look(0.95, 1)),  # the best match, on the left
        track(2, [right], look(0.90, 2)),  # on the right
        track(3, [left, right], look(0.85, 3)),  # jumps from left to right: never in the middle
        track(4, [[110, 20, 140, 100]], look(0.78, 4)),  # in the middle, weaker than track 3
        track(5, [[260, 120, 290, 200]], look(0.70, 5)),  # bottom right, and its other fragment (6)
        track(
            6, [[10, 120, 40, 200], [290, 10, 310, 60]], look(0.60, 6)
        ),  # linked with 5; never bottom right
    ]
    library.commit_chunk(vid, records, 100, None, "test-reid")
    library.finish_video(vid, "done", 100)
    pks = {t.track_id: t.pk for t in library.video_tracks(vid)}
    library.set_persons(vid, {pks[5]: 5, pks[6]: 5})
    s = searcher(library, SearchConfig(min_score=0.5, relative_margin=1.0, candidates=1, calibrate=False))

    def found(region: tuple) -> list[int]:
        return [h.track_id for h in s.match(q, where=SearchFilter(region=region)).candidates]

    assert found((150, 0, 320, 240)) == [2]  # one candidate, and it is the right side's best
    margin = searcher(library, SearchConfig(min_score=0.5, calibrate=False))  # within 0.05 of the best
    inside = margin.match(q, where=SearchFilter(region=(100, 0, 150, 240)))  # track 3's union box covers it
    assert [h.track_id for h in inside.hits] == [4]  # and not measured against track 3, which is not inside
    assert 1 in found((0, 0, 50, 50))
    walk = searcher(library, SearchConfig(min_score=0.5, relative_margin=1.0, calibrate=False))
    bottom_right = walk.match(q, where=SearchFilter(region=(250, 110, 320, 240)))
    assert [h.track_id for h in bottom_right.candidates] == [5]  # not its fragment outside the region
    with pytest.raises(SearchError, match="outside the frame of every video searched"):
        s.match(q, where=SearchFilter(region=(400, 300, 500, 400)))
    for above_or_left in ((-100, -100, -50, -50), (-100, 0, 0, 240), (0, -30, 320, 0)):  # a sweep: searched
        with pytest.raises(SearchError, match="outside the frame of every video searched"):
            s.match(q, where=SearchFilter(region=above_or_left))
    with pytest.raises(SearchError, match="X1 < X2"):
        SearchFilter(region=(50, 0, 10, 10))


def test_the_track_table_takes_in_new_tracks_without_reading_it_all_again(library_db: str) -> None:
    """Filters work on a table of every track (25 s to read at ten million tracks); when tracks are
    added it reads only those and merges them in, each into its own video's rows (also tracks of a
    video still being indexed, whose keys interleave with another video's); a removal reads it all
    again. Always equal to a table read from scratch."""
    from pipeline.search_filter import ByVideo, TrackFilter
    from tests.test_storage import record, video_info

    library = Library(library_db)
    a = add_video(library, "a", list(unit(np.random.default_rng(1).normal(size=(5, DIM)))))
    reads: list[int] = []
    real = library.track_times

    def counted(*args, **kwargs):  # the real read, its row counts recorded
        out = real(*args, **kwargs)
        reads.append(len(out.pks))
        return out

    library.track_times = counted  # type: ignore[method-assign]
    tracks = TrackFilter(library)

    def same_as_fresh() -> None:
        got, fresh = tracks.table(), ByVideo.of(real())
        assert got.videos.tolist() == fresh.videos.tolist()
        assert got.bounds.tolist() == fresh.bounds.tolist()
        for field in ("pks", "video_ids", "start_s", "end_s", "boxes"):
            assert np.array_equal(getattr(got.table, field), getattr(fresh.table, field)), field

    same_as_fresh()
    growing = library.start_video(video_info("/videos/d.mp4", "d" * 64), "det", "test-reid", {})
    d = growing.video_id
    library.commit_chunk(d, [record(k, first=10 * k, dim=DIM) for k in (1, 2)], 30, {"x": 1}, "test-reid")
    same_as_fresh()
    b = add_video(library, "b", list(unit(np.random.default_rng(2).normal(size=(3, DIM)))))
    same_as_fresh()
    library.commit_chunk(d, [record(k, first=10 * k, dim=DIM) for k in (3, 4, 5)], 60, {"x": 2}, "test-reid")
    reads.clear()
    same_as_fresh()  # d's second chunk has keys above b's: merged into d's rows, not after b's
    assert reads[0] == 3  # only the new tracks
    assert tracks.table().rows(d).stop - tracks.table().rows(d).start == 5
    library.remove_video(a)
    reads.clear()
    same_as_fresh()
    assert reads[0] == 8  # a removal: everything read again (b's 3, d's 5)
    assert b in tracks.table().videos.tolist() and a not in tracks.table().videos.tolist()


def test_names_that_look_alike_are_one_name(library_db: str) -> None:
    """'café' typed as e + U+0301 (as macOS writes file names) and as one letter made two cases that
    both printed 'café', and --camera in one form did not find a camera named in the other; a
    --camera with two spaces did not find the camera whose name --set-camera had collapsed (a
    sweep). Names are kept and compared composed (NFC), white space collapsed."""
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    q = unit(np.random.default_rng(5).normal(size=DIM))
    library, ids = cameras_library(library_db, q)
    library.set_camera(ids["c"], f"{decomposed}  yard")
    assert library.clocks()[ids["c"]].camera == f"{composed} yard"
    s = searcher(library, SearchConfig(min_score=0.5, relative_margin=1.0, candidates=1))
    for typed in (f"{decomposed} yard", f"{composed}   yard"):
        assert [h.video_id for h in s.match(q, where=SearchFilter(cameras=(typed,))).hits] == [ids["c"]]
    library.create_case(decomposed, [])
    with pytest.raises(StorageError, match="already"):
        library.create_case(composed, [])
    assert [c[0] for c in library.cases()] == [composed]
    assert library.case(decomposed).name == composed
    assert guess_camera(f"/v/{decomposed}_20261121_143000.mp4")[0] == composed
    library.close()
