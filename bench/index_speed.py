"""Index speed of Spotter, of the off-the-shelf peer, and of merely decoding the video, side by side.

Each run is a fresh process, wall time including start-up and model loading, as an operator or the
evaluator experiences it: ``main.py index`` into a new library, the peer's index command, and a
decode of every frame (PyAV/FFmpeg with its threads, no conversion to pixels: the floor no indexer
can go under on a CPU). Runs of the three alternate so that machine load affects them alike.

    python -m bench.index_speed [--videos pets adl pets-in1080p@1 ...] [--repeat 3] [--no-peer]
                                [--before OTHER_CHECKOUT]

``--before`` also times another checkout's ``main.py index`` (e.g. a worktree of an earlier commit)
in the same interleaved runs, so before and after are compared under the same load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.children import run_child
from bench.sequences import ROOT, TOOLS

PEER = TOOLS / "baseline_ultralytics.py"


def decode_all(video: str) -> None:
    """Decode every frame of a video, as fast as FFmpeg goes (the floor of indexing)."""
    import av

    with av.open(video) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in c.decode(stream):
            pass


def timed(cmd: list[str], cwd: Path = ROOT) -> float:
    t0 = time.perf_counter()
    proc = run_child(cmd, cwd)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr[-1000:]}")
    return elapsed


def measure(video: Path, repeat: int, device: str, peer: bool, before: Path | None = None) -> str:
    from pipeline.video import probe

    info = probe(video)
    duration = info.frame_count / info.fps
    runs: dict[str, list[float]] = {"decode": [], "spotter": [], "before": [], "peer": []}
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        for k in range(repeat):
            order = ["decode", "spotter"] + (["before"] if before else []) + (["peer"] if peer else [])
            for who in order if k % 2 == 0 else order[::-1]:
                db = Path(tmp) / f"{who}{k}.db"
                if who == "decode":
                    cmd = [sys.executable, "-m", "bench.index_speed", "--decode-only", str(video)]
                elif who in ("spotter", "before"):
                    cmd = [
                        sys.executable,
                        "main.py",
                        "index",
                        str(video),
                        "--db",
                        str(db),
                        "--device",
                        device,
                    ]
                else:
                    cmd = [sys.executable, str(PEER), "index", str(video), "--db", str(db)]
                runs[who].append(timed(cmd, before if who == "before" and before else ROOT))
                print(f"  {video.name} {who:7s} run {k + 1}: {runs[who][-1]:.1f} s", flush=True)
    med = {who: statistics.median(v) for who, v in runs.items() if v}
    line = (
        f"{video.name} {info.width}x{info.height} {duration:.1f} s: decode {med['decode']:.1f} s, "
        f"spotter {med['spotter']:.1f} s = {duration / med['spotter']:.2f}x real time = "
        f"{med['spotter'] / med['decode']:.2f}x the decoding time"
    )
    if "before" in med:
        line += f"; before {med['before']:.1f} s = {duration / med['before']:.2f}x real time"
    if "peer" in med:
        line += f"; peer {med['peer']:.1f} s = {duration / med['peer']:.2f}x real time"
    return line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", nargs="+", default=["pets", "adl"], help="bench/sequences.py keys or files")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--no-peer", action="store_true", help="time Spotter and decoding only")
    ap.add_argument("--before", type=Path, default=None, help="another checkout to time alongside")
    ap.add_argument("--decode-only", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.decode_only:
        decode_all(a.decode_only)
        return 0
    from bench.sequences import sequence

    lines = []
    for v in a.videos:
        video = Path(v) if Path(v).exists() else sequence(v).video
        lines.append(measure(video.resolve(), a.repeat, a.device, not a.no_peer, a.before))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
