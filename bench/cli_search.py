"""A scripted search: ``main.py search --json`` run again and again from a shell, as a script or an
integration calls it (a fresh process each time), searching in its own process (start-up, imports,
models, the search, the JSON) and, in the same run alternately, answered by a running ``main.py
serve`` of the library (the caller's start-up, the request, the search in the warm service).

    python -m bench.cli_search [--runs 10] [--root OTHER_CHECKOUT] [--pyc]

The library is TUD-Campus, indexed first by the checkout measured (``--root`` measures another one,
e.g. an older version without a search service, with its own library); the query is a crop of one
of its people. Both ways must print the same JSON.
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

from bench.scratch import exit_on_sigterm
from bench.sequences import ROOT, base_sequences


def start_service(run: list[str], db: Path, root: Path, env: dict[str, str]) -> subprocess.Popen:
    """``main.py serve`` of the library, once it says it serves (its log in a file beside the library)."""
    log = db.with_suffix(".serve.log")
    with log.open("w") as f:
        proc = subprocess.Popen([*run, "serve", "--db", str(db)], cwd=root, env=env, stderr=f)
    deadline = time.monotonic() + 300
    while "serving searches" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"main.py serve did not start: {log.read_text()[-1000:]}")
        time.sleep(0.1)
    return proc


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
    exit_on_sigterm()  # a timeout's SIGTERM still stops the search service (the finally below)
    env = dict(os.environ)
    if a.pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = a.root / "pipeline" / "cli" / "parser.py"  # older checkouts had no parser module
    has_service = parser.is_file() and "--no-service" in parser.read_text()
    seq = base_sequences()["tud"]
    times: dict[str, list[float]] = {"own process": [], "service": []}
    with tempfile.TemporaryDirectory(prefix="cli-search-") as tmp:
        db, query = Path(tmp) / "lib.db", Path(tmp) / "query.jpg"
        env["XDG_RUNTIME_DIR"] = str(Path(tmp) / "run")  # this bench's service only
        Path(env["XDG_RUNTIME_DIR"]).mkdir(mode=0o700)
        cap = cv2.VideoCapture(str(seq.video))
        for _ in range(41):
            _, frame = cap.read()
        cap.release()
        cv2.imwrite(str(query), frame[100:400, 300:420])
        run = [sys.executable, "main.py"]
        subprocess.run([*run, "index", str(seq.video), "--db", str(db), "--quiet"], cwd=a.root, check=True,
                       capture_output=True)  # fmt: skip
        search = [*run, "search", "--query", str(query), "--db", str(db), "--json"]
        ways = {"own process": search + (["--no-service"] if has_service else [])}
        service = None
        if has_service:
            service = start_service(run, db, a.root, env)
            ways["service"] = search
        try:
            printed = {}
            for way, cmd in ways.items():  # warm: page cache, __pycache__
                printed[way] = subprocess.run(cmd, cwd=a.root, env=env, capture_output=True, text=True).stdout
            if len(set(printed.values())) != 1:
                raise RuntimeError(f"the service printed something else: {printed}")
            for k in range(a.runs):
                for way, cmd in list(ways.items())[:: 1 if k % 2 == 0 else -1]:
                    t0 = time.perf_counter()
                    p = subprocess.run(cmd, cwd=a.root, env=env, capture_output=True, text=True)
                    times[way].append(time.perf_counter() - t0)
                    if p.returncode != 0:
                        raise RuntimeError(p.stderr[-1000:])
        finally:
            if service is not None:
                service.terminate()
                service.wait(timeout=60)
    flag = env.get("PYTHONDONTWRITEBYTECODE", "")
    mode = "with __pycache__" if a.pyc else f"PYTHONDONTWRITEBYTECODE={flag}"
    for way, t in times.items():
        if t:
            median, fastest = statistics.median(t), min(t)
            print(f"{a.root} ({mode}), {way}: search --json median {median:.2f} s, fastest {fastest:.2f} s "
                  f"({a.runs} runs)")  # fmt: skip
    if times["service"]:
        ratio = statistics.median(times["own process"]) / statistics.median(times["service"])
        print(f"answered by the service: {ratio:.1f}x faster (medians, same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
