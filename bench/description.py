"""Search by description on the dev sequences: top-1 and top-5 retrieval by clothing colours.

Each ground-truth person of PETS09-S2L1, TUD-Campus and ADL-Rundle-6 has its upper and lower
clothing colours labelled by eye in ``tests/data/clothing_colours.json``. For each, the description
(upper and lower colour) is searched in its sequence's library; a hit is the person when the shared
evaluator finds the track on them (precision >= 0.5). Reported: top-1 and top-5 (the person among
the first 1 / 5 people found), and as a yardstick the chance of top-1 / top-5 when picking people
at random among those of the sequence.

    python -m bench.description [--sequences pets tud adl]
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.retrieval_sweep import load_evaluator
from bench.scratch import scratch_dir
from bench.search_quality import indexed_searcher
from bench.sequences import ROOT, base_sequences
from models.loader import ModelSet
from pipeline.description import describe

LABELS = ROOT / "tests" / "data" / "clothing_colours.json"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", nargs="+", default=["pets", "tud", "adl"])
    a = ap.parse_args()
    labels = json.loads(LABELS.read_text())
    ev, models, known = load_evaluator(), ModelSet(), base_sequences()
    tmp = scratch_dir("describe-")
    print(f"{'sequence':<10} {'people':>6} {'top-1':>6} {'top-5':>6}   random top-1 / top-5   people indexed")
    for name in a.sequences:
        seq = known[name]
        searcher = indexed_searcher(seq, tmp / f"{name}.db", models)
        library = searcher.library
        gt = ev.load_gt(seq.gt, seq.scale, 1, False)
        top1 = top5 = n = 0
        for ident, (upper, lower) in labels[name].items():
            if int(ident) not in gt:
                continue
            hits = describe(searcher, upper, lower, max_hits=5)
            right = [ev.score([h.to_json()], gt[int(ident)], 0.5)["precision"] >= 0.5 for h in hits]
            top1 += bool(right[:1] and right[0])
            top5 += any(right)
            n += 1
        people = len({(t.video_id, t.person) for t in library.video_tracks(library.videos()[0].video_id)})
        chance = f"{1 / people:6.3f} / {min(5 / people, 1):6.3f}"
        print(f"{name:<10} {n:6d} {top1 / n:6.3f} {top5 / n:6.3f}   {chance}        {people}", flush=True)
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
