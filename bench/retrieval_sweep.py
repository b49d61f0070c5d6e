"""Sweep search thresholds and track-scoring rules on indexed MOT sequences, in one process.

Uses the evaluator's own query selection and scoring (../shared/tools/evaluate_search.py), so the
figures match what that tool prints, but scores every rule on the same embeddings in seconds. Also
measures the "absent person" case: each person's own tracks are removed and we count how often the
best remaining (wrong) track would still be returned.

    python -m bench.retrieval_sweep --db /tmp/t.db           # PETS09-S2L1 and TUD-Campus, indexed in --db
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np

from bench.scratch import scratch_dir
from bench.sequences import TOOLS, Sequence, base_sequences
from models.loader import ModelConfig, ModelSet
from models.reid import ReidConfig
from pipeline.search import Searcher
from pipeline.storage import Library, TrackInfo
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y2


def load_evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evaluate_search", TOOLS / "evaluate_search.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SEQUENCES = {k: base_sequences()[k] for k in ("pets", "tud", "adl")}
EVALUATOR_MIN_FRAMES = 20  # the evaluator's default --min-frames: identities seen less are not queried


def query_frames(ev: ModuleType, seq: Sequence, only: Collection[int] | None = None) -> dict[int, int]:
    """The frame of each identity's query crop, by the evaluator's rule (see :func:`queries`)."""
    gt = ev.load_gt(seq.gt, seq.scale, 1, False)
    cap = cv2.VideoCapture(str(seq.video))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    picks = {}
    for i, boxes in gt.items():
        if (len(boxes) < EVALUATOR_MIN_FRAMES) if only is None else (i not in only):
            continue
        ok = [
            (max(ev.occlusion(gt, i, f) - 0.3, 0), -(b[3] - b[1]), f)
            for f, b in boxes.items()
            if ev.inside_fraction(b, w, h) >= 0.9
        ]
        if ok:
            picks[i] = min(ok)[2]
    return picks


def queries(
    ev: ModuleType, seq: Sequence, outdir: Path, only: Collection[int] | None = None
) -> dict[int, Path]:
    """The evaluator's query crop per identity (same rule: tallest clear box), written to outdir.
    Identities seen in ``EVALUATOR_MIN_FRAMES`` frames or more, or those in ``only``
    whatever their number of frames (the people of a full-rate sequence, in a subsampled copy)."""
    gt = ev.load_gt(seq.gt, seq.scale, 1, False)
    picks = query_frames(ev, seq, only)
    _, _, images = ev.read_video(seq.video, set(picks.values()))
    w, h = next(iter(images.values())).shape[1::-1] if images else (0, 0)
    out = {}
    for i, f in picks.items():
        x1, y1, x2, y2 = (round(v) for v in gt[i][f])
        out[i] = outdir / f"{seq.name}_id{i}.jpg"
        crop = images[f][max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)]
        cv2.imwrite(str(out[i]), crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return out


def hit_dict(t: TrackInfo) -> dict:
    frames = [[int(r[PATH_FRAME]), *r[PATH_X1 : PATH_Y2 + 1].tolist()] for r in t.path]
    return {"start_frame": t.first_frame, "end_frame": t.last_frame, "frames": frames}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--sequences", nargs="+", default=["pets", "tud"], choices=list(SEQUENCES))
    ap.add_argument("--floors", type=float, nargs="+", default=[0.5, 0.55, 0.6, 0.62, 0.65, 0.7])
    ap.add_argument(
        "--margins", type=float, nargs="+", default=[0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.15, 1.0]
    )
    ap.add_argument("--reid-model", default=None, help="the ReID model the library was indexed with")
    ap.add_argument("--flip", action="store_true", help="the library was indexed with flip augmentation")
    ap.add_argument("--rerank", action="store_true", help="also score with k-reciprocal re-ranking")
    ap.add_argument("--rr-floors", type=float, nargs="+", default=[0.1, 0.2, 0.25, 0.3, 0.35, 0.4])
    ap.add_argument("--rr-margins", type=float, nargs="+", default=[0.1, 0.15, 0.2, 0.3, 1.0])
    a = ap.parse_args()
    ev = load_evaluator()
    library = Library(a.db)
    reid = replace(ReidConfig(), flip=a.flip, weights=a.reid_model or ReidConfig().weights)
    models = ModelSet(ModelConfig(reid=reid))
    searcher = Searcher(library, models)
    tmp = scratch_dir("sweep-")
    for key in a.sequences:
        seq = SEQUENCES[key]
        gt = ev.load_gt(seq.gt, seq.scale, 1, False)
        vid = library.video_id(seq.video)
        if vid is None:
            print(f"{seq.name}: not indexed in {a.db}")
            continue
        tracks = library.video_tracks(vid)
        pks = [t.pk for t in tracks]
        _, tpks, vecs = library.load_embeddings(models.reid_id, "track")
        row = {int(p): i for i, p in enumerate(tpks)}
        track_vecs = vecs[[row[p] for p in pks]]
        _, cpks, cvecs = library.load_embeddings(models.reid_id, "crop")
        qs = queries(ev, seq, tmp)
        per_query = {}
        for ident, qpath in qs.items():
            _, qv = searcher.prepare(qpath)
            s_mean = track_vecs @ qv
            crop_s = cvecs @ qv
            s_max = np.array([crop_s[cpks == p].max() for p in pks])
            s_avg = np.array([crop_s[cpks == p].mean() for p in pks])
            correct = np.array([ev.score([hit_dict(t)], gt[ident], 0.5)["correct"] == 1 for t in tracks])
            person = np.array([t.person for t in tracks])
            s_person = np.array([s_max[person == person[j]].max() for j in range(len(tracks))])
            per_query[ident] = {
                "mean": s_mean,
                "cropmax": s_max,
                "cropavg": s_avg,
                "cropmax+person": s_person,
                "correct": correct,
            }
            if a.rerank:
                per_query[ident]["rerank"] = searcher.rerank(qv, np.array(pks))
        print(f"\n== {seq.name}: {len(tracks)} tracks, {len(qs)} queries ==")
        rules = ("mean", "cropavg", "cropmax", "cropmax+person") + (("rerank",) if a.rerank else ())
        for rule in rules:
            best = None
            floors, margins = (a.rr_floors, a.rr_margins) if rule == "rerank" else (a.floors, a.margins)
            for floor in floors:
                for margin in margins:
                    res = []
                    absent_fp = 0
                    for ident, d in per_query.items():
                        s = d[rule]
                        order = np.argsort(-s, kind="stable")
                        cut = max(floor, s[order[0]] - margin)
                        hits = [hit_dict(tracks[j]) for j in order if s[j] >= cut]
                        res.append(ev.score(hits, gt[ident], 0.5))
                        wrong = s[~d["correct"]]
                        absent_fp += bool(len(wrong)) and wrong.max() >= floor
                    keys = ("top1", "recall", "precision", "f1", "ap")
                    m = {k: float(np.mean([r[k] for r in res])) for k in keys}
                    line = (
                        f"{rule:14s} floor={floor:.2f} margin={margin:.2f} top1={m['top1']:.3f} "
                        f"recall={m['recall']:.3f} precision={m['precision']:.3f} f1={m['f1']:.3f} "
                        f"map={m['ap']:.3f} absent_false_hits={absent_fp}/{len(per_query)}"
                    )
                    print(line)
                    if best is None or m["f1"] > best[0]:
                        best = (m["f1"], line)
            print(f"best {best[1]}")
        # separation diagnostics: score of correct vs wrong tracks
        cs = np.concatenate([d["mean"][d["correct"]] for d in per_query.values()])
        ws = np.concatenate([d["mean"][~d["correct"]] for d in per_query.values()])
        print(
            f"mean-rule scores: correct {np.mean(cs):.3f} (p10 {np.percentile(cs, 10):.3f}), "
            f"wrong {np.mean(ws):.3f} (p90 {np.percentile(ws, 90):.3f}, max {ws.max():.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
