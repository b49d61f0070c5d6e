"""What training and adapting the ReID model do, side by side with the shipped model, in one run.

    python -m bench.reid_training [--epochs 10] [--distill W] [--lr LR] [--loss softmax|arcface] [--work DIR]

Models: the shipped OSNet x0.25 (MSMT17); a supervised fine-tune on the MOT17 sample frames
(``train-reid`` on a Market layout cut from their ground truth: no sequence of any evaluation below,
and no absent-person query comes from them); and ``adapt-reid`` on each dev video's own library
(PETS09-S2L1, TUD-Campus: the library's tracks only, no ground truth used).
Figures per model: ``eval-reid`` on reid_eval_mot15 (Rank-1, mAP, mINP); end-to-end search on each
video's library re-embedded with the model (F1, top-1 with the shared evaluator) and the absent-person
rate (the people of the other sequences, PETS / TUD / ADL-Rundle-6, searched in it: rejected = no hit);
training seconds per epoch and per 1,000 crops.
Note: reid_eval_mot15 is cut from MOT15 sequences that include PETS09-S2L1 and TUD-Campus, so for the
models adapted on those videos it is not unseen footage (it is for the shipped and MOT17 models).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

from bench.reid_models import extract
from bench.retrieval_sweep import load_evaluator, queries
from bench.scratch import scratch_dir
from bench.search_quality import evaluate_absent, evaluate_present, index_into
from bench.sequences import ASSETS, ROOT, base_sequences
from models.loader import ModelConfig, ModelSet, library_reid
from models.reid import ReidConfig, ReidEmbedder
from models.reid_training.loop import TrainConfig
from pipeline.reid_benchmark import evaluate_reid
from pipeline.reid_training.dataset import load_market_train
from pipeline.reid_training.job import TrainingJob
from pipeline.reid_training.library_set import fit_batch, library_training_set
from pipeline.reid_training.mot_market import write_market_from_mot
from pipeline.reid_training.reembed import reembed_library
from pipeline.search import Searcher
from pipeline.storage import Library

SHIPPED = "reid/osnet_x0_25_msmt17.onnx"
VIDEOS = ("pets", "tud")


def copy_db(src: Path, dst: Path) -> Path:
    dst.unlink(missing_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def train(job: TrainingJob) -> dict:
    for _ in job.run():
        pass
    card = job.finish()
    crops = card["data"]["crops"] * (
        1 - card["data"]["validation_identities"] / max(card["data"]["identities"], 1)
    )
    epochs = [e for e in card["epochs"] if e["epoch"]]
    per_epoch = sum(e["seconds"] for e in epochs) / max(len(epochs), 1)
    card["bench"] = {"s_per_epoch": per_epoch, "s_per_1000_crops": per_epoch / max(crops, 1) * 1000}
    return card


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=TrainConfig().lr)
    ap.add_argument("--loss", choices=["softmax", "arcface"], default=TrainConfig().loss)
    ap.add_argument("--distill", type=float, default=TrainConfig().distill_weight, help="distill_weight")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "reid_training")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    tmp = scratch_dir("reidtrain-")
    ev, shipped = load_evaluator(), ModelSet()
    eval_set = extract(ASSETS / "reid_eval_mot15.tar")
    seqs = base_sequences()
    photos = {k: queries(ev, seqs[k], tmp) for k in ("pets", "tud", "adl")}
    config = TrainConfig(epochs=a.epochs, lr=a.lr, distill_weight=a.distill, loss=a.loss)
    print(f"training: {config}", flush=True)
    shipped_path = shipped.store.resolve(SHIPPED)
    models: dict[str, Path] = {"shipped": shipped_path}
    cards: dict[str, dict] = {}

    market = tmp / "mot17_market"
    write_market_from_mot(sorted((ASSETS / "mot17_mini").iterdir()), market)
    out = a.work / "supervised_mot17.onnx"
    cards["supervised_mot17"] = train(TrainingJob(load_market_train(market), shipped_path, out, config))
    models["supervised_mot17"] = out

    bases = {}
    for key in VIDEOS:
        bases[key] = a.work / f"{key}_shipped.db"
        lib = Library(bases[key])
        index_into(lib, seqs[key], shipped)
        data, stats = library_training_set(lib, shipped.reid_id)
        lib.close()
        out = a.work / f"adapted_{key}.onnx"
        cards[f"adapted_{key}"] = train(
            TrainingJob(data, shipped_path, out, fit_batch(config, data), extra={"adaptation": stats})
        )
        models[f"adapted_{key}"] = out

    report: dict[str, dict] = {
        "cards": {
            k: {"bench": c["bench"], "data": c["data"], "best_epoch": c["best_epoch"]}
            for k, c in cards.items()
        }
    }
    for name, path in models.items():
        r = evaluate_reid(eval_set, ReidEmbedder(path, ReidConfig())).to_json()
        report.setdefault(name, {})["eval_reid"] = {k: r[k] for k in ("rank1", "map", "minp")}
        for key in VIDEOS:
            db = copy_db(bases[key], tmp / f"{key}_{name}.db")
            lib = Library(db)
            t0 = time.perf_counter()
            if name != "shipped":
                for _ in reembed_library(lib, ReidEmbedder(path, ReidConfig()), path.name):
                    pass
            reembed_s = time.perf_counter() - t0
            ms = ModelSet(library_reid(ModelConfig(), lib.active_reid()))
            searcher = Searcher(lib, ms)
            present = evaluate_present(searcher, ev, seqs[key], photos[key], seqs[key].video)
            others = [p for k, ps in photos.items() if k != key for p in ps.values()]
            absent = evaluate_absent(searcher, others)
            report[name][key] = {
                "f1": present["f1"],
                "top1": present["top1"],
                "absent_rejected": absent["rejected"],
                "absent_n": absent["n"],
                "reembed_s": reembed_s,
            }
            lib.close()
        print(name, json.dumps(report[name]), flush=True)
    print(
        "\nmodel                 eval-reid R1 / mAP / mINP   "
        "PETS F1 / top-1 / absent-rej   TUD F1 / top-1 / absent-rej"
    )
    for name in models:
        r = report[name]
        e = r["eval_reid"]
        cells = "   ".join(
            f"{r[k]['f1']:.3f} / {r[k]['top1']:.3f} / {r[k]['absent_rejected']:.3f}" for k in VIDEOS
        )
        print(f"{name:20s}  {e['rank1']:.3f} / {e['map']:.3f} / {e['minp']:.3f}       {cells}")
    print("\ntraining (2-core CPU):")
    for name, c in cards.items():
        b, d = c["bench"], c["data"]
        print(
            f"  {name:18s} {d['crops']} crops of {d['identities']} people, best epoch {c['best_epoch']}: "
            f"{b['s_per_epoch']:.1f} s/epoch, {b['s_per_1000_crops']:.1f} s per 1,000 crops"
        )
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
