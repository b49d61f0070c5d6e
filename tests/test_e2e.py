"""End to end on real footage: every ground-truth person is searched with the crop the shared
evaluator picks for them (tallest clear view) and scored with the evaluator's own rules
(../shared/tools/evaluate_search.py): a hit is correct when at least half of its boxes overlap the
person at IoU >= 0.5; recall is the share of their frames inside correct hits, precision the share
of returned footage that is them.

Footage: PETS09-S2L1 (480x360, 10 fps), TUD-Campus (640x480, 25 fps), ADL-Rundle-6 (1920x1080, 30 fps),
and built from them (bench/sequences.py): PETS at 2 fps, PETS as a folder of 2-fps snapshots, and PETS
at its own size inside a 1080p frame (people 41-66 px tall in HD). Floors sit just under what the
code measures (README, "Measured"), so a regression fails. People who are not in the footage (other
sequences, MOT17) must get no hits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.retrieval_sweep import load_evaluator, queries
from bench.search_quality import mot17_queries
from bench.sequences import Sequence, base_sequences, sequence
from pipeline.indexer import index_video
from pipeline.search import Searcher
from pipeline.storage import Library
from tests.conftest import copy_library

# measured (python -m bench.search_quality): f1 / top1
FLOORS = {
    "pets": {"f1": 0.80, "top1": 0.89},  # 0.826 / 0.947
    "tud": {"f1": 0.90, "top1": 0.95},  # 0.940 / 1.000
    "adl": {"f1": 0.67, "top1": 0.79},  # 0.706 / 0.833
    "pets@2fps": {"f1": 0.75, "top1": 0.78},  # 0.794 / 0.842
    "pets@2fps-images": {"f1": 0.78, "top1": 0.73},  # 0.829 / 0.789
    "pets-in1080p@1": {"f1": 0.68, "top1": 0.84},  # 0.722 / 0.895
}


@pytest.fixture(scope="module")
def evaluator():
    return load_evaluator()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sequences")


@pytest.fixture(scope="module")
def with_adl(tmp_path_factory: pytest.TempPathFactory, indexed, models) -> Library:
    """The session library (PETS09-S2L1, TUD-Campus) plus ADL-Rundle-6."""
    library = Library(copy_library(indexed.db_path, tmp_path_factory.mktemp("adl") / "library.db"))
    for _ in index_video(base_sequences()["adl"].video, library, models):
        pass
    return library


def mean_scores(library: Library, models, evaluator, seq: Sequence, photos: dict[int, Path]) -> dict:
    gt = evaluator.load_gt(seq.gt, seq.scale, 1, False)
    searcher = Searcher(library, models)
    rows = []
    for person, photo in photos.items():
        result = searcher.search(photo, video=seq.video, save=False)
        rows.append(evaluator.score([h.to_json() for h in result.hits], gt[person], 0.5))
    return {k: float(np.mean([r[k] for r in rows])) for k in ("top1", "recall", "precision", "f1")}


@pytest.mark.parametrize("key", ["pets", "tud", "adl"])
def test_every_person_is_found(key: str, with_adl, models, evaluator, tmp_path: Path) -> None:
    seq = base_sequences()[key]
    m = mean_scores(with_adl, models, evaluator, seq, queries(evaluator, seq, tmp_path))
    print(f"{seq.name}: " + " ".join(f"{k}={v:.3f}" for k, v in m.items()))
    assert m["f1"] >= FLOORS[key]["f1"] and m["top1"] >= FLOORS[key]["top1"]


@pytest.mark.parametrize("key", ["pets@2fps", "pets@2fps-images", "pets-in1080p@1"])
def test_low_frame_rates_snapshots_and_small_people_in_hd(
    key: str, built: Path, models, evaluator, tmp_path: Path
) -> None:
    seq = sequence(key, built)
    library = Library(tmp_path / "library.db")
    for _ in index_video(seq.video, library, models):
        pass
    # the full-rate photos for the subsampled footage; the HD footage's own (small) crops
    photos = queries(evaluator, base_sequences()[seq.source] if "fps" in key else seq, tmp_path)
    m = mean_scores(library, models, evaluator, seq, photos)
    print(f"{key}: " + " ".join(f"{k}={v:.3f}" for k, v in m.items()))
    assert m["f1"] >= FLOORS[key]["f1"] and m["top1"] >= FLOORS[key]["top1"]


def test_people_from_other_footage_get_no_hits(with_adl, models, evaluator, tmp_path: Path) -> None:
    """MOT17 people (MOT17-09 excepted: the same street and people as ADL-Rundle-6) and each base
    sequence's people searched in the library without their sequence: at least 95 % get no hit."""
    rejected = []
    searcher = Searcher(with_adl, models)
    assert searcher.calibrated_floor()[1], "three videos are enough to calibrate"
    for photo in mot17_queries(tmp_path):
        if not photo.name.startswith("MOT17-09"):
            rejected.append(not searcher.search(photo, save=False).hits)
    for key, seq in base_sequences().items():
        library = Library(copy_library(with_adl.db_path, tmp_path / f"without_{key}.db"))
        library.remove_video(library.video_id(seq.video))
        s = Searcher(library, models)
        rejected += [not s.search(p, save=False).hits for p in queries(evaluator, seq, tmp_path).values()]
        library.close()
    print(f"absent: {np.mean(rejected):.3f} of {len(rejected)} rejected")
    assert len(rejected) >= 100 and np.mean(rejected) >= 0.95
