"""Peak memory while indexing: a 1-minute and a 10-minute video, side by side.

The videos are PETS09-S2L1 looped (as H.264, 480x360, 10 fps) to the wanted length. Each is indexed
in its own process whose resident memory (RSS) is sampled every 0.2 s; memory that stays flat does
not grow with the length of the video.

    python -m bench.memory [--minutes 1 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from bench.children import watch_index
from bench.sequences import ASSETS
from pipeline.video import VideoReader, probe

PETS = ASSETS / "video" / "vtest_pets09_s2l1_480x360.mp4"


def looped_video(out: Path, minutes: float) -> Path:
    """PETS09-S2L1 played forwards and backwards until ``minutes`` long (no jump at the seams)."""
    import av

    frames = [f.image for f in VideoReader(probe(PETS))]
    cycle = frames + frames[::-1]
    total = round(minutes * 60 * 10)
    with av.open(str(out), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=Fraction(10))
        s.width, s.height, s.pix_fmt = 480, 360, "yuv420p"
        s.options = {"preset": "veryfast", "crf": "23"}
        for k in range(total):
            for p in s.encode(av.VideoFrame.from_ndarray(cycle[k % len(cycle)], format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return out


def peak_rss(video: Path, db: Path) -> tuple[float, list[tuple[float, float]], float]:
    """(peak RSS MiB, [(seconds, RSS MiB)] samples, wall seconds) of one `main.py index` run."""
    t0 = time.perf_counter()
    samples: list[tuple[float, float]] = []

    def sample(seconds: float, rss: float) -> bool:
        samples.append((seconds, rss))
        return True  # to its end

    watch_index(video, db, 0.2, sample)
    return max(r for _, r in samples), samples, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="memory-") as tmp:
        for minutes in a.minutes:
            video = looped_video(Path(tmp) / f"loop_{minutes:g}min.mp4", minutes)
            peak, samples, wall = peak_rss(video, Path(tmp) / f"{minutes:g}.db")
            # memory at 25 %, 50 %, 75 % and 100 % of the run: flat means no growth with length
            marks = [
                samples[min(len(samples) - 1, int(q * len(samples)))][1] for q in (0.25, 0.5, 0.75, 0.999)
            ]
            print(
                f"video_min={minutes:g} index_s={wall:.1f} x_realtime={minutes * 60 / wall:.2f} "
                f"peak_rss_mib={peak:.0f} rss_at_25_50_75_100pct={'/'.join(f'{m:.0f}' for m in marks)}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
