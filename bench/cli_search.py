"""A scripted search: ``main.py search --json`` run again and again from a shell, as a script or an
integration calls it (fresh process each time: start-up, imports, models, the search, the JSON).

    python -m bench.cli_search [--runs 10] [--root OTHER_CHECKOUT]

The library is TUD-Campus, indexed first by the checkout measured (``--root`` measures another one,
e.g. an older version, with its own library); the query is a crop of one of its people.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from bench.sequences import ROOT, base_sequences


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose main.py is timed")
    ap.add_argument(
        "--pyc",
        action="store_true",
        help="let Python cache compiled modules (__pycache__) as on an installed machine; without it, "
        "PYTHONDONTWRITEBYTECODE as set in the environment (every module compiled at every start)",
    )
    a = ap.parse_args()
    env = dict(os.environ)
    if a.pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    seq = base_sequences()["tud"]
    with tempfile.TemporaryDirectory(prefix="cli-search-") as tmp:
        db, query = Path(tmp) / "lib.db", Path(tmp) / "query.jpg"
        cap = cv2.VideoCapture(str(seq.video))
        for _ in range(41):
            _, frame = cap.read()
        cap.release()
        cv2.imwrite(str(query), frame[100:400, 300:420])
        run = [sys.executable, "main.py"]
        subprocess.run([*run, "index", str(seq.video), "--db", str(db), "--quiet"], cwd=a.root, check=True,
                       capture_output=True)  # fmt: skip
        times = []
        search = [*run, "search", "--query", str(query), "--db", str(db), "--json"]
        subprocess.run(search, cwd=a.root, env=env, capture_output=True)  # warm: page cache, __pycache__
        for _ in range(a.runs):
            t0 = time.perf_counter()
            p = subprocess.run(search, cwd=a.root, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            if p.returncode != 0:
                raise RuntimeError(p.stderr[-1000:])
    flag = env.get("PYTHONDONTWRITEBYTECODE", "")
    mode = "with __pycache__" if a.pyc else f"PYTHONDONTWRITEBYTECODE={flag}"
    median, fastest = statistics.median(times), min(times)
    print(f"{a.root} ({mode}): search --json median {median:.2f} s, fastest {fastest:.2f} s ({a.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
