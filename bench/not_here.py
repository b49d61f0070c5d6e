"""Absent people: does a search for someone who is not in the footage come back empty, and does one for
someone who is still find them? Today's rule and the calibrated one, side by side, on every library
that can be made of the shared sequences, and on one library of many videos of one person.

    python -m bench.not_here [--work out/not_here]

Libraries: PETS09-S2L1, TUD-Campus and ADL-Rundle-6 are indexed once into one library; each of the 7
non-empty combinations of them is a copy with the other videos removed. Queries: every ground-truth
person of the three (the shared evaluator's query crop) and every MOT17 sample identity (its tallest
fully visible box). A query is *present* when its sequence is in the library (scored with the
evaluator: top-1, recall, F1; hits in other videos count as wrong footage) and *absent* otherwise
(rejected when it gets no hit at all). MOT17-09 is the same street and the same people as
ADL-Rundle-6 (Rundle Mall, Adelaide; compare the frames), so its identities are not absent where
ADL-Rundle-6 is in the library and are left out there.

Rules: ``fixed`` is Spotter's rule before calibration (floor 0.65, hits within 0.05 of the best
person of the whole library); ``calibrated`` is the default (the library's equal-error floor, hits
within 0.05 of the best person of their own video).

The many-videos library holds TUD-Campus 20 times, each copy re-encoded with its own brightness,
crop and mirror (different files, same people): every TUD person should be found in all 20.
"""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from bench.retrieval_sweep import load_evaluator, queries
from bench.search_quality import ROOT, evaluate_present, index_into, mot17_queries
from bench.sequences import SAME_SCENE, base_sequences, frames_of, write_video
from models.loader import ModelSet
from pipeline.search import SearchConfig, Searcher
from pipeline.storage import Library

BASE = ("pets", "tud", "adl")
RULES = {
    "fixed": SearchConfig(calibrate=False, margin_over="library"),
    "calibrated": SearchConfig(),
}


def copy_library(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)  # WAL-safe


def rejected(searcher: Searcher, photos: list[Path]) -> list[bool]:
    out = []
    for photo in photos:
        try:
            out.append(not searcher.search(photo, save=False).hits)
        except Exception as e:  # a refused photo is not a rejection by the search: leave it out
            print(f"  {photo.name}: {e}", file=sys.stderr)
    return out


def compositions(work: Path, models: ModelSet, ev: object, tmp: Path) -> None:
    full = work / "all.db"
    library = Library(full)
    for key in BASE:
        index_into(library, base_sequences()[key], models)
    library.close()
    photos = {k: queries(ev, base_sequences()[k], tmp) for k in BASE}
    mot17 = mot17_queries(tmp)
    print(f"{'library':14s} {'rule':10s} {'floor':>6s} {'absent rejected':>16s}  present top1 recall f1")
    totals: dict[str, list] = {r: [[], []] for r in RULES}
    for n in range(1, len(BASE) + 1):
        for combo in itertools.combinations(BASE, n):
            db = tmp / f"{'+'.join(combo)}.db"
            copy_library(full, db)
            lib = Library(db)
            for key in BASE:
                if key not in combo:
                    vid = lib.video_id(base_sequences()[key].video)
                    if vid is not None:
                        lib.remove_video(vid)
            skip = {SAME_SCENE[k] for k in combo if k in SAME_SCENE}
            absent = [p for k in BASE if k not in combo for p in photos[k].values()]
            absent += [p for p in mot17 if not any(p.name.startswith(s) for s in skip)]
            for rule, config in RULES.items():
                s = Searcher(lib, models, config)
                rej = rejected(s, absent)
                pres = [
                    evaluate_present(s, ev, base_sequences()[k], photos[k], base_sequences()[k].video)
                    for k in combo
                ]
                w = [p["n"] for p in pres]
                m = {x: float(np.average([p[x] for p in pres], weights=w)) for x in ("top1", "recall", "f1")}
                totals[rule][0] += rej
                totals[rule][1].append((m, sum(w)))
                floor = s.calibrated_floor()[0] if config.calibrate else config.min_score
                print(
                    f"{'+'.join(combo):14s} {rule:10s} {floor:6.3f} {np.mean(rej):8.3f} (n={len(rej):3d})  "
                    f"{m['top1']:.3f} {m['recall']:.3f} {m['f1']:.3f}",
                    flush=True,
                )
            lib.close()
    for rule, (rej, pres) in totals.items():
        w = [n for _, n in pres]
        rec = np.average([m["recall"] for m, _ in pres], weights=w)
        f1 = np.average([m["f1"] for m, _ in pres], weights=w)
        rate, n = np.mean(rej), len(rej)
        print(f"all libraries  {rule:10s} absent rejected {rate:.3f} (n={n}) recall {rec:.3f} f1 {f1:.3f}")


def variant(image: np.ndarray, k: int) -> np.ndarray:
    """Copy ``k`` of a frame: its own brightness, a slight crop and, for odd k, a mirror image."""
    h, w = image.shape[:2]
    c = 2 * (k % 5)
    out = cv2.resize(image[c : h - c, c : w - c], (w, h), interpolation=cv2.INTER_AREA)
    out = cv2.convertScaleAbs(out, alpha=0.85 + 0.015 * k, beta=(k % 7) - 3)
    return out[:, ::-1].copy() if k % 2 else out


def many_videos(work: Path, models: ModelSet, ev: object, tmp: Path, copies: int) -> None:
    seq = base_sequences()["tud"]
    videos = []
    for k in range(copies):
        path = work / "many" / f"tud_copy{k:02d}.mp4"
        if not path.exists():
            write_video(path, (variant(f, k) for f in frames_of(seq.video)), seq.fps)
        videos.append(path)
    library = Library(work / "many.db")
    for path in videos:
        index_into(library, replace(seq, video=path), models)
    photos = queries(ev, seq, tmp)
    for rule, config in RULES.items():
        s = Searcher(library, models, config)
        found = [len({h.video_id for h in s.search(p, save=False).hits}) for p in photos.values()]
        print(
            f"{copies} copies of TUD-Campus, {rule:10s}: videos with a hit per person: "
            f"mean {np.mean(found):.1f}, min {min(found)} of {copies}",
            flush=True,
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "not_here")
    ap.add_argument("--copies", type=int, default=20)
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    ev, models = load_evaluator(), ModelSet()
    with tempfile.TemporaryDirectory(prefix="not-here-") as tmp:
        compositions(a.work, models, ev, Path(tmp))
        many_videos(a.work, models, ev, Path(tmp), a.copies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
