"""Contract tests of the model runners on the real weights, and of weight lookup and verification."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from models.detector import DetectorConfig, PersonDetector, input_side
from models.errors import ModelError, WeightsError
from models.providers import CPU_EP, CUDA_EP, choose_device, provider_list
from models.reid import ReidConfig, ReidEmbedder
from models.weights import WeightStore, load_manifest, sha256_of
from tests.conftest import ASSETS, asset, load_gt, pets, tud


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def recall_at(dets, truth: list, thr: float = 0.5) -> float:
    return sum(any(iou(g, d) >= thr for d in dets.xyxy) for g in truth) / len(truth)


def test_detector_finds_the_people_in_a_pets_frame(models, frame_of) -> None:
    seq = pets()
    gt = load_gt(seq)
    frame = 100
    image = frame_of(seq.video, frame)
    dets = models.detector.detect([image])[0]
    truth = [b[frame] for b in gt.values() if frame in b]
    assert len(truth) >= 4
    assert dets.xyxy.shape == (len(dets), 4) and dets.xyxy.dtype == np.float32
    assert (dets.score >= models.detector.config.min_score).all() and (dets.score <= 1).all()
    confident = dets[dets.score >= 0.5]
    assert recall_at(confident, truth) >= 0.8
    assert (dets.xyxy[:, 2] <= image.shape[1] + 1).all() and (dets.xyxy[:, 3] <= image.shape[0] + 1).all()


def test_detector_batch_equals_single_frames(models, frame_of) -> None:
    seq = pets()
    images = [frame_of(seq.video, k) for k in (0, 50, 100)]
    batch = models.detector.detect(images)
    for img, d in zip(images, batch):
        single = models.detector.detect([img])[0]
        assert len(single) == len(d)
        assert np.allclose(np.sort(single.score), np.sort(d.score), atol=1e-3)


def test_input_size_matches_footage() -> None:
    cfg = DetectorConfig()
    assert input_side(400, cfg) == 416  # small footage runs at its own size, rounded up to 32
    assert input_side(1920, cfg) == cfg.max_input
    assert input_side(47, cfg) == cfg.min_input
    assert input_side(500, cfg) % 32 == 0


@pytest.mark.parametrize(("h", "w"), [(10000, 10), (10, 10000), (3000, 7)])
def test_a_sliver_of_an_image_gets_a_network_input_not_a_crash(models, h: int, w: int) -> None:
    """An image a thousand times taller than wide (a mistaken file, a strip cut from a panorama)
    scaled to the network's input would be 0 px wide: each side is at least one stride."""
    noise = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    for size in (320, 640):
        shape = models.detector.network_shape(h, w, size)
        assert min(shape) >= models.detector.stride
        assert models.detector.detect([noise], size)[0] is not None


@pytest.mark.parametrize("name", ["detector/yolov8n_dequant_fp32.onnx", "detector/yolov8n_rebuilt.pt"])
def test_other_detector_formats_agree(name: str, models, frame_of) -> None:
    """A fixed 640x640 ONNX and a .pt checkpoint load too and find the same people."""
    image = frame_of(pets().video, 100)
    other = PersonDetector(asset(name), DetectorConfig(weights=name))
    ref = models.detector.detect([image], input_size=640)[0]
    got = other.detect([image], input_size=640)[0]
    strong_ref, strong_got = ref[ref.score >= 0.5], got[got.score >= 0.5]
    assert abs(len(strong_ref) - len(strong_got)) <= 1
    assert recall_at(strong_got, list(strong_ref.xyxy), 0.7) >= 0.9


def test_reid_contract(models, frame_of) -> None:
    seq = tud()
    gt = load_gt(seq)
    image = frame_of(seq.video, 20)
    crops = []
    for ident in (1, 2, 3):
        x1, y1, x2, y2 = (round(v) for v in gt[ident][20])
        crops.append(image[max(y1, 0) : y2, max(x1, 0) : x2])
    emb = models.reid.embed(crops)
    assert emb.shape == (3, 512) and emb.dtype == np.float32
    assert np.isfinite(emb).all()
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    alone = models.reid.embed([crops[1]])[0]
    assert np.allclose(alone, emb[1], atol=1e-4)  # batching does not change a crop's vector
    assert models.reid.embed([]).shape == (0, 512)


def test_reid_same_person_closer_than_others(models, frame_of) -> None:
    """Across 1.6 s of TUD-Campus, a person's crops are more alike than different people's."""
    seq = tud()
    gt = load_gt(seq)
    a, b = frame_of(seq.video, 5), frame_of(seq.video, 45)

    def crop(img, box):
        x1, y1, x2, y2 = (round(v) for v in box)
        return img[max(y1, 0) : y2, max(x1, 0) : x2]

    ids = [i for i in gt if 5 in gt[i] and 45 in gt[i]]
    ea = models.reid.embed([crop(a, gt[i][5]) for i in ids])
    eb = models.reid.embed([crop(b, gt[i][45]) for i in ids])
    sim = ea @ eb.T
    same = np.diag(sim).mean()
    diff = sim[~np.eye(len(ids), dtype=bool)].mean()
    assert same > diff + 0.15
    assert (sim.argmax(axis=1) == np.arange(len(ids))).mean() >= 0.6


def test_reid_flip_averages_with_the_mirror_image(models) -> None:
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 255, (120, 50, 3), dtype=np.uint8)
    flip = ReidEmbedder(models.reid.weights, ReidConfig(flip=True))
    raw = models.reid._run(models.reid.preprocess([crop, np.ascontiguousarray(crop[:, ::-1])]))
    expected = raw.sum(axis=0) / np.linalg.norm(raw.sum(axis=0))  # sum of raw outputs, then normalised
    got = flip.embed([crop])[0]
    assert np.allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, models.reid.embed([crop])[0], atol=1e-3)


def test_reid_rejects_non_image_input(models) -> None:
    with pytest.raises(ModelError, match="not an image crop"):
        models.reid.embed([np.zeros((0, 10, 3), np.uint8)])


def test_missing_weights_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    store = WeightStore([tmp_path])
    with pytest.raises(WeightsError) as info:
        store.resolve("reid/osnet_x0_25_msmt17.onnx")
    msg = str(info.value)
    assert "osnet_x0_25_msmt17.onnx" in msg and "install.sh" in msg and "\n" not in msg


def test_corrupt_known_weights_fail_the_checksum(tmp_path: Path) -> None:
    bad = tmp_path / "reid" / "osnet_x0_25_msmt17.onnx"
    bad.parent.mkdir()
    data = bytearray(asset("reid/osnet_x0_25_msmt17.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as info:
        WeightStore([tmp_path]).resolve("reid/osnet_x0_25_msmt17.onnx")
    assert "corrupt" in str(info.value) and str(bad) in str(info.value) and "\n" not in str(info.value)


def test_flat_weights_folder_is_found(tmp_path: Path) -> None:
    shutil.copy(asset("reid/osnet_x0_25_msmt17.onnx"), tmp_path)
    assert WeightStore([tmp_path]).resolve("reid/osnet_x0_25_msmt17.onnx").parent == tmp_path


def test_manifest_matches_the_assets() -> None:
    for rel, entry in load_manifest().items():
        path = ASSETS / rel
        if path.exists():
            assert sha256_of(path) == entry.sha256, rel


@pytest.mark.parametrize("kind", ["reid", "detector"])
def test_unknown_garbage_model_file_is_a_clear_error(tmp_path: Path, kind: str) -> None:
    junk = tmp_path / ("mine.onnx" if kind == "reid" else "mine.pt")
    junk.write_bytes(b"this is not a model" * 100)
    with pytest.raises(ModelError) as info:
        if kind == "reid":
            ReidEmbedder(junk)
        else:
            PersonDetector(junk)
    assert str(junk) in str(info.value) and "\n" not in str(info.value)


def test_device_choice() -> None:
    assert choose_device("cpu").kind == "cpu"
    auto = choose_device("auto")
    assert auto.kind in ("cpu", "cuda") and auto.ort_providers[-1] == "CPUExecutionProvider"
    if auto.kind == "cpu":
        with pytest.raises(ModelError, match="CUDA requested but unavailable"):
            choose_device("cuda")
    with pytest.raises(ModelError, match="unknown device"):
        choose_device("tpu")


def test_cuda_sessions_ask_cudnn_heuristics_not_a_benchmark_per_shape(models, frame_of) -> None:
    """The CUDA provider's default benchmarks every convolution again for each new input shape (the
    detector meets many); both models ask for the heuristic choice. Where ONNX Runtime has no CUDA
    provider the same lists load and run on the CPU."""
    assert provider_list((CUDA_EP, CPU_EP)) == [(CUDA_EP, {"cudnn_conv_algo_search": "HEURISTIC"}), CPU_EP]
    assert provider_list((CPU_EP,)) == [CPU_EP]
    image = frame_of(pets().video, 100)
    detector = PersonDetector(models.detector.weights, models.detector.config, providers=(CUDA_EP, CPU_EP))
    assert len(detector.detect([image])[0]) == len(models.detector.detect([image])[0])
    reid = ReidEmbedder(models.reid.weights, providers=(CUDA_EP, CPU_EP))
    crop = np.ascontiguousarray(image[100:300, 200:280])
    assert np.allclose(reid.embed([crop]), models.reid.embed([crop]), atol=1e-4)


def test_export_pt_to_onnx(tmp_path: Path, frame_of) -> None:
    from models.export import export_onnx

    out = export_onnx(asset("detector/yolov8n_rebuilt.pt"), tmp_path / "exported.onnx")
    assert out.is_file()
    with pytest.raises(ModelError, match="already exists"):
        export_onnx(asset("detector/yolov8n_rebuilt.pt"), out)
    image = frame_of(pets().video, 100)
    mine = PersonDetector(out).detect([image])[0]
    ref = PersonDetector(asset("detector/yolov8n_dynamic.onnx")).detect([image])[0]
    assert len(mine) == len(ref)
    assert np.allclose(np.sort(mine.score), np.sort(ref.score), atol=1e-3)


@pytest.mark.parametrize(
    "name",
    ["detector/yolov8n_dynamic.onnx", "detector/yolov8n_dequant_fp32.onnx", "detector/yolov8n_rebuilt.pt"],
)
def test_detector_matches_ultralytics_predict(name: str, frame_of) -> None:
    """Spotter drives Ultralytics' parts (AutoBackend, LetterBox, NMS) without its Predictor; the boxes
    must be the ones Ultralytics' own predict() gives with the same settings."""
    from ultralytics import YOLO

    cfg = DetectorConfig(weights=name)
    ours = PersonDetector(asset(name), cfg)
    theirs = YOLO(str(asset(name)), task="detect")
    for k in (0, 100, 400):
        image = frame_of(pets().video, k)
        mine = ours.detect([image], input_size=480)[0]
        r = theirs.predict(
            [image], imgsz=480, conf=cfg.min_score, iou=cfg.nms_iou, classes=[0], verbose=False
        )[0]
        ref_boxes, ref_scores = r.boxes.xyxy.numpy(), r.boxes.conf.numpy()
        assert len(mine) == len(ref_scores)
        order, ref_order = np.argsort(-mine.score), np.argsort(-ref_scores)
        assert np.allclose(mine.score[order], ref_scores[ref_order], atol=1e-4)
        assert np.allclose(mine.xyxy[order], ref_boxes[ref_order], atol=0.05)


def test_gpu_is_found_through_onnxruntime_without_torch(monkeypatch) -> None:
    """The device choice asks ONNX Runtime (faked here at its boundary): a CUDA provider that starts
    gives the GPU, one that is listed but falls back to the CPU (no driver) gives the CPU, and no
    PyTorch is consulted (pip's Windows torch is CPU-only while onnxruntime-gpu runs fine)."""
    import sys

    import onnxruntime as ort

    from models import providers

    class FakeSession:
        started: ClassVar[list[str]] = []

        def __init__(self, model, providers=None, **kw) -> None:
            self._providers = FakeSession.started

        def get_providers(self) -> list[str]:
            return self._providers

    monkeypatch.setattr(ort, "get_available_providers", lambda: [providers.CUDA_EP, providers.CPU_EP])
    monkeypatch.setattr(ort, "InferenceSession", FakeSession)
    monkeypatch.setattr(providers, "_nvidia_smi_name", lambda: "NVIDIA H200")
    monkeypatch.setitem(sys.modules, "torch", None)  # importing torch would fail
    for started, kind in (([providers.CUDA_EP, providers.CPU_EP], "cuda"), ([providers.CPU_EP], "cpu")):
        FakeSession.started = started
        providers.cuda_device_name.cache_clear()
        choice = choose_device("auto")
        assert choice.kind == kind
        if kind == "cuda":
            assert choice.label == "GPU (NVIDIA H200)" and choice.ort_providers[0] == providers.CUDA_EP
        else:
            with pytest.raises(ModelError, match="CUDA requested but unavailable"):
                choose_device("cuda")
    providers.cuda_device_name.cache_clear()
