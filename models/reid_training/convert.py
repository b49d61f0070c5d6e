"""A shipped ONNX ReID model as a trainable PyTorch module, and a trained module back to ONNX.

Why onnx2torch and not torchreid's OSNet class: the PyPI ``torchreid`` is an unmaintained repackaging,
and the shipped ONNX files have their BatchNorm folded into the convolutions, so loading them into a
torchreid OSNet would need a hand-written weight mapping. onnx2torch (a maintained converter) rebuilds
the exact graph of *any* ONNX model Spotter can run (OSNet x0.25, x0.5, a site's own) as torch modules
with the ONNX weights as parameters; onnxslim first folds the graph's shape arithmetic so that every
layer has a static shape. The conversion is checked by comparing outputs (``max_difference``).

The only BatchNorm left (the embedding head's) is kept frozen while training: a PK batch of 32 crops
of 8 people gives noisy statistics, and fine-tuning a trained model does not need new ones.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import ModelError, first_line

log = logging.getLogger(__name__)

CONVERSION_TOLERANCE = 1e-4
"""Largest difference allowed between the L2-normalised outputs of the ONNX model and its PyTorch
conversion (or of a trained module and its ONNX export) on the same crops; float32 rounding of a
different operation order stays near 1e-6."""

ONNX_OPSET = 17
"""ONNX opset of exported models (ONNX Runtime 1.14 and later run it)."""

INPUT_NAME, OUTPUT_NAME = "images", "features"


def load_trainable(onnx_path: Path) -> Any:
    """The ONNX model as a ``torch.nn.Module`` (train mode, BatchNorm frozen) with its exact weights."""
    import onnx
    import onnxslim
    from onnx2torch import convert

    try:
        graph = onnxslim.slim(onnx.load(str(onnx_path)))
        module = convert(graph)
    except Exception as e:
        raise ModelError(f"cannot convert the ReID model {onnx_path} to PyTorch: {first_line(e)}") from e
    module.train()
    freeze_batchnorm(module)
    return module


def freeze_batchnorm(module: Any) -> None:
    """Put every BatchNorm layer in eval mode (running statistics used and left unchanged)."""
    import torch

    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


def normalised(module: Any) -> Any:
    """The module followed by L2 normalisation: the output contract of Spotter's ReID models."""
    import torch

    class Normalised(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.inner(x), dim=1)

    return Normalised(module)


def torch_embed(module: Any, batch: np.ndarray, chunk: int = 64) -> np.ndarray:
    """L2-normalised outputs of the module (eval mode, on the device it is on) for a normalised NCHW
    float32 batch."""
    import torch

    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    out = []
    with torch.no_grad():
        for k in range(0, len(batch), chunk):
            y = module(torch.from_numpy(np.ascontiguousarray(batch[k : k + chunk])).to(device))
            out.append(torch.nn.functional.normalize(y, dim=1).cpu().numpy())
    if was_training:
        module.train()
        freeze_batchnorm(module)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def onnx_embed(onnx_path: Path, batch: np.ndarray) -> np.ndarray:
    """L2-normalised outputs of an ONNX model (ONNX Runtime, CPU) for a normalised NCHW batch."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    y = session.run(None, {session.get_inputs()[0].name: batch})[0]
    return y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)


def max_difference(onnx_path: Path, module: Any, batch: np.ndarray) -> float:
    """Largest absolute difference between the normalised outputs of the ONNX model and the module."""
    return float(np.abs(onnx_embed(onnx_path, batch) - torch_embed(module, batch)).max())


def export_onnx(module: Any, out: Path, check_batch: np.ndarray) -> float:
    """Write the module as an ONNX ReID model (input ``images`` N x 3 x H x W, output ``features``
    N x D, L2-normalised) and check it against the module on ``check_batch``; returns the largest
    difference. Written to a temporary file first: an existing model is replaced only by a good one."""
    import torch

    out = Path(out)
    was_training = module.training
    h, w = check_batch.shape[2:]
    head = normalised(module).eval()
    fd, tmp_name = tempfile.mkstemp(suffix=".onnx", dir=out.parent if out.parent.exists() else None)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                head,
                (torch.zeros(2, 3, h, w),),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        diff = max_difference(tmp, module, check_batch)
        if not diff <= CONVERSION_TOLERANCE:
            raise ModelError(f"the exported model differs from the trained one by {diff:.2e}")
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, out)
    except ModelError:
        raise
    except Exception as e:
        raise ModelError(f"cannot write the ONNX model {out}: {first_line(e)}") from e
    finally:
        tmp.unlink(missing_ok=True)
    if was_training:
        module.train()
        freeze_batchnorm(module)
    return diff
