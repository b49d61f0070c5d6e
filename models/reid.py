"""Person re-identification embedder: an OSNet-style ONNX model, run on the CPU by OpenVINO where it
is installed (:mod:`models.openvino_cpu`: several times faster for this network, the same vectors),
else by ONNX Runtime, which also runs it on a GPU (CUDA).

Input: RGB crops resized to 128 x 256, scaled to 0..1, ImageNet mean/std, NCHW float32.
Output: one L2-normalised vector per crop; cosine similarity is then a dot product.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.errors import ModelError, first_line
from models.onnx_file import check_onnx_file
from models.openvino_cpu import OPENVINO_CPU, OpenVinoSession, openvino_installed
from models.providers import CPU_EP, cpu_threads, inference_session

log = logging.getLogger(__name__)

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CPU_RUNTIMES = ("openvino", "onnxruntime")
MIN_NORM = 1e-6  # an output vector shorter than this carries no direction: the model failed


@dataclass(frozen=True)
class ReidConfig:
    """ReID embedder settings.

    input_width, input_height: the crop size the network was trained on (OSNet: 128 x 256).
    batch: crops per model call; larger batches use the CPU/GPU better, up to memory.
    flip: also embed each crop mirrored left-right and average the two (test-time augmentation);
        doubles the embedding cost.
    cpu_runtime: what runs the model on the CPU: "openvino" (OpenVINO where it is installed, else
        ONNX Runtime) or "onnxruntime". Both give the same vectors; OpenVINO is 2.7x faster here.
    """

    weights: str = "reid/osnet_x0_25_msmt17.onnx"
    input_width: int = 128
    input_height: int = 256
    batch: int = 32
    flip: bool = False
    cpu_runtime: str = "openvino"


class ReidEmbedder:
    """Embeds BGR person crops into L2-normalised appearance vectors."""

    def __init__(
        self, weights: Path, config: ReidConfig = ReidConfig(), providers: Sequence[str] = (CPU_EP,)
    ):

        self.config = config
        self.weights = Path(weights)
        if config.cpu_runtime not in CPU_RUNTIMES:
            raise ModelError(
                f"ReID cpu_runtime must be one of {', '.join(CPU_RUNTIMES)}, not {config.cpu_runtime!r}"
            )
        on_cpu = tuple(providers)[:1] == (CPU_EP,)
        self._openvino: OpenVinoSession | None = None
        ranks: tuple[int, ...] = ()
        check_onnx_file(self.weights, "ReID model")
        refused = ""  # why OpenVINO could not take it
        if on_cpu and config.cpu_runtime == "openvino" and openvino_installed():
            try:
                self._openvino = OpenVinoSession(self.weights, cpu_threads())
                ranks, self.providers = self._openvino.input_ranks, (OPENVINO_CPU,)
            except Exception as e:  # a model OpenVINO cannot take may still run on ONNX Runtime
                refused = first_line(e)
        if self._openvino is None:
            try:
                self._session = inference_session(self.weights, tuple(providers))
            except Exception as e:
                raise ModelError(f"cannot load ReID model {self.weights}: {first_line(e)}") from e
            if refused:
                log.warning(
                    "ReID %s: OpenVINO cannot load it (%s); ONNX Runtime runs it, slower",
                    self.weights,
                    refused,
                )
            inputs = self._session.get_inputs()
            self._input = inputs[0].name if inputs else ""
            ranks, self.providers = tuple(len(i.shape) for i in inputs), tuple(self._session.get_providers())
        if ranks != (4,):
            raise ModelError(f"ReID model {self.weights} must take one NCHW image input")
        self.model_id = self.weights.name
        self.dim = int(self.embed([np.zeros((16, 8, 3), np.uint8)]).shape[1])  # contract probe
        log.info("ReID %s on %s, %d-d", self.weights.name, self.providers[0], self.dim)

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """BGR crops -> normalised NCHW float32 batch (resize, BGR->RGB and layout in one OpenCV
        call; the ImageNet normalisation as one array operation)."""
        size = (self.config.input_width, self.config.input_height)
        ready = []
        for i, crop in enumerate(crops):
            if crop is None or crop.ndim not in (2, 3) or crop.shape[0] < 1 or crop.shape[1] < 1:
                raise ModelError(
                    f"ReID input {i} is not an image crop (shape {getattr(crop, 'shape', None)})"
                )
            if crop.ndim == 2:
                crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
            elif crop.shape[2] == 4:
                crop = cv2.cvtColor(crop, cv2.COLOR_BGRA2BGR)
            ready.append(crop)
        blob = cv2.dnn.blobFromImages(ready, 1.0 / 255.0, size, (0, 0, 0), swapRB=True, crop=False)
        blob -= IMAGENET_MEAN[None, :, None, None]
        blob /= IMAGENET_STD[None, :, None, None]
        return np.ascontiguousarray(blob, dtype=np.float32)

    def _run(self, x: np.ndarray) -> np.ndarray:
        try:
            y = self._openvino.run(x) if self._openvino else self._session.run(None, {self._input: x})[0]
        except Exception as e:
            raise ModelError(f"ReID model {self.weights.name} failed: {str(e).strip()[:200]}") from e
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise ModelError(
                f"ReID model {self.weights.name} returned shape {y.shape} for {x.shape[0]} crops"
            )
        return y.astype(np.float32, copy=False)

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) L2-normalised embeddings of N BGR crops; flip-averaged if the config says so."""
        if not len(crops):
            return np.zeros((0, getattr(self, "dim", 0)), np.float32)
        out = []
        for k in range(0, len(crops), self.config.batch):
            x = self.preprocess(crops[k : k + self.config.batch])
            y = self._run(x)
            if self.config.flip:
                y = y + self._run(np.ascontiguousarray(x[..., ::-1]))
            out.append(y)
        emb = np.concatenate(out)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        if not np.isfinite(emb).all() or (norms < MIN_NORM).any():
            raise ModelError(f"ReID model {self.weights.name} returned non-finite or zero embeddings")
        return emb / norms
