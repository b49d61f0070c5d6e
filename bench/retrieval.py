"""Retrieval quality of Spotter and of the off-the-shelf peer with the shared evaluator, side by side.

Runs ../shared/tools/evaluate_search.py (its docstring defines top-1, interval recall and precision,
F1, mAP) for both implementations on PETS09-S2L1, TUD-Campus and ADL-Rundle-6 (1080p) and prints each
summary line; the index step is timed by the evaluator too (x_realtime, command line start-up
included). Any sequence of bench/sequences.py can be named (derived ones are built first); a
subsampled one is judged on the people seen for as long as the full rate's (the evaluator's 20 frames
scaled by the rate), each queried, as the evaluator does, with a crop from its own frames.

    python -m bench.retrieval [--sequences pets tud adl pets@2fps ...] [--no-peer]
"""

from __future__ import annotations

import argparse
import sys

from bench.children import run_child
from bench.retrieval_sweep import EVALUATOR_MIN_FRAMES
from bench.sequences import ROOT, TOOLS, Sequence, base_sequences, is_subsampled, sequence

EVALUATOR = TOOLS / "evaluate_search.py"
PEER = TOOLS / "baseline_ultralytics.py"


def min_frames(seq: Sequence) -> int:
    """The evaluator's ``--min-frames`` for a sequence: its default of 20 at the source's own rate, the
    same time on screen at a lower one (a subsampled copy is judged on the same people)."""
    if not is_subsampled(seq):
        return EVALUATOR_MIN_FRAMES
    return max(1, round(EVALUATOR_MIN_FRAMES * seq.fps / base_sequences()[seq.source].fps))


def evaluate(seq: Sequence, peer: bool) -> str:
    cmd = [
        sys.executable,
        str(EVALUATOR),
        "--workdir",
        str(ROOT),
        "--python",
        sys.executable,
        "--video",
        str(seq.video),
        "--gt",
        str(seq.gt),
        "--scale",
        str(seq.scale),
        "--min-frames",
        str(min_frames(seq)),
    ]
    if peer:
        cmd += [
            "--index-cmd",
            f"{{python}} {PEER} index {{video}} --db {{db}}",
            "--search-cmd",
            f"{{python}} {PEER} search --db {{db}} --query {{query}} --json",
        ]
    proc = run_child(cmd, ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return proc.stdout.strip().splitlines()[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", nargs="+", default=["pets", "tud", "adl"])
    ap.add_argument("--no-peer", action="store_true")
    a = ap.parse_args()
    for key in a.sequences:
        for who in ("spotter",) if a.no_peer else ("peer", "spotter"):
            line = evaluate(sequence(key), peer=who == "peer")
            print(f"{key:4s} {who:7s} {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
