"""YOLO person detector: letterbox, run the network (ONNX Runtime, or Ultralytics for ``.pt``), decode
the persons, non-maximum suppression. Persons only; boxes in the pixels of the image given.

Pre- and post-processing are Ultralytics' (same letterbox arithmetic, best-class filter and NMS rule),
so the boxes equal those of Ultralytics' ``predict`` (pinned by a test), without importing PyTorch for
ONNX models.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.boxes import letterbox, nms
from models.detections import Detections
from models.errors import ModelError, first_line
from models.providers import CPU_EP
from models.validation import Range, check_fields
from models.yolo_runners import OnnxYolo, TorchYolo

log = logging.getLogger(__name__)

STRIDE = 32  # YOLO input sides are multiples of the network's largest stride
MAX_DETECTIONS = 300  # per image, after NMS (Ultralytics' default)


DETECTOR_RULES = {
    "min_score": Range(0.0, 1.0),
    "nms_iou": Range(0.0, 1.0),
    "max_input": Range(32, 8192, integer=True),
    "min_input": Range(32, 8192, integer=True),
    "batch": Range(1, 256, integer=True),
}


@dataclass(frozen=True)
class DetectorConfig:
    """Person detector settings.

    min_score: lowest confidence kept. Low because the tracker's second association step uses boxes
        between this and ``TrackerConfig.high_score`` to keep tracks alive through occlusion; raising
        it loses those, lowering it adds clutter the tracker must reject.
    nms_iou: boxes overlapping a stronger box by more than this IoU are suppressed. Lower merges
        people walking side by side; higher keeps duplicate boxes on one person.
    max_input: longest side of the network input in pixels for a whole frame. Footage smaller than
        this runs at its own size (rounded up to 32), larger footage is shrunk to it; time per frame
        grows with the area. Where people are too small for that, the indexer looks closer at the
        regions where they are (``pipeline.detection_plan``).
    min_input: smallest network input (tiny query crops are detected at this size or a little above).
    batch: frames per detector call; batching amortises per-call overhead (dynamic-shape models only).
    """

    weights: str = "detector/yolov8n_dynamic.onnx"
    min_score: float = 0.1
    nms_iou: float = 0.6
    max_input: int = 416
    min_input: int = 160
    batch: int = 4

    def __post_init__(self) -> None:
        check_fields(self, DETECTOR_RULES)


def input_side(longest_side: int, config: DetectorConfig) -> int:
    """Network input size for an image whose longest side is ``longest_side`` pixels."""
    side = math.ceil(max(longest_side, 1) / STRIDE) * STRIDE
    return int(min(max(side, config.min_input), config.max_input))


class PersonDetector:
    """Finds people in BGR images. ``detect`` takes a batch of same-sized frames; ``detect_at`` fits
    images of any size into one network shape (regions of a frame, tiles)."""

    def __init__(
        self,
        weights: Path,
        config: DetectorConfig = DetectorConfig(),
        device: str = "cpu",
        providers: Sequence[str] = (CPU_EP,),
    ):
        self.config = config
        self.weights = Path(weights)
        self.device = device
        suffix = self.weights.suffix.lower()
        if suffix == ".onnx":
            self._net: OnnxYolo | TorchYolo = OnnxYolo(self.weights, providers)
        elif suffix == ".pt":
            self._net = TorchYolo(self.weights, device)
        else:
            raise ModelError(f"detector {self.weights}: not a YOLO model file (.onnx or .pt)")
        person = [k for k, v in self._net.names.items() if v.lower() == "person"]
        if self._net.names and not person:
            raise ModelError(
                f"detector {self.weights} has no 'person' class "
                f"(classes: {list(self._net.names.values())[:5]}...)"
            )
        self.person_class = int(person[0]) if person else 0
        self.providers = self._net.providers
        self.stride = max(self._net.stride, STRIDE)
        self.fixed_shape = self._net.fixed_shape
        self.dynamic = self.fixed_shape is None and self._net.fixed_batch in (None, -1)
        self.model_id = self.weights.name
        self.detect_at(
            [np.zeros((STRIDE * 2, STRIDE * 2, 3), np.uint8)], (config.min_input, config.min_input)
        )

    def network_shape(self, height: int, width: int, input_size: int) -> tuple[int, int]:
        """(h, w) of the network input for a frame: the longest side scaled to ``input_size``, the other
        in proportion, both rounded up to the stride (a minimal-padding rectangle, as Ultralytics'
        ``rect`` inference); a static-shape model takes its own size."""
        if self.fixed_shape is not None:
            return self.fixed_shape
        r = input_size / max(height, width)
        # at least one stride each way: a sliver (10x10000 px) would otherwise get a side of 0
        return (
            max(math.ceil(round(height * r) / self.stride), 1) * self.stride,
            max(math.ceil(round(width * r) / self.stride), 1) * self.stride,
        )

    def detect(self, frames: Sequence[np.ndarray], input_size: int | None = None) -> list[Detections]:
        """Person boxes for each frame, in that frame's pixels.

        ``input_size`` is the network's longest input side (default: matched to the frames).
        """
        if not len(frames):
            return []
        size = input_size or input_side(max(frames[0].shape[:2]), self.config)
        h, w = frames[0].shape[:2]
        return self.detect_at(frames, self.network_shape(h, w, size))

    def detect_at(self, images: Sequence[np.ndarray], shape: tuple[int, int]) -> list[Detections]:
        """Person boxes for each image, each letterboxed into the network input ``shape`` (h, w)."""
        if self.fixed_shape is not None:
            shape = self.fixed_shape
        batch = self.config.batch if self.dynamic else max(self._net.fixed_batch or 1, 1)
        out: list[Detections] = []
        for k in range(0, len(images), max(batch, 1)):
            out += self._predict(list(images[k : k + batch]), shape)
        return out

    def _predict(self, images: list[np.ndarray], shape: tuple[int, int]) -> list[Detections]:
        boxed, fits = zip(*(letterbox(img, shape) for img in images))
        x = np.stack(boxed)[..., ::-1].transpose(0, 3, 1, 2)  # BGR -> RGB, NHWC -> NCHW
        x = np.ascontiguousarray(x, dtype=np.float32) / 255.0
        try:
            raw = self._net(x)
        except Exception as e:
            raise ModelError(f"detector {self.weights.name} failed: {first_line(e)}") from e
        if raw.ndim != 3 or raw.shape[0] != len(images) or raw.shape[1] < 5:
            raise ModelError(
                f"detector {self.weights.name} returned shape {raw.shape} for {len(images)} images"
            )
        if not np.isfinite(raw).all():
            raise ModelError(f"detector {self.weights.name} returned non-finite values")
        return [self._decode(r, fit, img) for r, fit, img in zip(raw, fits, images)]

    def _decode(self, raw: np.ndarray, fit: object, image: np.ndarray) -> Detections:
        """Raw (4 + classes, anchors) output of one image -> its person detections (best class only,
        as Ultralytics' NMS: a box whose best class is not 'person' is not a person)."""
        scores = raw[4:]
        best = scores.argmax(axis=0)
        conf = scores[best, np.arange(scores.shape[1])]
        keep = (best == self.person_class) & (conf > self.config.min_score)
        if not keep.any():
            return Detections.empty()
        cx, cy, bw, bh = raw[:4, keep]
        xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        conf = conf[keep]
        kept = nms(xyxy, conf, self.config.nms_iou)[:MAX_DETECTIONS]
        h, w = image.shape[:2]
        return Detections(fit.to_image(xyxy[kept], w, h), conf[kept])  # type: ignore[attr-defined]
