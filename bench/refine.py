"""What refining a search with the operator's review does, on the dev sequences.

For every ground-truth person (the shared evaluator's query crop) a simulated operator searches,
looks at the first 5 hits, confirms those that are the person (by the evaluator: the hit's frames
overlap the person's ground truth) and rejects the others, and refines once
(:mod:`pipeline.refine`). Recall, precision and F1 of the hits (the shared evaluator's scoring)
before and after, averaged over people, side by side in one run; and how many people had a hit
rejected or confirmed.

    python -m bench.refine [--sequences pets tud adl]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench.retrieval_sweep import load_evaluator, queries
from bench.scratch import scratch_dir
from bench.search_quality import indexed_searcher
from bench.sequences import base_sequences
from models.loader import ModelSet
from pipeline.refine import Review, refine

REVIEWED = 5  # hits the simulated operator looks at


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", nargs="+", default=["pets", "tud", "adl"])
    a = ap.parse_args()
    ev, models = load_evaluator(), ModelSet()
    known = base_sequences()
    tmp = scratch_dir("refine-")
    print(f"{'sequence':<10} {'':>7} {'recall':>7} {'precision':>9} {'f1':>6}   people  confirmed  rejected")
    for name in a.sequences:
        seq = known[name]
        searcher = indexed_searcher(seq, tmp / f"{name}.db", models)
        library = searcher.library
        gt = ev.load_gt(seq.gt, seq.scale, 1, False)
        (tmp / name).mkdir(exist_ok=True)
        photos = queries(ev, seq, tmp / name)
        before, after, n_conf, n_rej = [], [], 0, 0
        for ident, photo in photos.items():
            if ident not in gt:
                continue
            _, vec = searcher.prepare(photo)
            first = searcher.match(vec)
            shown = first.hits[:REVIEWED]
            correct = [ev.score([h.to_json()], gt[ident], 0.5)["precision"] >= 0.5 for h in shown]
            review = Review(
                (vec,),
                tuple(h.track_pk for h, ok in zip(shown, correct) if ok),
                tuple(h.track_pk for h, ok in zip(shown, correct) if not ok),
            )
            n_conf += bool(review.confirmed)
            n_rej += bool(review.rejected)
            refined = refine(searcher, review)
            before.append(ev.score([h.to_json() for h in first.hits], gt[ident], 0.5))
            after.append(ev.score([h.to_json() for h in refined.hits], gt[ident], 0.5))
        for label, rows in (("before", before), ("refined", after)):
            m = {k: float(np.mean([r[k] for r in rows])) for k in ("recall", "precision", "f1")}
            print(
                f"{name:<10} {label:>7} {m['recall']:7.3f} {m['precision']:9.3f} {m['f1']:6.3f}   "
                f"{len(rows):6d}  {n_conf:9d}  {n_rej:8d}",
                flush=True,
            )
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
