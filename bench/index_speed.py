"""Index speed of Spotter and of the off-the-shelf peer, measured side by side in one run.

Each run indexes the PETS09-S2L1 video (79.5 s) from the command line into a fresh database, wall time
including process start and model loading, as an operator or the evaluator experiences it. Runs of
the two alternate so that machine load affects both alike.

    python -m bench.index_speed [--repeat 2] [--video V] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PEER = SHARED / "tools" / "baseline_ultralytics.py"
PETS = SHARED / "assets" / "video" / "vtest_pets09_s2l1_480x360.mp4"


def duration_s(video: Path) -> float:
    cap = cv2.VideoCapture(str(video))
    frames, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames / fps


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr[-1000:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=PETS)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--no-peer", action="store_true", help="time Spotter only")
    ap.add_argument("--extra", default="", help="extra arguments for Spotter's index command")
    a = ap.parse_args()
    video = a.video.resolve()
    dur = duration_s(video)
    ours, peer = [], []
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        for k in range(a.repeat):
            order = ("peer", "spotter") if k % 2 == 0 else ("spotter", "peer")
            for who in order:
                db = Path(tmp) / f"{who}{k}.db"
                if who == "spotter":
                    cmd = [
                        sys.executable,
                        "main.py",
                        "index",
                        str(video),
                        "--db",
                        str(db),
                        "--device",
                        a.device,
                    ]
                    ours.append(timed(cmd))
                    print(
                        f"spotter run {k + 1}: {ours[-1]:.1f} s = {dur / ours[-1]:.2f}x real time", flush=True
                    )
                elif not a.no_peer:
                    peer.append(timed([sys.executable, str(PEER), "index", str(video), "--db", str(db)]))
                    print(
                        f"peer    run {k + 1}: {peer[-1]:.1f} s = {dur / peer[-1]:.2f}x real time", flush=True
                    )
    s = statistics.median(ours)
    line = f"video={video.name} duration_s={dur:.1f} spotter_s={s:.1f} spotter_x_realtime={dur / s:.2f}"
    if peer:
        p = statistics.median(peer)
        line += f" peer_s={p:.1f} peer_x_realtime={dur / p:.2f} speedup_vs_peer={p / s:.2f}"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
