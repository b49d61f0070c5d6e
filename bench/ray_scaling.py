"""Indexing on Ray: 1 vs 2 workers on 8 short videos, Ray's own overhead, and the fleet arithmetic.

    python -m bench.ray_scaling [--videos 8] [--seconds 10]

The videos are cuts of PETS09-S2L1 (480x360, 10 fps) of ``--seconds`` each, from different parts of
the sequence. In one run: the same videos indexed one by one in this process (the models loaded
once), then by a Ray job on a local cluster with 1 and with 2 workers (a fresh SQLite library each
time; the cluster is started once, before the timings). Ray's per-task overhead is the round trip of
an empty actor call; the per-video overhead of a job is (job time - in-process time) / videos with one
worker, against the same videos in this process with the models on one thread (a worker's share:
one CPU each). The projection takes the measured per-worker speed
(x real time) to a fleet: camera-hours indexed per worker-day = 24 * speed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

from bench.sequences import base_sequences, cut
from models.loader import ModelConfig, ModelSet
from models.providers import limit_cpu_threads
from pipeline.distributed.ray_index import RayIndexJob, start_ray
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library


def cuts(source: Path, out: Path, n: int, seconds: float) -> list[Path]:
    """``n`` cuts of ``seconds`` each, spread over the video."""
    cap = cv2.VideoCapture(str(source))
    fps, total = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    length = int(seconds * fps)
    starts = [(k * (total - length)) // max(n - 1, 1) for k in range(n)]
    return [cut(source, out / f"cut{k}.mp4", start, length) for k, start in enumerate(starts)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    import ray

    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        folder = Path(tmp)
        videos = cuts(base_sequences()["pets"].video, folder, a.videos, a.seconds)
        footage_s = a.videos * a.seconds

        inproc = {}
        for threads in (0, 1):  # all cores, then one thread as a Ray worker's models get
            limit_cpu_threads(threads)
            models = ModelSet(ModelConfig(device="cpu"))
            t0 = time.perf_counter()
            library = Library(folder / f"inproc{threads}.db")
            for v in videos:
                for _ in index_video(v, library, models, IndexConfig()):
                    pass
            inproc[threads] = time.perf_counter() - t0
        limit_cpu_threads(0)

        t0 = time.perf_counter()
        start_ray("local", 2)
        cluster_start = time.perf_counter() - t0

        @ray.remote(num_cpus=0)
        class Echo:
            def ping(self) -> int:
                return 1

        echo = Echo.remote()
        ray.get(echo.ping.remote())
        trips = []
        for _ in range(200):
            t = time.perf_counter()
            ray.get(echo.ping.remote())
            trips.append(time.perf_counter() - t)

        walls = {}
        for workers in (1, 2):
            lib = Library(folder / f"ray{workers}.db")
            t0 = time.perf_counter()
            for _ in RayIndexJob(videos, lib, ModelConfig(device="cpu"), IndexConfig(), workers).run():
                pass
            walls[workers] = time.perf_counter() - t0
            assert [v.status for v in lib.videos()] == ["done"] * a.videos
        ray.shutdown()

    per_worker_speed = footage_s / walls[1]
    print(f"{a.videos} videos x {a.seconds:.0f} s (PETS09-S2L1 cuts, 480x360, 10 fps) = {footage_s:.0f} s")
    print(f"in this process, one by one:   {inproc[0]:6.1f} s ({footage_s / inproc[0]:.2f}x real time)")
    print(f"the same, models on 1 thread:  {inproc[1]:6.1f} s ({footage_s / inproc[1]:.2f}x real time)")
    print(f"Ray, 1 worker:                 {walls[1]:6.1f} s ({per_worker_speed:.2f}x real time)")
    print(f"Ray, 2 workers:                {walls[2]:6.1f} s ({footage_s / walls[2]:.2f}x real time)")
    print(f"2 workers / 1 worker speed-up: {walls[1] / walls[2]:.2f}x (2 cores)")
    print(f"local cluster start: {cluster_start:.1f} s (once per `--ray local` job)")
    print(f"Ray round trip of an empty actor call: median {statistics.median(trips) * 1e3:.2f} ms")
    print(f"per-video overhead of a job (1 worker against 1 thread in process): "
          f"{(walls[1] - inproc[1]) / a.videos:.2f} s (scheduling, the worker's start and model "
          "loading spread over its videos, the result copied into the SQLite library)")  # fmt: skip
    per_day = 24 * per_worker_speed
    need = 1200 / per_day
    print(f"fleet: one CPU worker at {per_worker_speed:.2f}x real time indexes 24 h x "
          f"{per_worker_speed:.2f} = {per_day:.0f} camera-hours a day; 50 cameras record 1,200 "
          "camera-hours a day, so "
          f"1200 / {per_day:.0f} = {need:.0f} such workers keep up (at this footage's density)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
