"""End-to-end retrieval per ReID model, flip augmentation and k-reciprocal re-ranking.

For each model and flip setting, PETS09-S2L1 and TUD-Campus are indexed into a fresh library; every
ground-truth person is then searched (the shared evaluator's query crop and scoring, as
tests/test_e2e.py) with and without re-ranking. Re-ranked scores have their own scale, so besides
the figures at the default thresholds, the best F1 over a grid of (floor, margin) is given for both,
which favours the variant that is not the default.

    python -m bench.reid_end_to_end
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.retrieval_sweep import SEQUENCES, load_evaluator, queries
from bench.scratch import scratch_dir
from models.loader import ModelConfig, ModelSet
from models.reid import ReidConfig
from pipeline.indexer import index_video
from pipeline.search import SearchConfig, Searcher
from pipeline.storage import Library

MODELS = ("reid/osnet_x0_25_msmt17.onnx", "reid/osnet_x0_5_msmt17.onnx")
_GRID = ([0.55, 0.6, 0.65, 0.7], [0.03, 0.05, 0.08, 0.12])
GRID = {False: _GRID, True: _GRID}  # re-ranking orders hits; the cosine floor and margin choose them


def f1_for(ev, library: Library, models: ModelSet, config: SearchConfig, key: str, tmp: Path) -> dict:  # noqa: ANN001
    seq = SEQUENCES[key]
    gt = ev.load_gt(seq.gt, seq.scale, 1, False)
    searcher = Searcher(library, models, config)
    rows = []
    for person, photo in queries(ev, seq, tmp).items():
        hits = [h.to_json() for h in searcher.search(photo, video=seq.video, save=False).hits]
        rows.append(ev.score(json.loads(json.dumps(hits)), gt[person], 0.5))
    return {k: float(np.mean([r[k] for r in rows])) for k in ("top1", "f1")}


def main() -> int:
    ev = load_evaluator()
    tmp = scratch_dir("reid-e2e-")
    print("| model | flip | re-rank | PETS top-1 | PETS F1 | TUD top-1 | TUD F1 | best F1 PETS / TUD |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in MODELS:
        for flip in (False, True):
            models = ModelSet(ModelConfig(reid=replace(ReidConfig(), weights=name, flip=flip)))
            library = Library(tmp / f"{Path(name).stem}_{flip}.db")
            for key in ("pets", "tud"):
                for _ in index_video(SEQUENCES[key].video, library, models):
                    pass
            for rerank in (False, True):
                base = replace(SearchConfig(), rerank=rerank)
                at_default = {k: f1_for(ev, library, models, base, k, tmp) for k in ("pets", "tud")}
                floors, margins = GRID[rerank]
                best = {}
                for key in ("pets", "tud"):
                    grid = []
                    for floor in floors:
                        for margin in margins:
                            cfg = replace(base, min_score=floor, relative_margin=margin, calibrate=False)
                            grid.append(f1_for(ev, library, models, cfg, key, tmp)["f1"])
                    best[key] = max(grid)
                p, t = at_default["pets"], at_default["tud"]
                print(
                    f"| {Path(name).stem} | {'yes' if flip else 'no'} | {'yes' if rerank else 'no'} | "
                    f"{p['top1']:.3f} | {p['f1']:.3f} | {t['top1']:.3f} | {t['f1']:.3f} | "
                    f"{best['pets']:.3f} / {best['tud']:.3f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
