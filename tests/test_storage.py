"""Library storage: WAL, skip/resume/redo decisions, atomic chunks, full disk, persisted searches."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event, text

from pipeline.errors import StorageError
from pipeline.storage import Library
from pipeline.types import TrackRecord
from pipeline.video import VideoInfo


def video_info(path: str = "/videos/cam1.mp4", fingerprint: str = "a" * 64) -> VideoInfo:
    return VideoInfo(Path(path), 1000, 0.0, fingerprint, 10.0, 100, 320, 240)


def record(track_id: int, first: int = 0, n: int = 5, seed: int = 0, dim: int = 8) -> TrackRecord:
    rng = np.random.default_rng(seed + track_id)
    frames = np.arange(first, first + n)
    path = np.column_stack([frames, frames / 10.0, np.tile([10, 20, 40, 100, 0.9], (n, 1))])
    crops = rng.normal(size=(3, dim)).astype(np.float32)
    crops /= np.linalg.norm(crops, axis=1, keepdims=True)
    mean = crops.mean(axis=0)
    return TrackRecord(
        track_id, path, mean / np.linalg.norm(mean), crops, (first, first + 1, first + 2), b"jpg", 0.5
    )


def count(library: Library, table: str) -> int:
    with library.engine.connect() as c:
        return int(c.execute(text(f"SELECT count(*) FROM {table}")).scalar())


def test_wal_and_foreign_keys(tmp_path: Path) -> None:
    library = Library(tmp_path / "lib.db")
    with library.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_new_library_stores_vectors_without_wasting_half_its_pages(tmp_path: Path) -> None:
    """A 512-d vector (2 KB) fills a little over half of a 4 KB SQLite page, so with SQLite's default
    pages every vector took 4 KB on disk; a new library's pages hold several. An existing library
    keeps its pages and works as before."""
    import sqlite3

    library = Library(tmp_path / "lib.db")
    d = library.start_video(video_info(), "det", "reid", {})
    records = [record(k, dim=512) for k in range(1, 501)]  # 4 vectors each: the track's, 3 crops
    library.commit_chunk(d.video_id, records, 100, None, "reid")
    with library.engine.connect() as c:
        c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    per_vector = (tmp_path / "lib.db").stat().st_size / (500 * 4)
    assert per_vector < 2800, per_vector  # 2 KB of floats; it was 4.2 KB

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as c:  # a library created with 4 KB pages (SQLite's default)
        c.execute("PRAGMA page_size=4096")
        c.execute("VACUUM")
    library = Library(old)
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, records[:5], 100, None, "reid")
    with library.engine.connect() as c:
        assert c.execute(text("PRAGMA page_size")).scalar() == 4096
    assert len(library.load_embeddings("reid", "crop")[0]) == 15


def test_fresh_then_skip_when_done(library: Library) -> None:
    d = library.start_video(video_info(), "det", "reid", {"stride": 2})
    assert d.action == "fresh"
    library.commit_chunk(d.video_id, [record(1), record(2)], 100, None, "reid")
    library.finish_video(d.video_id, "done", 100)
    again = library.start_video(video_info(), "det", "reid", {"stride": 2})
    assert again.action == "skip" and again.video_id == d.video_id
    other = library.start_video(video_info(), "det", "reid", {"stride": 5})
    assert other.action == "skip" and "--force" in other.reason  # never silently throws an index away
    assert count(library, "tracks") == 2


def test_changed_file_is_redone_cleanly(library: Library) -> None:
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1)], 100, None, "reid")
    library.finish_video(d.video_id, "done", 100)
    added, removed = library.generation()
    redo = library.start_video(video_info(fingerprint="b" * 64), "det", "reid", {})
    assert redo.action == "fresh" and redo.reason.startswith("file changed") and redo.video_id == d.video_id
    assert count(library, "tracks") == 0 and count(library, "embeddings") == 0
    assert library.generation() == (added, removed + 1)


def test_other_reid_model_redoes(library: Library) -> None:
    d = library.start_video(video_info(), "det", "reid-a", {})
    library.finish_video(d.video_id, "done", 100)
    assert library.start_video(video_info(), "det", "reid-b", {}).action == "fresh"


def test_interrupted_run_resumes_from_its_checkpoint(library: Library) -> None:
    d = library.start_video(video_info(), "det", "reid", {"k": 1})
    library.commit_chunk(d.video_id, [record(1)], 40, {"next_frame": 40, "tracker": {"x": [1.5]}}, "reid")
    # crash: no finish_video. The next run resumes.
    resume = library.start_video(video_info(), "det", "reid", {"k": 1})
    assert resume.action == "resume" and resume.frames_done == 40
    assert resume.checkpoint == {"next_frame": 40, "tracker": {"x": [1.5]}}
    # other settings cannot resume that checkpoint: redo from scratch, the track kept until replaced
    redo = library.start_video(video_info(), "det", "reid", {"k": 2})
    assert redo.action == "fresh" and library.track_count(d.video_id) == 0 and count(library, "tracks") == 1
    assert redo.reason == (
        "models or settings changed; what was indexed stays searchable until this run replaces it"
    )


def test_a_run_stopped_before_its_first_checkpoint_says_so(library: Library) -> None:
    """Killed (or aborted by a second Ctrl-C) before anything was committed: the next run starts
    again, and says why; not "models or settings changed", which they did not."""
    library.start_video(video_info(), "det", "reid", {"k": 1})  # then killed: no chunk, no finish
    again = library.start_video(video_info(), "det", "reid", {"k": 1})
    assert again.action == "fresh" and again.reason.startswith("the last run was interrupted before"), again


def test_chunk_is_atomic(library: Library) -> None:
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1)], 10, {"next_frame": 10}, "reid")
    clash = dataclasses.replace(record(3), track_id=2)  # a second track 2 of the video: refused on insert
    with pytest.raises(StorageError):
        library.commit_chunk(d.video_id, [record(2), clash], 20, {"next_frame": 20}, "reid")
    assert count(library, "tracks") == 1  # record 2 rolled back with the broken one
    assert library.start_video(video_info(), "det", "reid", {}).frames_done == 10


def test_full_disk_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    library = Library(tmp_path / "lib.db")  # SQLite's page cap stands in for the full disk
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1)], 10, {"next_frame": 10}, "reid")
    with library.engine.connect() as c:
        pages = int(c.execute(text("PRAGMA page_count")).scalar())

    @event.listens_for(library.engine, "connect")
    def _cap(dbapi_conn, _rec) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    library.engine.dispose()
    big = [record(i, dim=4096) for i in range(2, 40)]
    with pytest.raises(StorageError) as info:
        library.commit_chunk(d.video_id, big, 20, {"next_frame": 20}, "reid")
    assert "disk is full" in str(info.value) and "nothing already indexed was lost" in str(info.value)
    event.remove(library.engine, "connect", _cap)
    library.engine.dispose()
    assert count(library, "tracks") == 1
    assert library.start_video(video_info(), "det", "reid", {}).frames_done == 10


def test_unusable_database_locations(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(StorageError, match=r"file\.txt is a file, not a folder"):
        Library(blocker / "sub" / "lib.db")
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StorageError, match="is a folder, not a library file"):
        Library(tmp_path / "dir.db")


def test_names_with_control_characters_are_refused(library: Library) -> None:
    with pytest.raises(StorageError, match="control characters"):
        library.create_case("esc\x1b[31mred", [])
    with pytest.raises(StorageError, match="control characters"):  # a bidi override: shown reordered
        library.create_case("invoice\u202egpj.exe", [])
    # the zero-width joiners are how Persian words and emoji sequences are written (a sweep: refused)
    for name in (
        "\u067e\u0631\u0648\u0646\u062f\u0647\u200c\u06cc \u0645\u0647\u062f\u06cc",
        "\U0001f46e\u200d\u2640\ufe0f lobby",
    ):
        library.create_case(name, [])
        assert library.case(name).name == name
    with pytest.raises(StorageError, match=r"1 to 100 characters, not 'xxxx.*\(300 characters\)"):
        library.create_case("x" * 300, [])


def test_a_database_url_with_a_port_that_is_no_number_is_one_line() -> None:
    for url in ("postgresql://u@h:abc/x", "postgresql://:@:/"):
        with pytest.raises(StorageError, match="is not a database URL"):
            Library(url)
    with pytest.raises(StorageError, match="name does not resolve"):  # not "rolled back"
        Library("postgresql://nobody@no-such-host.invalid/x")


def test_searches_and_hits_persist(library_db: str) -> None:
    library = Library(library_db)
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1), record(2)], 100, None, "reid")
    pks = sorted(t.pk for t in library.video_tracks(d.video_id))
    sid, hit_ids = library.save_search(
        "/q.jpg", (1, 2, 30, 80), "reid", {"min_score": 0.6}, np.ones(8), [(pks[1], 0.9), (pks[0], 0.7)]
    )
    library.close()
    reopened = Library(library_db)
    assert reopened.hit(hit_ids[0]) == (sid, pks[1], pytest.approx(0.9))
    assert reopened.hit(hit_ids[1])[1] == pks[0]
    assert count(reopened, "searches") == 1


def test_embeddings_roundtrip_and_generation(library: Library) -> None:
    d = library.start_video(video_info(), "det", "reid", {})
    recs = [record(1), record(2)]
    library.commit_chunk(d.video_id, recs, 100, None, "reid")
    ids, pks, vecs = library.load_embeddings("reid", "track")
    assert len(ids) == 2 and vecs.shape == (2, 8)
    assert np.allclose(vecs[0], recs[0].embedding)
    _, cpks, crops = library.load_embeddings("reid", "crop")
    assert crops.shape == (6, 8) and sorted(set(cpks.tolist())) == sorted(pks.tolist())
    assert library.load_embeddings("other", "track")[0].size == 0
    assert library.generation()[0] == 1
    info = library.tracks(pks.tolist())
    assert info[int(pks[0])].path.shape == (5, 7) and info[int(pks[0])].first_frame == 0


def test_a_done_video_lasts_as_long_as_its_frames_times_say(library: Library) -> None:
    """A variable frame rate (frames dropped at random): 318 frames over 79.1 s, the median step 0.3 s
    (3.33 fps). The library gave it 95.4 s (318 / 3.33, a helper's sweep); it lasts what the frames'
    times span."""
    vfr = VideoInfo(Path("/videos/vfr.mkv"), 1000, 0.0, "c" * 64, 10 / 3, 318, 320, 240)
    d = library.start_video(vfr, "det", "reid", {})
    library.finish_video(d.video_id, "done", 318, true_count=318, end_s=79.1)
    (video,) = library.videos()
    assert video.duration_s == pytest.approx(79.1)
