"""The ReID model on the CPU runs on OpenVINO (models.openvino_cpu) where it is installed, as it is by
requirements.txt, and gives the vectors ONNX Runtime gives: a library indexed with one is searched
with the other."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import ModelError
from models.openvino_cpu import OPENVINO_CPU
from models.providers import CPU_EP, limit_cpu_threads
from models.reid import ReidConfig, ReidEmbedder
from tests.conftest import load_gt, pets


def _crops(frame_of) -> list[np.ndarray]:
    """Every ground-truth person of 14 PETS09-S2L1 frames (30-120 px tall), and one tiny crop."""
    seq = pets()
    out = []
    for number in range(0, 795, 60):
        image = frame_of(seq.video, number)
        for boxes in load_gt(seq).values():
            if number in boxes:
                x1, y1, x2, y2 = (max(int(v), 0) for v in boxes[number])
                crop = image[y1:y2, x1:x2]
                if crop.size:
                    out.append(np.ascontiguousarray(crop))
    return [*out, np.full((9, 4, 3), 127, np.uint8)]


def test_the_default_cpu_runtime_is_openvino_with_onnx_runtimes_vectors(models, frame_of) -> None:
    crops = _crops(frame_of)
    assert len(crops) > 40
    default = ReidEmbedder(models.reid.weights)
    plain = ReidEmbedder(models.reid.weights, ReidConfig(cpu_runtime="onnxruntime"))
    assert default.providers == (OPENVINO_CPU,) and plain.providers == (CPU_EP,)
    ours, theirs = default.embed(crops), plain.embed(crops)  # two batches: 32 crops, then the rest
    assert ours.shape == theirs.shape and default.dim == plain.dim
    assert float(np.min(np.sum(ours * theirs, axis=1))) > 0.99999
    one = default.embed(crops[3:4])  # a batch of another size: the same vector
    assert np.allclose(one[0], ours[3], atol=1e-5)


def test_a_thread_limit_holds_for_openvino_too(models) -> None:
    """A Ray worker granted one CPU limits its models to one thread (models.providers)."""
    limit_cpu_threads(1)
    try:
        reid = ReidEmbedder(models.reid.weights)
    finally:
        limit_cpu_threads(0)
    assert int(reid._openvino._compiled.get_property("INFERENCE_NUM_THREADS")) == 1
    assert (
        int(ReidEmbedder(models.reid.weights)._openvino._compiled.get_property("INFERENCE_NUM_THREADS")) != 1
    )


def test_an_unknown_cpu_runtime_is_a_clear_error(models) -> None:
    with pytest.raises(ModelError, match="cpu_runtime must be one of openvino, onnxruntime, not 'tensorrt'"):
        ReidEmbedder(models.reid.weights, ReidConfig(cpu_runtime="tensorrt"))


def test_a_model_that_is_not_one_is_a_one_line_error_on_either_runtime(tmp_path) -> None:
    junk = tmp_path / "mine.onnx"
    junk.write_bytes(b"\x08\x07" + b"not a network" * 50)
    for runtime in ("openvino", "onnxruntime"):
        with pytest.raises(ModelError) as info:
            ReidEmbedder(junk, ReidConfig(cpu_runtime=runtime))
        assert str(junk) in str(info.value) and "\n" not in str(info.value)


def test_threads_embed_at_once_and_each_gets_its_own_vectors(models, frame_of) -> None:
    """The GUI searches while it indexes, with one model: an OpenVINO request serves one call at a
    time, so each thread has its own."""
    from concurrent.futures import ThreadPoolExecutor

    crops = _crops(frame_of)
    reid = ReidEmbedder(models.reid.weights)
    alone = [reid.embed(crops[k::4]) for k in range(4)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda k: [reid.embed(crops[k::4]) for _ in range(5)], range(4)))
    for k in range(4):
        assert all(np.allclose(v, alone[k], atol=1e-5) for v in together[k])


def ort_only_model(path) -> None:
    """A small ReID-shaped model (NCHW in, a vector out) with an operator ONNX Runtime has and
    OpenVINO lacks (com.microsoft Inverse, in a branch that adds zero)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Inverse", ["m"], ["inv"], domain="com.microsoft"),
        helper.make_node("ReduceSum", ["inv"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["flat", "nothing"], ["y"]),
    ]
    consts = [
        helper.make_tensor("m", TensorProto.FLOAT, [2, 2], [2.0, 0.0, 0.0, 2.0]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
    ]
    graph = helper.make_graph(
        nodes,
        "reid",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 256, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        consts,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8
    onnx.save(model, str(path))


def test_a_model_openvino_cannot_take_runs_on_onnx_runtime(tmp_path) -> None:
    """A model trained or converted elsewhere may use an operator only ONNX Runtime has: it still
    runs, on ONNX Runtime, rather than failing."""
    model = tmp_path / "site_model.onnx"
    ort_only_model(model)
    reid = ReidEmbedder(model)
    assert reid.providers == (CPU_EP,) and reid.dim == 3
    assert np.allclose(np.linalg.norm(reid.embed([np.full((40, 20, 3), 90, np.uint8)]), axis=1), 1.0)
