"""Retrieval when the query photo is not a frame of the indexed footage.

The retrieval benches query each person with the shared evaluator's crop: their tallest clear view,
cut from the footage itself. The indexer keeps each track's crops by much the same measure (tall,
confident, unoccluded), so a stored crop is often the photo's own frame or one a few tenths of a second
from it, and the search then matches the photo with (nearly) itself. An operator's photo comes from
somewhere else (another camera, another day), so that figure flatters the index; the more frames a
second the footage keeps, the more likely the near copy is there, so it also flatters the full rate
against 1-2 fps (measured 2026-12-01 on PETS09-S2L1 at full rate: for 14 of 19 people a crop the
indexer would keep lies within 0.4 s of the photo).

This bench scores the same libraries as if the footage within ``--window`` seconds of the photo's frame
had not been recorded: the crop of every observation of every track is cut again from the video and
embedded once; for each query, each track's crops are chosen by the indexer's own rule
(:func:`pipeline.appearance.select_crops`) among the observations outside the window, and the search
runs as Spotter's (:class:`pipeline.search.Searcher`, every candidate re-scored from those crops). The
same run scores a window of 0 so that the two differ only in the window. That figure is the bench's own
and a little off ``bench.search_quality``'s (PETS09-S2L1 0.869 against 0.893): the indexer chooses
among the best dozen observations it holds while a track runs, this bench among all of them, and it
re-scores every candidate by its crops where the search re-scores those near the cut.

    python -m bench.photo_elsewhere [--window 1] [--work out/quality] --sequences pets pets@1fps ...

Sequences: the base ones and their frame-rate copies (``KEY@Nfps``, ``KEY@Nfps+K``); libraries are
``bench.search_quality``'s in ``--work`` (indexed there when missing). A track whose observations all
lie in the window scores nothing (the person is not seen outside it), so a window as long as a
person's whole visit (TUD-Campus is 3 s) measures a person the footage does not hold.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.retrieval_sweep import load_evaluator, queries, query_frames
from bench.scratch import scratch_dir
from bench.search_quality import evaluate_present, index_into, rate_summary
from bench.sequences import ROOT, Sequence, base_sequences, picked, sequence
from models.loader import ModelSet
from pipeline.appearance import AppearanceConfig, select_crops
from pipeline.search import SearchConfig, Searcher, SearchResult
from pipeline.storage import Library
from pipeline.track_crops import CropPick, path_qualities, read_crops
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y2
from pipeline.video import probe

RATE = re.compile(r"@(\d+(?:\.\d+)?)fps(?:\+(\d+))?$")
NOT_SEEN = -1.0  # the score of a track with no observation outside the window


@dataclass(frozen=True)
class Observations:
    """Every crop a track could have kept: (quality, frame, index) candidates as the indexer ranks
    them, each frame's embedding, and its time in the source footage (seconds)."""

    candidates: list[tuple[float, int, int]]
    vectors: dict[int, np.ndarray]
    source_s: dict[int, float]


def source_times(key: str, seq: Sequence) -> np.ndarray:
    """Time in the base sequence of each frame of ``seq`` (a base sequence or a frame-rate copy)."""
    base = base_sequences()[seq.source]
    n = probe(base.video).frame_count
    m = RATE.search(key)
    if m is None and key not in base_sequences():
        raise SystemExit(f"{key}: only the base sequences and their KEY@Nfps[+K] copies are supported")
    frames = picked(base.fps, float(m.group(1)), n, int(m.group(2) or 0)) if m else list(range(n))
    return np.asarray(frames, np.float64) / base.fps


def observations(
    library: Library, seq: Sequence, times: np.ndarray, models: ModelSet
) -> dict[int, Observations]:
    """Every track's observations with a crop worth keeping, embedded (by track key)."""
    info = probe(seq.video)
    tracks = library.video_tracks(library.video_id(seq.video))
    config = AppearanceConfig()
    quality = path_qualities(tracks, info.width, info.height, config)
    picks, ranked = {}, {}
    for t in tracks:
        ranked[t.pk] = [(float(quality[t.pk][i]), int(r[PATH_FRAME]), i) for i, r in enumerate(t.path)]
        ranked[t.pk] = [c for c in ranked[t.pk] if c[0] > 0]
        picks[t.pk] = [
            CropPick(f, tuple(float(v) for v in t.path[i, PATH_X1 : PATH_Y2 + 1]), q)
            for q, f, i in ranked[t.pk]
        ]
    crops = read_crops(info, picks)
    out = {}
    for t in tracks:
        if not picks[t.pk] or len(crops[t.pk]) != len(picks[t.pk]):  # a crop outside the picture
            continue
        vectors = models.reid.embed(crops[t.pk])
        out[t.pk] = Observations(
            ranked[t.pk],
            {p.frame: v for p, v in zip(picks[t.pk], vectors)},
            {p.frame: float(times[p.frame]) for p in picks[t.pk]},
        )
    return out


class PhotoElsewhere(Searcher):
    """Spotter's search, each track scored from the crops the indexer would have kept had the footage
    within ``window`` seconds of the photo not been recorded."""

    def __init__(
        self,
        library: Library,
        models: ModelSet,
        tracks: dict[int, Observations],
        when: dict[str, float],
        fps: float,
    ):
        super().__init__(library, models, SearchConfig(rescore_window=2.0, rescore_max=1_000_000))
        self.tracks, self.when = tracks, when  # photo file -> its time in the source footage
        self.window, self._photo_s = 0.0, 0.0
        self._gap = max(1, round(AppearanceConfig().min_gap_s * fps))  # the indexer's spacing, in frames

    def search(self, photo: str | Path | np.ndarray, *args: Any, **kwargs: Any) -> SearchResult:
        self._photo_s = self.when[str(Path(photo).resolve())]  # the benches search with files
        return super().search(photo, *args, **kwargs)

    def score(self, vec: np.ndarray, pks: np.ndarray, mean_scores: np.ndarray) -> np.ndarray:
        k = AppearanceConfig().crops_per_track
        out = []
        for pk, mean in zip(pks.tolist(), mean_scores.tolist()):
            obs = self.tracks.get(pk)
            if obs is None:
                out.append(mean)
                continue
            kept = [c for c in obs.candidates if abs(obs.source_s[c[1]] - self._photo_s) > self.window]
            if not kept:
                out.append(NOT_SEEN)
                continue
            chosen = np.stack([obs.vectors[c[1]] for c in select_crops(kept, k, self._gap)])  # type: ignore[arg-type]
            out.append(float((chosen @ vec).max()))  # the default rule: the best crop
        return np.asarray(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", nargs="+", default=["pets", "pets@1fps", "pets@2fps"])
    ap.add_argument("--window", type=float, default=1.0, help="seconds either side of the photo's frame")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "quality")
    a = ap.parse_args()
    if SearchConfig().score_by != "crops":
        raise SystemExit("this bench scores tracks by their best crop, the default it was written for")
    ev, models, tmp = load_evaluator(), ModelSet(), scratch_dir("elsewhere-")
    photos, when = {}, {}
    for key, base in base_sequences().items():
        photos[key] = queries(ev, base, tmp)
        for ident, frame in query_frames(ev, base).items():
            if ident in photos[key]:
                when[str(photos[key][ident].resolve())] = frame / base.fps
    reports: dict[float, dict[str, dict]] = {0.0: {}, a.window: {}}
    a.work.mkdir(parents=True, exist_ok=True)
    for key in a.sequences:
        seq = sequence(key)
        library = Library(a.work / f"{key}.db")
        index_into(library, seq, models)
        tracks = observations(library, seq, source_times(key, seq), models)
        searcher = PhotoElsewhere(library, models, tracks, when, probe(seq.video).fps)
        row = []
        for window, report in reports.items():
            searcher.window = window
            report[key] = evaluate_present(searcher, ev, seq, photos[seq.source], seq.video)
            row.append(f"{report[key]['f1']:.3f}")
        print(
            f"{key:16s} F1 photo's frames recorded {row[0]}, not recorded (+-{a.window:g} s) {row[1]}",
            flush=True,
        )
        library.close()
    for window, report in reports.items():
        print(f"window {window:g} s:")
        for line in rate_summary(report):
            print(f"  {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
