"""Search latency, query photo to hits, at 1e3, 1e5 and 1e6 indexed tracks (and 1e7 on request).

The library holds the real PETS09-S2L1 index plus synthetic tracks (random unit vectors, and a few
planted near-copies of the query so that there are hits to return) written straight into SQLite,
each size's as one more video of its own camera, its tracks spread over hours.
Latency is measured the way the desktop app searches: a warm ``Searcher`` (models loaded, vector
index built once), a photo in, hits out. It is split into the query photo (detector + ReID), the
matching (FAISS + re-scoring + reading the hits), and the total; medians of --queries runs. Then the
matching again with filters: one camera (PETS, a few hundred tracks of the library: a narrow filter)
and a clock window holding about half of all tracks (a wide one), and the time to read the track
table that filters work on (once per library change, like the vector index).

    python -m bench.search_latency [--sizes 1000 100000 1000000] [--queries 15]
    python -m bench.search_latency --sizes 1000000 2000000 10000000   # a fleet: ~50 GB of scratch disk

Sizes are reached in order, the library growing as a real one does (the index grows incrementally,
and is rebuilt compressed when it passes ``VectorIndexConfig.pq_min``). For each size it also prints
the searching process's peak memory, the library's size on disk, and how long a new process takes
to open the vector index from its cache file before its first search, and a search with the photo
turned grey (``pipeline.grey_query``): the first of a new ``Searcher`` (which embeds the real tracks'
best crops in grey; the synthetic tracks store no crop, so at every size that is PETS09-S2L1's
tracks, and in a real library at most ``floor_tracks`` + ``candidates`` crops) and the next ones.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from bench.scratch import scratch_dir
from bench.sequences import ASSETS
from models.loader import ModelSet
from pipeline.calibration import BINS, KINDS, METHOD
from pipeline.indexer import index_video
from pipeline.search import Searcher
from pipeline.search_filter import SearchFilter
from pipeline.storage import Library
from pipeline.video import read_frame

PETS = ASSETS / "video" / "vtest_pets09_s2l1_480x360.mp4"
PLANTED = 10  # synthetic tracks close to the query
SPREAD_S = 0.01  # synthetic track k starts k * SPREAD_S seconds into its video
T0 = datetime(2026, 11, 21, 8, 0, 0)  # every video's recording start
BATCH = 50_000
log = logging.getLogger("bench.search_latency")


def add_synthetic(db: Path, n: int, model: str, query: np.ndarray, seed: int = 0) -> int:
    """Append a video of ``n`` synthetic tracks (one track and one crop embedding each) to the
    library; returns its id."""
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(db)
    cur = con.cursor()
    cur.execute(
        "INSERT INTO videos (path, size, mtime, fingerprint, fps, frame_count, width, height, duration_s,"
        " status, frames_done, detector_id, reid_id, settings_key, settings_json, message, created_at,"
        " content_sha256, aliases_json, seek_json, report_json, camera, camera_source, start_time,"
        " start_source)"
        " VALUES (?, 1, 0, ?, 10, 1000000, 640, 480, 100000, 'done', 1000000, 'synthetic', ?, '', '{}', '',"
        " '2026-01-01', ?, '[]', '', '{}', ?, 'operator', ?, 'operator')",
        (f"/synthetic/{seed}.mp4", f"{seed:064d}", model, f"{seed:064x}", f"synthetic {n}", str(T0)),
    )
    vid = cur.lastrowid
    path = np.array([[0, 0.0, 10, 10, 40, 100, 0.9], [10, 1.0, 12, 10, 42, 100, 0.9]]).tobytes()
    (next_track,) = cur.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tracks").fetchone()
    for start in range(0, n, BATCH):
        m = min(BATCH, n - start)
        vecs = rng.standard_normal((m, query.size)).astype(np.float32)
        if start == 0:
            vecs[:PLANTED] = query + 0.35 * rng.standard_normal((PLANTED, query.size)) / np.sqrt(query.size)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        ids = range(next_track + start, next_track + start + m)
        cur.executemany(
            "INSERT INTO tracks (id, video_id, track_id, first_frame, last_frame, start_s, end_s, n_obs,"
            " path, thumbnail, quality, person, box_x1, box_y1, box_x2, box_y2, colours)"
            " VALUES (?, ?, ?, 0, 10, ?, ?, 2, ?, x'', 0.5, ?, 10, 10, 42, 100, x'')",
            [
                (i, vid, i, SPREAD_S * (start + j), SPREAD_S * (start + j) + 1, path, i)
                for j, i in enumerate(ids)
            ],
        )
        for kind in ("track", "crop"):
            cur.executemany(
                "INSERT INTO embeddings (track_pk, kind, model, vector) VALUES (?, ?, ?, ?)",
                [(i, kind, model, v.tobytes()) for i, v in zip(ids, vecs)],
            )
        con.commit()
    cur.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'embeddings_added'")
    con.commit()
    con.close()
    return vid


def gt_crop(frame: int, person: int) -> np.ndarray:
    """The ground-truth box of ``person`` at video ``frame`` of PETS09-S2L1 (gt is 768x576, 1-based)."""
    gt = np.loadtxt(ASSETS / "mot15/PETS09-S2L1/gt/gt.txt", delimiter=",")
    row = gt[(gt[:, 0] == frame + 1) & (gt[:, 1] == person)][0]
    x, y, w, h = (row[2:6] * 0.625).round().astype(int)
    return read_frame(PETS, frame)[y : y + h, x : x + w]


def measure(
    searcher: Searcher, photo: Path, runs: int, where: SearchFilter | None = None, need_hits: bool = True
) -> dict[str, float]:
    prep, again, match, total = [], [], [], []
    for _ in range(runs):
        searcher.prepared.clear()  # each run a photo the searcher has not seen
        t0 = time.perf_counter()
        query, vec = searcher.prepare(photo)
        grey_vec = searcher.grey_vector(query, vec)  # as Searcher.search: night tracks meet the grey photo
        t1 = time.perf_counter()
        searcher.grey_vector(*searcher.prepare(photo))  # the same photo again (a case searched again)
        again.append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        m = searcher.match(vec, where=where, grey_vec=grey_vec)
        hits = [(h.track_pk, h.score) for h in m.hits]
        searcher.library.save_search(str(photo), None, searcher.models.reid_id, {}, vec, hits)
        t3 = time.perf_counter()
        prep.append(t1 - t0)
        match.append(t3 - t1)
        total.append(t3 - t0)
        assert len(m.hits) >= need_hits
    parts = (("photo", prep), ("photo again", again), ("match", match), ("total", total))
    return {k: 1000 * statistics.median(v) for k, v in parts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=15)
    ap.add_argument("--increment", type=int, default=10_000, help="new tracks added to the largest library")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    tmp = scratch_dir("latency-")
    library = Library(tmp / "lib.db")
    models = ModelSet()
    for _ in index_video(PETS, library, models):
        pass
    real = len(library.video_tracks(library.video_id(PETS)))
    photo = tmp / "query.jpg"
    cv2.imwrite(str(photo), gt_crop(538, 3))
    grey_photo = tmp / "query_grey.png"
    cv2.imwrite(str(grey_photo), cv2.cvtColor(gt_crop(538, 3), cv2.COLOR_BGR2GRAY))
    library.set_camera(library.video_id(PETS), "PETS")
    library.set_start(library.video_id(PETS), T0)
    searcher = Searcher(library, models)
    _, qvec = searcher.prepare(photo)
    have = real
    for n in sorted(a.sizes):
        if n > have:
            t0 = time.perf_counter()
            vid = add_synthetic(library.db_path, n - have, models.reid_id, qvec, seed=n)
            # indexing stores each video's calibration histograms; synthetic tracks give no pairs
            empty = np.zeros(KINDS * BINS, np.int64)  # a row per kind of track
            library.set_score_histograms(vid, models.reid_id, METHOD, empty, empty)
            have = n
            log.info("%d tracks written in %.0f s", n, time.perf_counter() - t0)
        t0 = time.perf_counter()
        searcher.index  # noqa: B018 - build or refresh the vector index (once per library change)
        build = time.perf_counter() - t0
        r = measure(searcher, photo, a.queries)
        kind = searcher.index.backend
        t0 = time.perf_counter()
        searcher.filter.table()  # the track table filters work on (once per library change)
        table = time.perf_counter() - t0
        camera = measure(searcher, photo, a.queries, SearchFilter(cameras=("PETS",)))
        half = SearchFilter(start=T0, end=T0 + timedelta(seconds=SPREAD_S * have / 2))
        window = measure(searcher, photo, a.queries, half)
        t0 = time.perf_counter()
        Searcher(library, models).index  # noqa: B018 - a new process's first search opens the cache
        opened = time.perf_counter() - t0
        fresh = Searcher(library, models)
        fresh.index  # noqa: B018 - as above: the vector index is not what this times
        t0 = time.perf_counter()
        grey_hits = len(fresh.search(grey_photo, save=False).hits)
        grey_first = time.perf_counter() - t0
        grey = measure(fresh, grey_photo, a.queries, need_hits=False)
        disk = sum(f.stat().st_size for f in tmp.iterdir()) / 2**30
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        print(
            f"tracks={have} index={kind} build_s={build:.1f} photo_ms={r['photo']:.1f} "
            f"photo_again_ms={r['photo again']:.2f} "
            f"match_ms={r['match']:.1f} total_ms={r['total']:.1f} | filters: table_s={table:.1f} "
            f"camera_match_ms={camera['match']:.1f} window_match_ms={window['match']:.1f} | "
            f"new_process_index_s={opened:.1f} peak_rss_gib={peak:.2f} library_gib={disk:.1f} | "
            f"grey photo: first_ms={1000 * grey_first:.0f} total_ms={grey['total']:.1f} hits={grey_hits}",
            flush=True,
        )
    if a.increment:  # a colleague's new videos: read and added incrementally, nothing rebuilt
        before = searcher.index.size
        vid = add_synthetic(library.db_path, a.increment, models.reid_id, qvec, seed=have + a.increment)
        empty = np.zeros(KINDS * BINS, np.int64)
        library.set_score_histograms(vid, models.reid_id, METHOD, empty, empty)
        t0 = time.perf_counter()
        index = searcher.index  # reads only the new rows and adds them
        update = time.perf_counter() - t0
        t0 = time.perf_counter()
        searcher.filter.table()  # the filters' track table: also only the new tracks read
        table_update = time.perf_counter() - t0
        per_track = int(getattr(index._index, "code_size", 0))
        print(
            f"incremental: +{index.size - before} tracks to {index.size} ({index.backend}) "
            f"in {update:.2f} s; filters' track table updated in {table_update:.2f} s; "
            f"vectors held at {per_track or 4 * qvec.size} B per track (+8 B id)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
