"""Compare the ReID models with and without flip augmentation and k-reciprocal re-ranking on the
Market-1501-layout evaluation set cut from MOT15 (../shared/assets/reid_eval_mot15.tar).

    python -m bench.reid_models [--dataset DIR]     # extracts the tar to a temp dir when no DIR is given

Prints one markdown table row per combination (the table in README "Choosing the ReID defaults").
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

from bench.scratch import scratch_dir
from bench.sequences import ASSETS
from models.providers import choose_device
from models.reid import ReidConfig, ReidEmbedder
from models.weights import WeightStore
from pipeline.reid_benchmark import evaluate_reid

MODELS = ("reid/osnet_x0_25_msmt17.onnx", "reid/osnet_x0_5_msmt17.onnx")


def extract(tar: Path) -> Path:
    tmp = scratch_dir("reid-eval-")
    with tarfile.open(tar) as t:
        t.extractall(tmp, filter="data")
    return next(p for p in tmp.iterdir() if p.is_dir())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=None)
    a = ap.parse_args()
    dataset = a.dataset or extract(ASSETS / "reid_eval_mot15.tar")
    store, device = WeightStore(), choose_device("auto")
    print(f"dataset {dataset}")
    print("| model | flip | re-rank | Rank-1 | Rank-5 | Rank-10 | mAP | mINP | crops/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in MODELS:
        for flip in (False, True):
            embedder = ReidEmbedder(
                store.resolve(name), replace(ReidConfig(), flip=flip), device.ort_providers
            )
            for rerank in (False, True):
                r = evaluate_reid(dataset, embedder, rerank=rerank)
                m = r.metrics
                print(
                    f"| {Path(name).stem} | {'yes' if flip else 'no'} | {'yes' if rerank else 'no'} | "
                    f"{m.rank1:.3f} | {m.rank5:.3f} | {m.rank10:.3f} | {m.map:.3f} | {m.minp:.3f} | "
                    f"{r.crops_per_s:.0f} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
