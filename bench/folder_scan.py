"""How long finding what to index in a folder takes: a recorder's export of snapshots, and a big tree.

The desktop app walks a dropped folder (on a worker thread) and ``main.py index FOLDER`` walks it
before indexing; a day of 1 fps snapshots from each of several cameras is hundreds of thousands of
files. The export is synthetic (empty ``.jpg`` files named as recorders name them, one folder per
camera and day, a few clips beside them; the walk reads names, not pixels); ``--tree`` also walks an
existing folder as it is (e.g. ``/usr``, a large tree of everything but media).

    python -m bench.folder_scan [--cameras 4] [--per-camera 86400] [--tree /usr] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.scratch import scratch_dir
from pipeline.media_scan import scan_media


def build_export(root: Path, cameras: int, per_camera: int) -> int:
    """Empty snapshot files in ``root/CHnn/2026-11-21/`` and a clip per camera; the file count."""
    for c in range(1, cameras + 1):
        day = root / f"CH{c:02d}" / "2026-11-21"
        day.mkdir(parents=True)
        for k in range(per_camera):
            h, rest = divmod(k, 3600)
            (day / f"CH{c:02d}_20261121_{h:02d}{rest // 60:02d}{rest % 60:02d}.jpg").touch()
        (root / f"CH{c:02d}" / "motion.mp4").touch()
    return cameras * (per_camera + 1)


def timed_scan(folder: Path, repeat: int) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        found = len(scan_media(folder).media)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--per-camera", type=int, default=86_400, help="snapshots per camera (a day at 1 fps)")
    ap.add_argument("--tree", type=Path, action="append", default=[], help="also walk this folder as it is")
    ap.add_argument("--repeat", type=int, default=3, help="walks per folder; the median is printed")
    args = ap.parse_args()
    root = scratch_dir("spotter-folder-scan-")
    files = build_export(root, args.cameras, args.per_camera)
    seconds, found = timed_scan(root, args.repeat)
    rate = files / seconds
    print(f"snapshot export: {files:,} files, {found} to index, {seconds:.2f} s ({rate:,.0f} files/s)")
    for tree in args.tree:
        total = sum(1 for _ in tree.rglob("*"))
        seconds, found = timed_scan(tree, args.repeat)
        print(f"{tree}: {total:,} entries, {found} to index, {seconds:.2f} s")


if __name__ == "__main__":
    main()
