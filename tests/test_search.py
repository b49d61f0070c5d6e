"""Search: thresholds, filters, the vector index following the database (query photos: test_query.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.calibration import BINS, COLOUR, COLOURLESS, KINDS, METHOD
from pipeline.search import SearchConfig, Searcher
from pipeline.storage import Library
from pipeline.types import TrackRecord
from pipeline.video import VideoInfo
from tests.conftest import load_gt, pets, tud

DIM = 16


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


class FakeModels:
    """Stands in for the models in unit tests of the search logic: the query vector is given."""

    reid_id = "test-reid"

    def __init__(self, query: np.ndarray):
        self.query = query


def add_video(
    library: Library, name: str, vectors: list[np.ndarray], fps: float = 10.0, thumbnail: bytes = b"\xff\xd8"
) -> int:
    info = VideoInfo(Path(f"/videos/{name}.mp4"), 1, 0.0, name.ljust(64, "0"), fps, 1000, 320, 240)
    d = library.start_video(info, "det", "test-reid", {})
    records = []
    for k, v in enumerate(vectors):
        frames = np.arange(10 * k, 10 * k + 5)
        path = np.column_stack([frames, frames / fps, np.tile([10, 20, 40, 100, 0.9], (5, 1))])
        records.append(TrackRecord(k + 1, path, unit(v), unit(v)[None], (10 * k,), thumbnail, 0.5))
    library.commit_chunk(d.video_id, records, 1000, None, "test-reid")
    library.finish_video(d.video_id, "done", 1000)
    return d.video_id


def searcher(library: Library, config: SearchConfig = SearchConfig()) -> Searcher:
    return Searcher(library, FakeModels(np.zeros(DIM)), config)  # type: ignore[arg-type]


def test_hits_obey_floor_and_relative_margin(library: Library) -> None:
    rng = np.random.default_rng(0)
    q = unit(rng.normal(size=DIM))
    noise = unit(rng.normal(size=(6, DIM)))
    # build vectors with exact cosines to q: 0.95, 0.90, 0.80, 0.70, 0.3
    vecs = []
    for target, n in zip([0.95, 0.90, 0.80, 0.70, 0.3], noise):
        ortho = unit(n - (n @ q) * q)
        vecs.append(target * q + np.sqrt(1 - target**2) * ortho)
    add_video(library, "cam1", vecs)
    s = searcher(library, SearchConfig(min_score=0.6, relative_margin=0.12))
    m = s.match(q)
    assert m.best_score == pytest.approx(0.95, abs=1e-4) and m.cut == pytest.approx(0.6)  # uncalibrated
    assert [h.track_id for h in m.hits] == [1, 2]  # 0.80 is more than 0.12 below the best
    assert [h.track_id for h in m.candidates] == [1, 2, 3, 4, 5]  # everything >= display floor 0.3
    hits = searcher(library, SearchConfig(min_score=0.6, relative_margin=1.0)).match(q).hits
    assert [h.track_id for h in hits] == [1, 2, 3, 4]  # the floor alone
    hits = searcher(library, SearchConfig(min_score=0.6, relative_margin=1.0)).match(q, min_score=0.85).hits
    assert [h.track_id for h in hits] == [1, 2]
    hits = s.match(q, max_hits=1).hits
    assert len(hits) == 1
    assert hits[0].frames[0] == (0, 10.0, 20.0, 40.0, 100.0) and hits[0].end_frame == 4
    assert hits[0].to_json()["video"] == "/videos/cam1.mp4"


def test_absent_person_gets_no_hits(library: Library) -> None:
    rng = np.random.default_rng(1)
    add_video(library, "cam1", list(rng.normal(size=(20, DIM))))
    stranger = unit(rng.normal(size=DIM))
    m = searcher(library).match(stranger)
    assert m.hits == () and m.best_score is not None and m.best_score < SearchConfig().min_score


def test_video_filter_and_index_follows_the_database(library: Library) -> None:
    rng = np.random.default_rng(2)
    q = unit(rng.normal(size=DIM))
    a = add_video(library, "cam1", [q + 0.05 * rng.normal(size=DIM)])
    s = searcher(library)
    assert [h.video_id for h in s.match(q).hits] == [a]
    b = add_video(library, "cam2", [q + 0.01 * rng.normal(size=DIM)])  # added after the index was built
    assert [h.video_id for h in s.match(q).hits] == [b, a]
    assert [h.video_id for h in s.match(q, video="/videos/cam1.mp4").hits] == [a]
    assert s.match(q, video="/videos/unknown.mp4").hits == ()
    library.remove_video(b)  # a deletion rebuilds the index
    assert [h.video_id for h in s.match(q).hits] == [a]


def test_search_on_real_footage_finds_the_person(indexed, models, frame_of) -> None:
    """A ground-truth crop of a TUD-Campus pedestrian returns that pedestrian first, covering most of
    their frames, and the search is stored with its hits."""
    seq = tud()
    gt = load_gt(seq)
    person, frame = 3, 53
    x1, y1, x2, y2 = (round(v) for v in gt[person][frame])
    crop = np.ascontiguousarray(frame_of(seq.video, frame)[y1:y2, x1:x2])
    result = Searcher(indexed, models).search(crop, video=seq.video)
    assert result.hits and result.search_id is not None
    top = result.hits[0]
    overlaps = [f for f, *b in top.frames if f in gt[person] and _iou(b, gt[person][f]) >= 0.5]
    assert len(overlaps) >= 0.5 * len(top.frames)
    covered = set()
    for h in result.hits:
        covered.update(range(h.start_frame, h.end_frame + 1))
    assert len(covered & set(gt[person])) >= 0.7 * len(gt[person])
    assert indexed.hit(top.hit_id)[1] == top.track_pk


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_warm_up_loads_the_models_and_index_or_reports_a_missing_model(indexed, tmp_path: Path) -> None:
    """warm_up (run by the app at start) brings the index up to date and loads both models; a missing
    model surfaces there as the usual one-line error, before the operator's first search."""
    from dataclasses import replace

    from models.detector import DetectorConfig
    from models.errors import WeightsError
    from models.loader import ModelConfig, ModelSet

    models = ModelSet()
    searcher = Searcher(indexed, models)
    searcher.warm_up()
    assert models._detector is not None and models._reid is not None
    assert searcher._index is not None and searcher._index.size == len(indexed.video_tracks(1)) + len(
        indexed.video_tracks(2)
    )
    broken = ModelSet(ModelConfig(detector=replace(DetectorConfig(), weights="detector/missing_model.onnx")))
    with pytest.raises(WeightsError, match=r"missing_model\.onnx"):
        Searcher(indexed, broken).warm_up()


def test_a_person_in_many_videos_is_found_in_each(library: Library) -> None:
    """Hits are judged against the best person of their own video: a person scoring 0.95 in one
    video and 0.80-0.90 in others is found in all of them (a margin over the whole library kept
    only the best few), while a look-alike below the floor is found nowhere."""
    rng = np.random.default_rng(5)
    q = unit(rng.normal(size=DIM))

    def at(score: float) -> np.ndarray:
        n = unit(rng.normal(size=DIM))
        return score * q + np.sqrt(1 - score**2) * unit(n - (n @ q) * q)

    scores = [0.95, 0.9, 0.85, 0.8, 0.82, 0.88]
    vids = [add_video(library, f"cam{k}", [at(s), at(0.3)]) for k, s in enumerate(scores)]
    add_video(library, "elsewhere", [at(0.6), at(0.3)])  # only a look-alike below the floor
    per_video = searcher(library, SearchConfig(min_score=0.65, calibrate=False)).match(q)
    assert sorted(h.video_id for h in per_video.hits) == sorted(vids)
    whole = searcher(library, SearchConfig(min_score=0.65, calibrate=False, margin_over="library"))
    assert len(whole.match(q).hits) == 2  # the rule before: within 0.05 of the library's best


def test_the_floor_is_the_library_calibrated_one(library: Library) -> None:
    rng = np.random.default_rng(6)
    add_video(library, "cam1", list(unit(rng.normal(size=(3, DIM)))))
    vid = library.videos()[0].video_id
    genuine = np.zeros((KINDS, BINS), np.int64)  # a row for tracks in colour, one for those without
    impostor = np.zeros((KINDS, BINS), np.int64)
    genuine[COLOUR, int((0.9 + 1) / 2 * BINS)] = 500  # same person ~0.9, different people ~0.5
    impostor[COLOUR, int((0.5 + 1) / 2 * BINS)] = 500
    library.set_score_histograms(vid, "test-reid", METHOD, genuine.ravel(), impostor.ravel())
    s = searcher(library)
    floor, calibrated = s.calibrated_floor()
    assert calibrated and 0.5 < floor <= 0.9
    assert s.match(unit(rng.normal(size=DIM))).cut == floor
    assert s.match(unit(rng.normal(size=DIM)), min_score=0.42).cut == 0.42  # --threshold wins


def test_a_track_recorded_without_colour_is_held_to_the_nights_floor_however_it_is_met(
    library: Library,
) -> None:
    """A night track at 0.70 to the query is no hit where the night's floor is 0.80 and the day's
    0.50: neither met by the photo turned grey, nor by a vector given as it is (a confirmed night
    sighting, as refine searches with it)."""
    rng = np.random.default_rng(7)
    q = unit(rng.normal(size=DIM))
    n = unit(rng.normal(size=DIM))
    night_track = 0.7 * q + np.sqrt(1 - 0.49) * unit(n - (n @ q) * q)
    grey_jpeg = cv2.imencode(".jpg", np.full((64, 32, 3), 120, np.uint8))[1].tobytes()
    vid = add_video(library, "night", [night_track], thumbnail=grey_jpeg)
    genuine = np.zeros((KINDS, BINS), np.int64)
    impostor = np.zeros((KINDS, BINS), np.int64)
    for kind, same, other in ((COLOUR, 0.9, 0.5), (COLOURLESS, 0.95, 0.8)):
        genuine[kind, int((same + 1) / 2 * BINS)] = 500
        impostor[kind, int((other + 1) / 2 * BINS)] = 500
    library.set_score_histograms(vid, "test-reid", METHOD, genuine.ravel(), impostor.ravel())
    s = searcher(library)
    floors = s.calibrated_floors()
    assert floors.colour < 0.7 < floors.colourless
    turned_grey = unit(q + 0.05 * unit(rng.normal(size=DIM)))  # the photo turned grey: near q, not q
    assert s.match(q, grey_vec=turned_grey).hits == ()
    assert s.match(q).hits == ()  # a vector as it is: was a hit at the day's floor
    assert [h.track_id for h in s.match(q, min_score=0.6).hits] == [1]  # --threshold decides alone


def test_reranking_orders_hits_but_keeps_not_here(indexed, models, tmp_path: Path, frame_of) -> None:
    """With --rerank the hits are the same tracks (only their order may change), so a person who is
    not in the footage still gets none."""
    plain, reranked = Searcher(indexed, models), Searcher(indexed, models, SearchConfig(rerank=True))
    gt = load_gt(pets())
    for person in (1, 5, 9):
        frame, box = sorted(gt[person].items())[len(gt[person]) // 2]
        x1, y1, x2, y2 = (round(v) for v in box)
        photo = tmp_path / f"p{person}.png"
        cv2.imwrite(str(photo), frame_of(pets().video, frame)[y1:y2, x1:x2])
        a = plain.search(photo, save=False).hits
        b = reranked.search(photo, save=False).hits
        assert sorted(h.track_pk for h in a) == sorted(h.track_pk for h in b)
    frame, box = sorted(load_gt(tud())[3].items())[20]
    x1, y1, x2, y2 = (round(v) for v in box)
    photo = tmp_path / "tud.png"
    cv2.imwrite(str(photo), frame_of(tud().video, frame)[y1:y2, x1:x2])
    assert reranked.search(photo, video=pets().video, save=False).hits == ()


def test_reranked_hits_follow_the_reranked_scores(indexed, models, tmp_path: Path, frame_of) -> None:
    from pipeline.rerank import rerank_scores

    s = Searcher(indexed, models, SearchConfig(rerank=True))
    gt = load_gt(pets())
    checked = 0
    for person in gt:
        frame, box = sorted(gt[person].items())[len(gt[person]) // 2]
        x1, y1, x2, y2 = (round(v) for v in box)
        photo = tmp_path / f"r{person}.png"
        cv2.imwrite(str(photo), frame_of(pets().video, frame)[y1:y2, x1:x2])
        result = s.search(photo, save=False)
        if len({(h.video_id, h.person) for h in result.hits}) < 2:
            continue
        pks, _ = s.index.search(result.vector, -1.0, s.config.rerank_candidates)
        pks = np.unique(np.concatenate([pks, [h.track_pk for h in result.hits]]))
        rr = dict(zip(pks.tolist(), s.rerank(result.vector, pks).tolist()))
        best: dict = {}
        for h in result.hits:
            key = (h.video_id, h.person)
            best[key] = max(best.get(key, -2.0), rr[h.track_pk])
        order = [best[(h.video_id, h.person)] for h in result.hits]
        assert order == sorted(order, reverse=True)
        checked += 1
    assert checked >= 1 and rerank_scores is not None


def _track(k: int, frames: range, x: float, v: np.ndarray, fps: float = 10.0) -> TrackRecord:
    f = np.asarray(frames, float)
    boxes = np.tile([x, 20, x + 30, 100, 0.9], (len(f), 1))
    return TrackRecord(
        k, np.column_stack([f, f / fps, boxes]), unit(v), unit(v)[None], (int(f[0]),), b"\xff\xd8", 0.5
    )


def test_a_look_alike_seen_beside_the_best_hit_is_not_a_hit(library: Library) -> None:
    """One person is not in two places at once: a look-alike within the margin who was in view at
    the same time as the better hit, apart from them, is someone else; one seen at another time, one
    whose box touches the hit's (it may be the same person boxed twice) and one in another video stay."""
    rng = np.random.default_rng(7)
    q = unit(rng.normal(size=DIM))

    def at(score: float) -> np.ndarray:
        n = unit(rng.normal(size=DIM))
        return score * q + np.sqrt(1 - score**2) * unit(n - (n @ q) * q)

    records = [
        _track(1, range(0, 40), 10, at(0.95)),  # the person
        _track(2, range(10, 30), 200, at(0.93)),  # beside them, apart: someone else
        _track(3, range(60, 80), 200, at(0.92)),  # later, alone: may be them again
        _track(4, range(20, 35), 25, at(0.91)),  # box touching theirs
    ]
    for name, recs in (("cam1", records), ("cam2", [_track(1, range(10, 30), 200, at(0.93))])):
        info = VideoInfo(Path(f"/videos/{name}.mp4"), 1, 0.0, name.ljust(64, "0"), 10.0, 1000, 320, 240)
        d = library.start_video(info, "det", "test-reid", {})
        library.commit_chunk(d.video_id, recs, 1000, None, "test-reid")
        library.finish_video(d.video_id, "done", 1000)
    config = SearchConfig(min_score=0.65, calibrate=False)
    m = searcher(library, config).match(q)
    found = sorted((h.video_path.split("/")[-1], h.track_id) for h in m.hits)
    assert found == [("cam1.mp4", 1), ("cam1.mp4", 3), ("cam1.mp4", 4), ("cam2.mp4", 1)]
    assert ("cam1.mp4", 2) in {(h.video_path.split("/")[-1], h.track_id) for h in m.candidates}
    before = searcher(library, replace(config, one_place=False)).match(q)
    assert len(before.hits) == 5


def test_a_library_that_cannot_be_written_is_still_searched(
    indexed, models, frame_of, tmp_path: Path
) -> None:
    """A library on a read-only share (an archived copy): the search failed with 'cannot save search:
    attempt to write a readonly database'. It answers, says it could not be saved, and its hits have
    no ids (export --hit needs them); SQLite itself refuses the writes here (query_only)."""
    import subprocess

    from sqlalchemy import event

    from tests.conftest import copy_library
    from tests.test_cli import cli, gt_crop

    library = Library(copy_library(indexed.db_path, tmp_path / "archive.db"))
    library.engine.dispose()
    event.listen(library.engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only = ON"))
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    result = Searcher(library, models).search(query)
    assert result.hits and result.search_id is None and all(h.hit_id is None for h in result.hits)
    assert "cannot save search" in result.unsaved
    library.close()
    if subprocess.run(["chattr", "+i", str(library.db_path)], capture_output=True).returncode != 0:
        return  # (no immutable files here: the command line is checked where there are)
    try:
        p = cli("search", "--no-service", "--db", str(library.db_path), "--query", str(query))
    finally:
        subprocess.run(["chattr", "-i", str(library.db_path)], check=True)
    assert p.returncode == 0 and "TUD-Campus" in p.stdout and "not saved" in p.stdout, p.stderr
    assert "note: the search is not saved" in p.stderr and "Traceback" not in p.stderr


def test_an_older_library_that_cannot_be_written_is_calibrated_all_the_same(
    indexed, models, frame_of, tmp_path: Path
) -> None:
    """A library of before the floors per kind of track (its histograms kept by another method) on a
    read-only share: the search failed with 'cannot save the calibration scores'. Its histograms are
    computed again from what it stores, kept in memory, and the search answers at the floor the same
    library gets where it can be written."""
    import sqlite3

    from sqlalchemy import event

    from tests.conftest import copy_library
    from tests.test_cli import gt_crop

    db = copy_library(indexed.db_path, tmp_path / "older.db")
    with sqlite3.connect(db) as c:
        c.execute("update calibration set method = 'eer-2'")
    writable = Searcher(Library(copy_library(db, tmp_path / "writable.db")), models).calibrated_floors()
    library = Library(db)
    library.engine.dispose()
    event.listen(library.engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only = ON"))
    result = Searcher(library, models).search(gt_crop(tmp_path, frame_of, tud(), 3, 53))
    assert writable.calibrated and result.hits and result.cut == writable.colour
    assert "cannot save search" in result.unsaved
    library.close()
