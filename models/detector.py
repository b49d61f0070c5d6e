"""YOLO person detector run through Ultralytics (``.onnx`` or ``.pt``), persons only.

Ultralytics does the letterboxing and NMS. Before it is imported, its network features are switched
off: no update checks, no telemetry, no package installs at run time.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.detections import Detections
from models.errors import ModelError

log = logging.getLogger(__name__)

STRIDE = 32  # YOLO input sides are multiples of the network's largest stride


def quiet_ultralytics() -> None:
    """Environment that keeps Ultralytics offline and from installing anything, with its settings
    file in Spotter's own config folder; call before importing it."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if "YOLO_CONFIG_DIR" not in os.environ:
        from platformdirs import user_config_dir

        os.environ["YOLO_CONFIG_DIR"] = str(Path(user_config_dir("Spotter", appauthor=False)) / "ultralytics")


@dataclass(frozen=True)
class DetectorConfig:
    """Person detector settings.

    min_score: lowest confidence kept. Low because the tracker's second association step uses boxes
        between this and ``TrackerConfig.high_score`` to keep tracks alive through occlusion; raising
        it loses those, lowering it adds clutter the tracker must reject.
    nms_iou: boxes overlapping a stronger box by more than this IoU are suppressed. Lower merges
        people walking side by side; higher keeps duplicate boxes on one person.
    max_input: longest side of the network input in pixels. Footage smaller than this runs at its own
        size (rounded up to 32), larger footage is shrunk to it; time per frame grows with the area.
    min_input: smallest network input (tiny query crops are detected at this size or a little above).
    batch: frames per detector call; batching amortises per-call overhead (dynamic-shape models only).
    """

    weights: str = "detector/yolov8n_dynamic.onnx"
    min_score: float = 0.1
    nms_iou: float = 0.6
    max_input: int = 640
    min_input: int = 160
    batch: int = 4


def input_side(longest_side: int, config: DetectorConfig) -> int:
    """Network input size for an image whose longest side is ``longest_side`` pixels."""
    side = math.ceil(max(longest_side, 1) / STRIDE) * STRIDE
    return int(min(max(side, config.min_input), config.max_input))


class PersonDetector:
    """Finds people in BGR frames. ``detect`` takes a batch of same-sized frames."""

    def __init__(self, weights: Path, config: DetectorConfig = DetectorConfig(), device: str = "cpu"):
        quiet_ultralytics()
        self.config = config
        self.weights = Path(weights)
        self.device = device
        try:
            from ultralytics import YOLO

            self._model = YOLO(str(self.weights), task="detect")
            names = self._model.names
        except Exception as e:
            raise ModelError(f"cannot load detector {self.weights}: {_first_line(e)}") from e
        person = [k for k, v in dict(names).items() if str(v).lower() == "person"]
        if not person:
            raise ModelError(
                f"detector {self.weights} has no 'person' class (classes: {list(names.values())[:5]}...)"
            )
        self.person_class = int(person[0])
        self.dynamic: bool | None = None
        self.model_id = self.weights.name
        self._predict([np.zeros((STRIDE * 2, STRIDE * 2, 3), np.uint8)], config.min_input)  # warm up, probe

    def detect(self, frames: Sequence[np.ndarray], input_size: int | None = None) -> list[Detections]:
        """Person boxes for each frame, in that frame's pixels.

        ``input_size`` is the network's longest input side (default: matched to the frames).
        """
        if not len(frames):
            return []
        size = input_size or input_side(max(frames[0].shape[:2]), self.config)
        batch = self.config.batch if self.dynamic is not False else 1
        out: list[Detections] = []
        for k in range(0, len(frames), max(batch, 1)):
            out += self._predict(list(frames[k : k + batch]), size)
        return out

    def _predict(self, frames: list[np.ndarray], size: int) -> list[Detections]:
        try:
            results = self._model.predict(
                frames,
                imgsz=size,
                conf=self.config.min_score,
                iou=self.config.nms_iou,
                classes=[self.person_class],
                device=self.device,
                verbose=False,
            )
        except Exception as e:
            raise ModelError(f"detector {self.weights.name} failed: {_first_line(e)}") from e
        if self.dynamic is None:
            backend = getattr(self._model.predictor, "model", None)
            self.dynamic = bool(getattr(backend, "dynamic", False) or getattr(backend, "pt", False))
        dets = []
        for r in results:
            boxes = r.boxes
            xyxy = boxes.xyxy.cpu().numpy() if len(boxes) else np.zeros((0, 4), np.float32)
            score = boxes.conf.cpu().numpy() if len(boxes) else np.zeros(0, np.float32)
            try:
                dets.append(Detections(xyxy, score))
            except ValueError as e:
                raise ModelError(f"detector {self.weights.name} returned bad boxes: {e}") from e
        return dets


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
