"""An hour-long recording: memory, speed from start to end, library size, resume after kill -9, export
cost near the end, and linking time against the number of tracks.

    python -m bench.long_video [--minutes 60] [--kill-at 0.3 0.6 0.9] [--skip-index]
    python -m bench.long_video --linking-only

The video is PETS09-S2L1, TUD-Campus and ADL-Rundle-6 (resampled to 10 fps and 480x360) one after the
other until the hour is full (bench/sequences.py ``loop-1h``). ``main.py index`` runs in a fresh
process; its resident memory is sampled every 0.5 s and its progress read from the library, so the
speed of each tenth of the video is known. A second run is killed (SIGKILL) at each of ``--kill-at``
and restarted; its tracks, embeddings and search hits must equal the uninterrupted run's. Export cuts
a 4 s clip at the start and at the end of the file. Linking is timed on synthetic videos of up to
100,000 tracks, against the all-pairs method it replaced (up to where that is still bearable).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from bench.children import watch_index
from bench.hour_loop import hour_loop
from bench.sequences import ROOT
from pipeline.storage import Library, TrackInfo

OUT = ROOT / "out" / "long_video"


def progress(db: Path) -> tuple[int, int]:
    """(frames done, frame count) of the one video in a library, read without locking it."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
            row = c.execute("select frames_done, frame_count from videos").fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)
    except sqlite3.Error:
        return 0, 0


def run_index(video: Path, db: Path, kill_at: float | None = None) -> dict:
    """Index in a fresh process; returns wall time, peak RSS, RSS and time at each tenth, and whether
    it was killed (SIGKILL once ``kill_at`` of the video is done)."""
    peak, deciles = 0.0, {}

    def sample(seconds: float, rss: float) -> bool:
        nonlocal peak
        peak = max(peak, rss)
        done, total = progress(db)
        frac = done / total if total else 0.0
        for k in range(1, 11):
            if frac >= k / 10 and k not in deciles:
                deciles[k] = (seconds, rss, done)
        return kill_at is None or frac < kill_at

    t0 = time.perf_counter()
    killed = not watch_index(video, db, 0.5, sample)
    return {"wall_s": time.perf_counter() - t0, "peak_mib": peak, "deciles": deciles, "killed": killed}


def same_library(a: Path, b: Path) -> tuple[bool, str]:
    """Same tracks (boxes, times), same embeddings, same persons."""
    la, lb = Library(a), Library(b)
    va, vb = la.videos()[0].video_id, lb.videos()[0].video_id
    ta, tb = la.video_tracks(va), lb.video_tracks(vb)
    if len(ta) != len(tb):
        return False, f"{len(ta)} vs {len(tb)} tracks"
    for x, y in zip(ta, tb):
        if x.track_id != y.track_id or x.person != y.person or not np.array_equal(x.path, y.path):
            return False, f"track {x.track_id} differs"
    model = la.videos()[0].models[1]
    ea = la.embeddings_of(model, "crop", [t.pk for t in ta])
    eb = lb.embeddings_of(model, "crop", [t.pk for t in tb])
    for x, y in zip(ta, tb):
        if not np.array_equal(ea[x.pk], eb[y.pk]):
            return False, f"track {x.track_id}: embeddings differ"
    return True, f"{len(ta)} tracks, boxes, persons and embeddings identical"


def export_cost(db: Path) -> str:
    """Seconds to cut a 4 s clip at the start and at the end of the video."""
    import tempfile

    from pipeline.export import ExportConfig, export_track

    lib = Library(db)
    vid = lib.videos()[0].video_id
    tracks = lib.video_tracks(vid)
    first, last = tracks[0], max(tracks, key=lambda t: t.last_frame)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, t in (("start", first), ("end", last)):
            short = TrackInfo(**{**t.__dict__, "last_frame": t.first_frame + 20})
            t0 = time.perf_counter()
            export_track(short, Path(tmp) / f"{name}.mp4", config=ExportConfig(margin_s=1.0))
            out.append((name, t.first_frame, time.perf_counter() - t0))
    return ", ".join(f"clip at frame {f} ({n}): {s:.2f} s" for n, f, s in out)


# ----- linking -------------------------------------------------------------------------------------


def synthetic_tracks(
    n: int, fps: float = 10.0, seed: int = 0
) -> tuple[list[TrackInfo], dict[int, np.ndarray]]:
    """``n`` short tracks spread over time (about 20 alive at once), some continuing others."""
    rng = np.random.default_rng(seed)
    tracks, vecs = [], {}
    for k in range(n):
        start = int(k * 5 + rng.integers(0, 5))
        length = int(rng.integers(10, 100))
        x, y = rng.uniform(50, 400), rng.uniform(50, 300)
        frames = np.arange(start, start + length, 3, dtype=np.float64)
        path = np.zeros((len(frames), 7))
        path[:, 0], path[:, 1] = frames, frames / fps
        path[:, 2:6] = [x, y, x + 20, y + 50]
        path[:, 6] = 0.9
        tracks.append(TrackInfo(k + 1, 1, "synthetic", fps, k + 1, int(frames[0]), int(frames[-1]),
                                frames[0] / fps, frames[-1] / fps, path, k + 1))  # fmt: skip
        v = rng.normal(size=64)
        vecs[k + 1] = v / np.linalg.norm(v)
    return tracks, vecs


def all_pairs_link(tracks: list[TrackInfo], vecs: dict[int, np.ndarray]) -> None:
    """The linking method before (every pair scored, one n x n assignment), for timing only."""
    from scipy.optimize import linear_sum_assignment

    from pipeline.linking import NO_LINK, LinkConfig, link_cost

    n, cfg = len(tracks), LinkConfig()
    cost = np.full((n, n), NO_LINK)
    for i, a in enumerate(tracks):
        for j, b in enumerate(tracks):
            if i != j:
                cost[i, j] = link_cost(a, b, float(vecs[a.pk] @ vecs[b.pk]), a.fps, cfg)
    linear_sum_assignment(cost)


def linking_scaling() -> None:
    from pipeline.linking import link_tracks

    print("linking time vs tracks (seconds): tracks  now  all-pairs (before)")
    for n in (1_000, 3_000, 10_000, 30_000, 100_000):
        tracks, vecs = synthetic_tracks(n)
        t0 = time.perf_counter()
        link_tracks(tracks, vecs)
        now = time.perf_counter() - t0
        before = "-"
        if n <= 3_000:
            t0 = time.perf_counter()
            all_pairs_link(tracks, vecs)
            before = f"{time.perf_counter() - t0:.2f}"
        print(f"  {n:>7d}  {now:6.2f}  {before}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--kill-at", type=float, nargs="*", default=[0.3, 0.6, 0.9])
    ap.add_argument("--linking-only", action="store_true")
    a = ap.parse_args()
    linking_scaling()
    if a.linking_only:
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    seq = hour_loop(ROOT / "out" / "sequences", a.minutes)
    video = seq.video
    whole, resumed = OUT / "whole.db", OUT / "resumed.db"
    for p in OUT.glob("*.db*"):
        p.unlink()
    r = run_index(video, whole)
    duration = a.minutes * 60
    print(f"video {video.name}: {duration / 60:.0f} min; indexed in {r['wall_s']:.0f} s = "
          f"{duration / r['wall_s']:.2f}x real time; peak RSS {r['peak_mib']:.0f} MiB")  # fmt: skip
    prev_t, prev_f = 0.0, 0
    fps = seq.fps
    for k, (t, rss, frames) in sorted(r["deciles"].items()):
        speed = (frames - prev_f) / fps / max(t - prev_t, 1e-9)
        print(f"  {k * 10:3d} %: {t:7.0f} s, {speed:5.2f}x real time in this tenth, RSS {rss:.0f} MiB")
        prev_t, prev_f = t, frames
    size = sum(p.stat().st_size for p in OUT.glob("whole.db*"))
    mib, hours = size / 2**20, duration / 3600
    print(f"library size {mib:.1f} MiB for {hours:.2f} h: {mib / hours:.1f} MiB per hour")
    for frac in a.kill_at:
        k = run_index(video, resumed, kill_at=frac)
        print(f"  killed (SIGKILL) at {frac:.0%} after {k['wall_s']:.0f} s")
    k = run_index(video, resumed)
    print(f"  resumed to the end in {k['wall_s']:.0f} s")
    same, why = same_library(whole, resumed)
    kills = ", ".join(f"{f:.0%}" for f in a.kill_at)
    print(f"resume after kill -9 at {kills}: {'same' if same else 'DIFFERENT'} ({why})")
    print(f"export: {export_cost(whole)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
