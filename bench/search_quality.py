"""Search quality on real and derived footage: present people (top-1, recall, precision, F1, mAP with
the shared evaluator's own scoring) and absent people (does a search for someone who is not there
come back empty?), in one process, with the models loaded once.

    python -m bench.search_quality [--sequences pets tud adl pets@1fps ...] [--work out/quality]

With several samples of one rate (``pets@1fps pets@1fps+3 pets@1fps+7``), their mean F1 is printed
beside the full rate's.

For each sequence its own library is indexed (reused when present) and every ground-truth person is
searched with the evaluator's query crop (the tallest clear view; for a derived sequence at a lower
frame rate, the same photo as at full rate, so only the footage differs; with ``--photos own``, the
evaluator's pick among its own frames, as the evaluator run on that video would query, for the same
people as at full rate). Then one library holds the
three base sequences (PETS09-S2L1, TUD-Campus, ADL-Rundle-6) and:
- present: each person is searched in that library; hits in other videos count as wrong footage;
- absent: each person is searched in a copy of it without their own video, and every identity of the
  MOT17 sample frames (other cameras, other people; MOT17-09, ADL-Rundle-6's street and people, left
  out) in the whole library; a query is rejected when it gets no hits at all.
With ``--night`` that library holds the three without colour (``-night``: an infrared camera at
night), searched with the same colour photos; with ``--mixed`` it holds both, the three in colour and
without (one camera's day and night), each person scored in each copy, absent without either.
With ``--grey-photos`` every query photo is turned grey
(a still from a black-and-white or night camera, a photocopy) and searched in the colour footage.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.retrieval_sweep import load_evaluator, queries
from bench.scratch import scratch_dir
from bench.sequences import ASSETS, ROOT, SAME_SCENE, Sequence, base_sequences, is_subsampled, sequence
from models.loader import ModelSet
from pipeline.camera_motion import CameraMotionConfig
from pipeline.indexer import IndexConfig, index_video
from pipeline.search import SearchConfig, Searcher
from pipeline.storage import Library

METRICS = ("top1", "recall", "precision", "f1", "ap")
BASE = ("pets", "tud", "adl")


def index_into(
    library: Library, seq: Sequence, models: ModelSet, config: IndexConfig = IndexConfig()
) -> float:
    """Index a sequence (resumes/skips as the indexer does); wall seconds."""
    t0 = time.perf_counter()
    for _ in index_video(seq.video, library, models, config):
        pass
    return time.perf_counter() - t0


def indexed_searcher(seq: Sequence, db: Path, models: ModelSet) -> Searcher:
    """A searcher over a library at ``db`` holding ``seq`` (indexed now unless it already is)."""
    library = Library(db)
    index_into(library, seq, models)
    return Searcher(library, models)


def mot17_queries(outdir: Path, min_height: int = 50) -> list[Path]:
    """One crop per MOT17 sample identity: its tallest fully visible box (visibility >= 0.7)."""
    out = []
    for seq_dir in sorted((ASSETS / "mot17_mini").iterdir()):
        gt = np.loadtxt(seq_dir / "gt" / "gt.txt", delimiter=",", ndmin=2)
        gt = gt[(gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] >= 0.7) & (gt[:, 5] >= min_height)]
        for ident in np.unique(gt[:, 1]):
            rows = gt[gt[:, 1] == ident]
            frame, _, x, y, w, h = rows[np.argmax(rows[:, 5])][:6]
            image = cv2.imread(str(seq_dir / "img1" / f"{int(frame):06d}.jpg"))
            ih, iw = image.shape[:2]
            if x < 0 or y < 0 or x + w > iw or y + h > ih:
                continue
            path = outdir / f"{seq_dir.name}_id{int(ident)}.jpg"
            cv2.imwrite(str(path), image[int(y) : int(y + h), int(x) : int(x + w)])
            out.append(path)
    return out


def evaluate_present(
    searcher: Searcher,
    ev: object,
    seq: Sequence,
    photos: dict[int, Path],
    video: Path,
    same: tuple[Path, ...] = (),
) -> dict[str, float]:
    """Mean evaluator metrics over identities; hits outside ``video`` count as wrong footage, except
    in ``same`` (other copies of the footage, holding the same people: scored on their own)."""
    gt = ev.load_gt(seq.gt, seq.scale, 1, False)
    rows, foreign = [], 0
    for ident, photo in photos.items():
        if ident not in gt:
            continue
        try:
            result = searcher.search(photo, save=False)
        except Exception as e:  # a refused query counts as no hits, as the evaluator counts it
            print(f"  {seq.name} id {ident}: query failed: {e}", file=sys.stderr)
            rows.append(ev.score([], gt[ident], 0.5))
            continue
        hits = [h.to_json() for h in result.hits]
        mine = [h for h in hits if Path(h["video"]) == video.resolve()]
        m = ev.score(mine, gt[ident], 0.5)
        copies = {v.resolve() for v in same}
        other = sum(
            h["end_frame"] - h["start_frame"] + 1
            for h in hits
            if h not in mine and Path(h["video"]) not in copies
        )
        if other:  # footage of another video an operator would review for nothing
            total = sum(h["end_frame"] - h["start_frame"] + 1 for h in mine) + other
            good = m["precision"] * (total - other)
            m["precision"] = good / total
            p, r = m["precision"], m["recall"]
            m["f1"] = 2 * p * r / (p + r) if p + r else 0.0
            foreign += 1
        rows.append(m)
    out = {k: float(np.mean([r[k] for r in rows])) for k in METRICS}
    out |= {"n": len(rows), "queries_with_foreign_hits": foreign}
    return out


def evaluate_absent(searcher: Searcher, photos: list[Path]) -> dict[str, float]:
    hits, best = [], []
    for photo in photos:
        try:
            result = searcher.search(photo, save=False)
        except Exception as e:
            print(f"  absent {photo.name}: query failed: {e}", file=sys.stderr)
            continue
        hits.append(len(result.hits))
        best.append(result.best_score if result.best_score is not None else float("nan"))
    hits_a = np.array(hits)
    return {
        "n": len(hits),
        "rejected": float(np.mean(hits_a == 0)) if len(hits) else float("nan"),
        "mean_hits": float(hits_a.mean()) if len(hits) else float("nan"),
        "best_score_p50": float(np.nanmedian(best)) if best else float("nan"),
        "best_score_max": float(np.nanmax(best)) if best else float("nan"),
    }


def greyed(photos: dict[Any, Path], outdir: Path) -> dict[Any, Path]:
    """The same photos turned grey (written beside the others, named ``grey_*``)."""
    out = {}
    for key, path in photos.items():
        target = outdir / f"grey_{path.name}"
        if not target.exists():
            cv2.imwrite(str(target), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY))
        out[key] = target
    return out


def with_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """A frozen config dataclass with some fields changed; a dict value changes fields of a nested
    config (``{"plan": {"budget": 0.5}}``). An unknown field is an error, not ignored."""
    changes = {}
    for name, value in overrides.items():
        if not any(f.name == name for f in fields(config)):
            raise ValueError(f"{type(config).__name__} has no field {name!r}")
        current = getattr(config, name)
        changes[name] = with_overrides(current, value) if isinstance(value, dict) else value
    return replace(config, **changes)


def rate_summary(report: dict[str, dict]) -> list[str]:
    """F1 at each lower frame rate averaged over the samples run (``pets@1fps``, ``pets@1fps+3``, ...:
    the same recorder rate starting at another frame), beside the full-rate F1 when it was run too.
    One sample of 1-2 fps footage moves with the frame it starts at (which crossings the kept frames
    show): measured 2026-12-01, by 0.06-0.07 between three samples of PETS09-S2L1 or ADL-Rundle-6 at
    1 fps and by 0.18 of TUD-Campus (3 s) at 2 fps; the mean over several is the figure to compare
    with the full rate."""
    groups: dict[str, list[float]] = {}
    for key, m in report.items():
        if "@" in key and "fps" in key and "f1" in m:
            groups.setdefault(re.sub(r"\+\d+", "", key), []).append(m["f1"])
    lines = []
    for rate, f1s in groups.items():
        each = " ".join(f"{f:.3f}" for f in f1s)
        line = f"{rate:24s} F1 mean {np.mean(f1s):.3f} over {len(f1s)} sample(s) ({each})"
        full = report.get(rate.split("@")[0], {}).get("f1")
        if full is not None:
            line += f"; full rate {full:.3f}, difference {np.mean(f1s) - full:+.3f}"
        lines.append(line)
    return lines


def fmt(m: dict) -> str:
    return " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", nargs="+", default=list(BASE))
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "quality")
    ap.add_argument("--no-absent", action="store_true", help="skip the combined-library part")
    ap.add_argument(
        "--night", action="store_true", help="the combined library of the three without colour (-night)"
    )
    ap.add_argument(
        "--mixed",
        action="store_true",
        help="the combined library of the three in colour and without colour (day and night)",
    )
    ap.add_argument(
        "--colour-photo-only",
        action="store_true",
        help="compare footage without colour with the colour photo",
    )
    ap.add_argument(
        "--grey-photos",
        action="store_true",
        help="query photos turned grey (a still from a night camera), searched in colour footage",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument(
        "--index-config",
        type=json.loads,
        default={},
        help='IndexConfig fields to change, as JSON (e.g. \'{"min_gap_s": 0.2, "plan": {"budget": 0.5}}\'); '
        "use a --work folder of its own, libraries there are reused",
    )
    ap.add_argument(
        "--no-camera-motion",
        action="store_true",
        help="index without camera motion compensation (to compare)",
    )
    ap.add_argument(
        "--search-config",
        type=json.loads,
        default={},
        help='SearchConfig fields to change, as JSON (e.g. \'{"score_by": "blend"}\'); libraries are reused',
    )
    ap.add_argument(
        "--photos",
        choices=("full-rate", "own"),
        default="full-rate",
        help="query photos of a video at a lower frame rate: the full rate's (only the footage differs), or "
        "chosen by the evaluator's rule from its own frames (as the evaluator run on it would), for "
        "the same people",
    )
    a = ap.parse_args()
    indexing = IndexConfig(camera_motion=CameraMotionConfig(enabled=not a.no_camera_motion))
    indexing = with_overrides(indexing, a.index_config)
    a.work.mkdir(parents=True, exist_ok=True)
    ev = load_evaluator()
    models = ModelSet()
    tmp = scratch_dir("quality-")
    photos = {k: queries(ev, base_sequences()[k], tmp) for k in BASE}
    if a.grey_photos:
        photos = {k: greyed(v, tmp) for k, v in photos.items()}
    config = with_overrides(SearchConfig(like_with_like=not a.colour_photo_only), a.search_config)
    report: dict[str, dict] = {}
    for key in a.sequences:
        seq = sequence(key)
        library = Library(a.work / f"{key}.db")
        try:
            seconds = index_into(library, seq, models, indexing)
        except Exception as e:
            print(f"{key:24s} cannot index: {e}", flush=True)
            report[key] = {"error": str(e)}
            continue
        if seq.source in photos and key not in BASE and "in1080p" not in key:
            qs = photos[seq.source]  # the same photos as at full rate: only the footage differs
            if a.photos == "own" and is_subsampled(seq):  # the same people, photos from this footage
                qs = queries(ev, seq, tmp, only=qs.keys())
        else:
            qs = queries(ev, seq, tmp) if not seq.is_folder else photos[seq.source]
            qs = greyed(qs, tmp) if a.grey_photos and not seq.is_folder else qs
        m = evaluate_present(Searcher(library, models, config), ev, seq, qs, seq.video)
        m["index_s"] = seconds
        report[key] = m
        print(f"{key:24s} {fmt(m)}", flush=True)
        library.close()
    for line in rate_summary(report):
        print(line, flush=True)
    if not a.no_absent:
        night = {k: sequence(f"{k}-night") for k in BASE} if a.night or a.mixed else {}
        day = {} if a.night else base_sequences()
        footage = {k: [s[k] for s in (day, night) if s] for k in BASE}
        name = "combined-mixed.db" if a.mixed else "combined-night.db" if a.night else "combined.db"
        combined = Library(a.work / name)
        for key in BASE:
            for seq in footage[key]:
                index_into(combined, seq, models, indexing)
        searcher = Searcher(combined, models, config)
        print(f"{'floors':24s} {searcher.calibrated_floors()}", flush=True)
        for key in BASE:
            for seq in footage[key]:
                copies = tuple(s.video for s in footage[key] if s is not seq)
                m = evaluate_present(searcher, ev, seq, photos[key], seq.video, copies)
                label = f"combined:{key}" + ("-night" if a.mixed and seq is not footage[key][0] else "")
                report[label] = m
                print(f"{label:24s} {fmt(m)}", flush=True)
        absent: dict[str, dict] = {}
        for key in BASE:
            copy = tmp / f"without_{key}.db"
            with sqlite3.connect(a.work / name) as src, sqlite3.connect(copy) as dst:
                src.backup(dst)  # WAL-safe copy (a file copy would miss what is still in the log)
            lib = Library(copy)
            for seq in footage[key]:
                vid = lib.video_id(seq.video)
                if vid is not None:
                    lib.remove_video(vid)
            absent[key] = evaluate_absent(Searcher(lib, models, config), list(photos[key].values()))
            print(f"{'absent:' + key:24s} {fmt(absent[key])}", flush=True)
            lib.close()
        same = tuple(SAME_SCENE[k] for k in BASE if k in SAME_SCENE)  # their people are in the library
        mot17 = [p for p in mot17_queries(tmp) if not p.name.startswith(same)]
        mot17 = list(greyed(dict(enumerate(mot17)), tmp).values()) if a.grey_photos else mot17
        absent["mot17"] = evaluate_absent(searcher, mot17)
        print(f"{'absent:mot17':24s} {fmt(absent['mot17'])}", flush=True)
        n = sum(v["n"] for v in absent.values())
        rejected = sum(v["rejected"] * v["n"] for v in absent.values()) / max(n, 1)
        report["absent"] = absent | {"all": {"n": n, "rejected": rejected}}
        print(f"{'absent:all':24s} n={n} rejected={rejected:.3f}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
