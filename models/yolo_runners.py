"""The two ways a YOLO network runs: an ONNX file on ONNX Runtime, a ``.pt`` checkpoint through Ultralytics.

Both take a letterboxed NCHW float32 batch and return the raw output ``(batch, 4 + classes, anchors)``
(box centre x, centre y, width, height in network pixels, then class scores) as numpy; decoding and
NMS are shared (:mod:`models.detector`). ONNX is the default and never imports PyTorch, which keeps a
command-line run 3-4 s shorter; a ``.pt`` file is loaded by Ultralytics (and so PyTorch).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.errors import ModelError, first_line
from models.onnx_file import check_onnx_file
from models.providers import CPU_EP, inference_session

log = logging.getLogger(__name__)


def quiet_ultralytics() -> None:
    """Environment that keeps Ultralytics offline and from installing anything, with its settings
    file in Spotter's own config folder; call before importing it."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if "YOLO_CONFIG_DIR" not in os.environ:
        from platformdirs import user_config_dir

        os.environ["YOLO_CONFIG_DIR"] = str(Path(user_config_dir("Spotter", appauthor=False)) / "ultralytics")


class OnnxYolo:
    """A YOLO ONNX export on ONNX Runtime (CUDA where the providers include it)."""

    def __init__(self, weights: Path, providers: Sequence[str] = (CPU_EP,)):

        check_onnx_file(weights, "detector")
        try:
            self.session = inference_session(weights, tuple(providers))
        except Exception as e:
            raise ModelError(f"cannot load detector {weights}: {first_line(e)}") from e
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(f"detector {weights} must take one NCHW image input")
        self.input = inputs[0].name
        shape = inputs[0].shape
        self.fixed_shape = (
            (int(shape[2]), int(shape[3])) if all(isinstance(v, int) for v in shape[2:]) else None
        )
        self.fixed_batch = int(shape[0]) if isinstance(shape[0], int) else None
        self.names = _class_names(self.session)
        self.stride = 32
        self.providers = tuple(self.session.get_providers())

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: batch})[0]


def _class_names(session: object) -> dict[int, str]:
    """Class names from the model's metadata (Ultralytics writes ``names`` as a dict literal)."""
    import ast

    meta = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    try:
        names = ast.literal_eval(meta.get("names", "{}"))
    except (ValueError, SyntaxError):
        names = {}
    return {int(k): str(v) for k, v in dict(names).items()}


class TorchYolo:
    """A YOLO ``.pt`` checkpoint run by Ultralytics' ``AutoBackend`` on PyTorch."""

    def __init__(self, weights: Path, device: str = "cpu"):
        quiet_ultralytics()
        try:
            import torch
            from ultralytics.nn.autobackend import AutoBackend

            self._torch = torch
            self._backend = AutoBackend(weights, device=torch.device(device), fp16=False, verbose=False)
            self.names = {int(k): str(v) for k, v in dict(self._backend.names).items()}
        except Exception as e:
            raise ModelError(f"cannot load detector {weights}: {first_line(e)}") from e
        self.fixed_shape = None
        self.fixed_batch = None
        self.stride = max(int(getattr(self._backend, "stride", 32)), 32)
        self.providers = (str(device),)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self._backend(torch.from_numpy(batch).to(self._backend.device))
        out = out[0] if isinstance(out, (list, tuple)) else out
        return out.float().cpu().numpy()
