"""The Market-1501 evaluation on the real MOT15 ReID set, through the library and the CLI."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from models.openvino_cpu import OPENVINO_CPU
from pipeline.reid_benchmark import evaluate_reid
from tests.conftest import asset
from tests.test_cli import cli

# Measured with the default model (README, "Choosing the ReID defaults"): Rank-1 0.771, mAP 0.635;
# with re-ranking 0.800 / 0.712. Floors a little below.
FLOOR = {"rank1": 0.74, "map": 0.60}
FLOOR_RERANK = {"rank1": 0.77, "map": 0.68}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reid")
    with tarfile.open(asset("reid_eval_mot15.tar")) as t:
        t.extractall(root, filter="data")
    return root / "reid_eval_mot15"


def test_default_model_on_mot15(dataset: Path, models) -> None:
    report = evaluate_reid(dataset, models.reid)
    m = report.metrics
    assert (m.n_query, report.n_gallery_images) == (35, 600)
    assert m.rank1 >= FLOOR["rank1"] and m.map >= FLOOR["map"]
    assert m.rank1 <= m.rank5 <= m.rank10 and 0 < m.minp <= m.map
    reranked = evaluate_reid(dataset, models.reid, rerank=True).metrics
    assert reranked.rank1 >= FLOOR_RERANK["rank1"] and reranked.map >= FLOOR_RERANK["map"]


def test_eval_reid_cli(dataset: Path, tmp_path: Path) -> None:
    p = cli("eval-reid", str(dataset), "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert {
        "rank1",
        "rank5",
        "rank10",
        "map",
        "minp",
        "n_query",
        "n_gallery",
        "crops_per_s",
        "provider",
    } <= set(doc)
    assert doc["rank1"] >= FLOOR["rank1"]
    assert doc["provider"] in (OPENVINO_CPU, "CPUExecutionProvider", "CUDAExecutionProvider")  # what ran it
    bad = cli("eval-reid", str(tmp_path))
    assert bad.returncode == 2 and "query" in bad.stderr and bad.stderr.strip().count("\n") == 0
