"""Training and adapting the ReID model: conversion exactness on the real weights, the losses, PK
sampling, a tiny real training run, the Market training layout, the CLI's errors and Ctrl-C, and
re-embedding a library (killed half-way: still searchable with the old model; resumed: switched)."""

from __future__ import annotations

import json
import signal
import tarfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import asset
from tests.test_cli import cli, cli_process

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def real_crops(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """32 real person crops (reid_eval_mot15 gallery) as the normalised batch the models take."""
    from models.reid_training.loop import normalise_batch
    from pipeline.reid_training.dataset import to_input

    root = tmp_path_factory.mktemp("reid")
    with tarfile.open(asset("reid_eval_mot15.tar")) as t:
        t.extractall(root, filter="data")
    files = sorted((root / "reid_eval_mot15" / "bounding_box_test").iterdir())[::19][:32]
    return normalise_batch(np.stack([to_input(cv2.imread(str(f))) for f in files]))


@pytest.mark.parametrize("model", ["reid/osnet_x0_25_msmt17.onnx", "reid/osnet_x0_5_msmt17.onnx"])
def test_conversion_matches_the_onnx_model_on_real_crops(model: str, real_crops: np.ndarray) -> None:
    from models.reid_training.convert import CONVERSION_TOLERANCE, load_trainable, max_difference, torch_embed

    module = load_trainable(asset(model))
    assert max_difference(asset(model), module, real_crops) <= CONVERSION_TOLERANCE
    out = torch_embed(module, real_crops)
    assert out.shape == (32, 512) and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    bn = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert bn and not any(m.training for m in bn)  # frozen while the rest trains


def test_batch_hard_triplet_loss() -> None:
    from models.reid_training.losses import batch_hard_triplet

    labels = torch.tensor([0, 0, 1, 1])
    apart = torch.tensor([[1.0, 0], [0.99, 0.01], [0, 1.0], [0.01, 0.99]])
    assert batch_hard_triplet(apart, labels, 0.3).item() == 0.0  # positives close, negatives far
    assert batch_hard_triplet(apart, torch.tensor([0, 1, 2, 3]), 0.3).item() == 0.0  # no positives
    # three of each person: the hardest positive (farthest) and hardest negative (nearest) count
    rng = np.random.default_rng(0)
    f = rng.normal(size=(6, 8)).astype(np.float32)
    y = np.array([0, 0, 0, 1, 1, 1])
    n = f / np.linalg.norm(f, axis=1, keepdims=True)
    d = np.linalg.norm(n[:, None] - n[None], axis=2)
    same = y[:, None] == y[None]
    hardest_pos = np.where(same & ~np.eye(6, dtype=bool), d, -np.inf).max(1)
    hardest_neg = np.where(~same, d, np.inf).min(1)
    expected = np.maximum(hardest_pos - hardest_neg + 0.3, 0).mean()
    got = batch_hard_triplet(torch.from_numpy(f), torch.from_numpy(y), 0.3).item()
    assert got == pytest.approx(expected, abs=1e-5) and expected > 0


def test_arcface_head_adds_the_margin_to_the_true_class_only() -> None:
    from models.reid_training.losses import ArcFaceHead

    head = ArcFaceHead(4, 3, scale=10.0, margin=0.3)
    with torch.no_grad():
        head.weight.copy_(torch.eye(3, 4))
    f = torch.tensor([[1.0, 0.2, 0, 0]])
    y = torch.tensor([0])
    logits = head(f, y)
    cos = torch.nn.functional.normalize(f, dim=1) @ torch.eye(3, 4).T
    assert logits[0, 0].item() == pytest.approx(10 * np.cos(np.arccos(cos[0, 0].item()) + 0.3), abs=1e-4)
    assert torch.allclose(logits[0, 1:], 10 * cos[0, 1:])
    head.eval()
    assert torch.allclose(head(f, y), 10 * cos)  # no margin when embedding


def test_learning_rate_warms_up_then_follows_a_cosine() -> None:
    from models.reid_training.loop import TrainConfig, lr_factor

    c = TrainConfig(epochs=10, warmup_epochs=2, warmup_start=0.1, min_lr_factor=0.01)
    assert lr_factor(0, c) == pytest.approx(0.1)
    assert lr_factor(1, c) == pytest.approx(0.55)
    assert lr_factor(2, c) == pytest.approx(1.0)
    assert lr_factor(6, c) == pytest.approx(0.505)
    assert lr_factor(10, c) == pytest.approx(0.01)


def test_pk_batches_hold_p_identities_of_k_images() -> None:
    from models.reid_training.sampler import SamplingError, pk_batches

    labels = [i // 5 for i in range(40)] + [99]  # 8 people of 5 images, one person seen once
    batches = pk_batches(labels, 4, 2, np.random.default_rng(0))
    assert batches
    for b in batches:
        ids = [labels[i] for i in b]
        assert len(b) == 8 and len(set(ids)) == 4 and all(ids.count(p) == 2 for p in set(ids))
        assert 99 not in ids  # one image gives a triplet no positive
    with pytest.raises(SamplingError, match="2 identities with 2\\+ images; a batch needs 4"):
        pk_batches([0, 0, 1, 1, 2], 4, 2, np.random.default_rng(0))


def test_market_training_layout(tmp_path: Path) -> None:
    from pipeline.reid_eval import DatasetError
    from pipeline.reid_training.dataset import load_market_train

    train = tmp_path / "bounding_box_train"
    train.mkdir()
    crop = np.full((64, 32, 3), 128, np.uint8)
    for name in (
        "0002_c1s1_000451_03.jpg",
        "0002_c2_000500_01.jpg",
        "0007_c1s2_000100_00.png",
        "-1_c1s1_0_0.jpg",
    ):
        cv2.imwrite(str(train / name), crop)
    cv2.imwrite(str(train / "0000_c3s1_000001_00.jpg"), crop)  # a distractor
    (train / "Thumbs.db").write_bytes(b"x")
    data = load_market_train(tmp_path)
    assert sorted(data.labels.tolist()) == [2, 2, 7] and sorted(data.cams.tolist()) == [1, 1, 2]
    assert data.images.shape == (3, 256, 128, 3) and data.images.dtype == np.uint8
    cv2.imwrite(str(train / "person7.jpg"), crop)
    with pytest.raises(DatasetError, match=r"person7\.jpg"):
        load_market_train(tmp_path)
    with pytest.raises(DatasetError, match="bounding_box_train"):
        load_market_train(tmp_path / "nothing")


def test_a_tiny_training_run_lowers_the_loss_and_writes_a_model_spotter_runs(
    tiny_model: tuple[Path, dict], real_crops: np.ndarray
) -> None:
    from models.reid import ReidEmbedder
    from models.weights import sha256_of

    out, card = tiny_model
    epochs = {e["epoch"]: e for e in card["epochs"]}
    assert epochs[2]["loss"] < epochs[1]["loss"]
    assert card["sha256"] == sha256_of(out) and card["init"]["model"] == "osnet_x0_25_msmt17.onnx"
    assert card["data"]["identities"] == 17 and card["conversion_max_difference"] <= 1e-4
    assert card["export_max_difference"] <= 1e-4 and card["settings"]["epochs"] == 2
    assert json.loads(out.with_suffix(".json").read_text()) == card
    embedder = ReidEmbedder(out)
    assert embedder.dim == 512
    import onnxruntime as ort

    raw = ort.InferenceSession(str(out)).run(None, {"images": real_crops[:4]})[0]
    assert np.allclose(np.linalg.norm(raw, axis=1), 1, atol=1e-5)  # normalised in the model itself


def test_train_reid_cli_errors_are_one_line(tiny_market: Path, tmp_path: Path) -> None:
    p = cli("train-reid", str(tiny_market), "--out", str(tmp_path / "m.onnx"), "--ids-per-batch", "40")
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "17 identities with 2+ images; a batch needs 40" in p.stderr
    p = cli("train-reid", str(tmp_path), "--out", str(tmp_path / "m.onnx"))
    assert p.returncode == 2 and "no bounding_box_train/ folder" in p.stderr and p.stderr.count("\n") == 1
    shipped = asset("reid/osnet_x0_25_msmt17.onnx")
    p = cli("train-reid", str(tiny_market), "--init", str(shipped), "--out", str(shipped))
    assert p.returncode == 2 and "is the starting model" in p.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_ctrl_c_keeps_the_best_epoch_so_far(tiny_market: Path, tmp_path: Path) -> None:
    out = tmp_path / "stopped.onnx"
    proc = cli_process(
        "train-reid", str(tiny_market), "--out", str(out), "--epochs", "200", "--ids-per-batch", "4",
        "--images-per-id", "2",
    )  # fmt: skip
    seen = []
    for line in proc.stderr:  # type: ignore[union-attr]
        seen.append(line)
        if line.startswith("epoch 1/200"):
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, "".join(seen) + err
    assert "stopped: writing the best epoch so far" in err
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["stopped_early"] and card["best_epoch"] in (0, 1) and out.is_file()


@pytest.fixture(scope="module")
def small_set(tiny_market: Path):
    from pipeline.reid_training.dataset import load_market_train

    data = load_market_train(tiny_market)
    keep = np.isin(data.labels, np.unique(data.labels)[:6])
    return data.subset(keep)


def train_briefly(small_set, **settings) -> tuple[object, object]:
    from models.reid_training.convert import load_trainable
    from models.reid_training.loop import TrainConfig, Trainer

    config = TrainConfig(ids_per_batch=3, images_per_id=2, warmup_epochs=0, **settings)
    trainer = Trainer(
        load_trainable(asset("reid/osnet_x0_25_msmt17.onnx")), small_set.images, small_set.labels, config
    )
    start = trainer.embed(small_set.images)
    for _ in trainer.run():
        pass
    return trainer, start


def test_the_best_epoch_is_kept_even_when_it_is_the_start(small_set) -> None:
    from models.reid_training.convert import load_trainable
    from models.reid_training.loop import TrainConfig, Trainer

    scores = iter([0.5, 0.4, 0.3])  # every epoch worse than the starting model
    config = TrainConfig(epochs=2, ids_per_batch=3, images_per_id=2, lr=1e-3, warmup_epochs=0)
    model = load_trainable(asset("reid/osnet_x0_25_msmt17.onnx"))
    trainer = Trainer(model, small_set.images, small_set.labels, config, evaluate=lambda embed: next(scores))
    start = trainer.embed(small_set.images)
    events = list(trainer.run())
    assert [e.best for e in events if hasattr(e, "best")] == [True, False, False]
    assert trainer.best_epoch == 0 and not np.allclose(trainer.embed(small_set.images), start, atol=1e-4)
    trainer.load_best()
    assert np.allclose(trainer.embed(small_set.images), start, atol=1e-5)


def test_distillation_keeps_the_embedding_near_the_starting_model(small_set) -> None:
    drift = {}
    for weight in (0.0, 100.0):
        trainer, start = train_briefly(small_set, epochs=2, distill_weight=weight)
        drift[weight] = float(1 - (trainer.embed(small_set.images) * start).sum(1).mean())
    assert drift[100.0] < drift[0.0] / 2


def test_command_line_defaults_are_the_training_config() -> None:
    import re

    from models.reid_training.loop import TrainConfig
    from pipeline.cli.parser import build_parser
    from pipeline.cli.train_cmd import train_config

    parser = build_parser("")
    args = parser.parse_args(["train-reid", "data", "--out", "m.onnx", "--device", "cpu"])
    assert train_config(args) == TrainConfig()
    sub = next(
        a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("train-reid")
    )
    fields = {
        "--epochs": "epochs",
        "--triplet-margin": "triplet_margin",
        "--lr": "lr",
        "--loss": "loss",
        "--ids-per-batch": "ids_per_batch",
        "--images-per-id": "images_per_id",
        "--distill": "distill_weight",
    }
    for action in sub._actions:
        if action.option_strings and action.option_strings[0] in fields:
            said = re.search(r"\(default ([^;)]+)", action.help).group(1)
            value = getattr(TrainConfig(), fields[action.option_strings[0]])
            assert said == str(value) or float(said) == value, action.option_strings[0]
    args = parser.parse_args(
        ["train-reid", "d", "--out", "m.onnx", "--device", "cpu", "--epochs", "3", "--distill", "0"]
    )
    assert train_config(args) == replace(TrainConfig(), epochs=3, distill_weight=0.0)
