"""A camera's recording split into files, as recorders store it (a file every 10-60 minutes): is a person
found in each file they are in, and in none of the others? Whose best person a hit must lie within the
margin of (``SearchConfig.margin_over``): its own file's, its camera's, or the whole library's.

    python -m bench.split_recording [--work out/split_recording] [--files 4 3]

PETS09-S2L1 is cut into ``--files[0]`` files and ADL-Rundle-6 into ``--files[1]``, each file named as a
recorder names it (``PETS_20261121_143000.mp4``: camera PETS, its start), with its own ground truth (the
last frames, fewer than the number of files, are left out); TUD-Campus is a third camera of one file.
All go into one library. Queries: every ground-truth person of the three (the shared evaluator's query
crop, cut from the whole video) and every MOT17 sample identity.
For each query and each file of the query's camera, the person is *in* the file when the ground truth
has them in at least ``PRESENT_FRAMES`` of its frames, *not in* it when in none (files with a glimpse
are left out); files of other cameras, and MOT17 people everywhere, are *from elsewhere*
(MOT17-09 is ADL-Rundle-6's street and people: its queries are left out).

Printed per rule: the files a person is in where they are found (the evaluator's recall above 0) and
the evaluator's mean F1 there; the share of the camera's other files (the person not in them) with a
hit, which only a look-alike can give; the share of other cameras' files with a hit; and MOT17 queries
with no hit at all.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from bench.retrieval_sweep import load_evaluator, queries
from bench.search_quality import ROOT, index_into, mot17_queries
from bench.sequences import SAME_SCENE, SNAPSHOT_START, Sequence, base_sequences, cut, read_gt, write_gt
from models.loader import ModelSet
from pipeline.search import SearchConfig, Searcher
from pipeline.search_config import MARGIN_SCOPES
from pipeline.storage import Library

PRESENT_FRAMES = 10  # a person in fewer of a file's frames (but some) is a glimpse: the file is left out
CAMERAS = {"pets": "PETS", "adl": "ADL", "tud": "TUD"}


@dataclass(frozen=True)
class RecordedFile:
    camera: str  # the base sequence's key
    sequence: Sequence  # the file and its own ground truth


def split_files(work: Path, parts: dict[str, int]) -> list[RecordedFile]:
    """The base sequences cut into files (built once), named ``<CAMERA>_<YYYYmmdd_HHMMSS>.mp4`` in a
    folder per camera; a sequence cut into one part is its own video, left where it is."""
    out = []
    for key, n in parts.items():
        seq = base_sequences()[key]
        if n <= 1:
            out.append(RecordedFile(key, seq))
            continue
        frames = int(cv2.VideoCapture(str(seq.video)).get(cv2.CAP_PROP_FRAME_COUNT))
        size = frames // n
        rows = read_gt(seq)  # frame (0-based), id, x1, y1, x2, y2 in video pixels
        for j in range(n):
            first = j * size
            start = SNAPSHOT_START + timedelta(seconds=first / seq.fps)
            name = f"{CAMERAS[key]}_{start:%Y%m%d_%H%M%S}"
            video, gt = work / CAMERAS[key] / f"{name}.mp4", work / "gt" / f"{name}.txt"
            if not video.exists():
                video.parent.mkdir(parents=True, exist_ok=True)
                cut(seq.video, video, first, size)
            if not gt.exists():
                mine = rows[(rows[:, 0] >= first) & (rows[:, 0] < first + size)].copy()
                mine[:, 0] -= first
                write_gt(mine, gt)
            out.append(RecordedFile(key, Sequence(name, video, gt, seq.fps, 1.0, key)))
    return out


def evaluate(searcher: Searcher, ev: object, files: list[RecordedFile], photos: dict) -> dict[str, float]:
    """The figures of the module's docstring for one rule."""
    gts = {f.sequence.video.resolve(): ev.load_gt(f.sequence.gt, f.sequence.scale, 1, False) for f in files}
    found, f1s, same, same_hit, other, other_hit, absent, rejected = [], [], 0, 0, 0, 0, 0, 0
    for (camera, ident), photo in photos.items():
        hits = [h.to_json() for h in searcher.search(photo, save=False).hits]
        if camera == "mot17":
            absent += 1
            rejected += not hits
        for f in files:
            video = f.sequence.video.resolve()
            mine = [h for h in hits if Path(h["video"]) == video]
            if camera == "mot17":
                continue
            if f.camera != camera:
                other += 1
                other_hit += bool(mine)
                continue
            frames = len(gts[video].get(ident, {}))
            if frames >= PRESENT_FRAMES:
                m = ev.score(mine, gts[video][ident], 0.5)
                found.append(m["recall"] > 0)
                f1s.append(m["f1"])
            elif frames == 0:
                same += 1
                same_hit += bool(mine)
    return {
        "files_in": len(found),
        "found": float(np.mean(found)),
        "f1": float(np.mean(f1s)),
        "files_not_in": same,
        "look_alike": same_hit / max(same, 1),
        "files_elsewhere": other,
        "elsewhere_hit": other_hit / max(other, 1),
        "absent": absent,
        "absent_rejected": rejected / max(absent, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "split_recording")
    ap.add_argument("--files", type=int, nargs=2, default=(4, 3), metavar=("PETS", "ADL"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    ev, models = load_evaluator(), ModelSet()
    files = split_files(args.work, {"pets": args.files[0], "adl": args.files[1], "tud": 1})
    library = Library(args.work / f"library_{args.files[0]}_{args.files[1]}.db")
    for f in files:
        index_into(library, f.sequence, models)
    qdir = args.work / "queries"
    qdir.mkdir(exist_ok=True)
    photos = {(key, i): p for key in CAMERAS for i, p in queries(ev, base_sequences()[key], qdir).items()}
    photos |= {("mot17", p.stem): p for p in mot17_queries(qdir)}
    same_street = {k: p for k, p in photos.items() if k[0] == "mot17" and SAME_SCENE["adl"] in str(k[1])}
    photos = {k: p for k, p in photos.items() if k not in same_street}
    cameras = sorted({clock.camera for clock in library.clocks().values()})
    print(f"{len(files)} files, cameras {cameras}; {len(photos)} queries", file=sys.stderr)
    print(
        "| margin over | files in: found | F1 | camera's files not in: with a hit | other cameras' files: "
        "with a hit | MOT17 people: rejected |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for over in MARGIN_SCOPES:
        m = evaluate(Searcher(library, models, replace(SearchConfig(), margin_over=over)), ev, files, photos)
        print(
            f"| {over} | {m['found']:.3f} of {m['files_in']} | {m['f1']:.3f} | {m['look_alike']:.3f} of "
            f"{m['files_not_in']} | {m['elsewhere_hit']:.3f} of {m['files_elsewhere']} | "
            f"{m['absent_rejected']:.3f} of {m['absent']} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
