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
from models.errors import ModelError, first_line
from models.providers import CPU_EP, session_options

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
        416 keeps 40-px-tall people detectable (PETS at 480x360: same F1 as 480, 35 % less time);
        raise it for wide scenes of small, distant people.
    min_input: smallest network input (tiny query crops are detected at this size or a little above).
    batch: frames per detector call; batching amortises per-call overhead (dynamic-shape models only).
    """

    weights: str = "detector/yolov8n_dynamic.onnx"
    min_score: float = 0.1
    nms_iou: float = 0.6
    max_input: int = 416
    min_input: int = 160
    batch: int = 4


def input_side(longest_side: int, config: DetectorConfig) -> int:
    """Network input size for an image whose longest side is ``longest_side`` pixels."""
    side = math.ceil(max(longest_side, 1) / STRIDE) * STRIDE
    return int(min(max(side, config.min_input), config.max_input))


class PersonDetector:
    """Finds people in BGR frames. ``detect`` takes a batch of same-sized frames.

    Runs on Ultralytics' own parts: ``AutoBackend`` loads the ``.onnx``/``.pt`` model on the chosen
    device, ``LetterBox`` pads each frame to the network input, ``non_max_suppression`` and
    ``scale_boxes`` turn the raw output into boxes in frame pixels. The ``Predictor`` wrapper around
    them is not used: it adds per-call overhead and imports torchvision (5-6 s on a small CPU) only to
    swap in its NMS, where Ultralytics' own gives the same boxes.
    """

    def __init__(self, weights: Path, config: DetectorConfig = DetectorConfig(), device: str = "cpu"):
        quiet_ultralytics()
        self.config = config
        self.weights = Path(weights)
        self.device = device
        try:
            import torch
            from ultralytics.nn.autobackend import AutoBackend

            self._torch = torch
            self._backend = AutoBackend(self.weights, device=torch.device(device), fp16=False, verbose=False)
            names = dict(self._backend.names)
        except Exception as e:
            raise ModelError(f"cannot load detector {self.weights}: {first_line(e)}") from e
        person = [k for k, v in names.items() if str(v).lower() == "person"]
        if not person:
            raise ModelError(
                f"detector {self.weights} has no 'person' class (classes: {list(names.values())[:5]}...)"
            )
        self.person_class = int(person[0])
        self._tune_cpu_session()
        self.stride = max(int(getattr(self._backend, "stride", STRIDE)), STRIDE)
        self.fixed_shape = self._fixed_input_shape()
        self.dynamic = self.fixed_shape is None
        self.model_id = self.weights.name
        self._predict([np.zeros((STRIDE * 2, STRIDE * 2, 3), np.uint8)], config.min_input)  # warm up, check

    def _tune_cpu_session(self) -> None:
        """Re-open an ONNX model running on the CPU with Spotter's session options (no spinning worker
        threads); AutoBackend does not pass session options through."""
        backend = getattr(self._backend, "backend", None)
        session = getattr(backend, "session", None)
        if session is None or session.get_providers()[:1] != [CPU_EP]:
            return
        import onnxruntime as ort

        backend.session = ort.InferenceSession(
            str(self.weights), session_options((CPU_EP,)), providers=[CPU_EP]
        )

    def _fixed_input_shape(self) -> tuple[int, int] | None:
        """(height, width) of a static-shape ONNX model's input; None when the input size is free."""
        session = getattr(self._backend, "session", None)
        if session is None:
            return None
        shape = session.get_inputs()[0].shape
        if all(isinstance(v, int) for v in shape[2:]):
            return int(shape[2]), int(shape[3])
        return None

    def network_shape(self, height: int, width: int, input_size: int) -> tuple[int, int]:
        """(h, w) of the network input for a frame: the longest side scaled to ``input_size``, the other
        in proportion, both rounded up to the stride (a minimal-padding rectangle, as Ultralytics'
        ``rect`` inference); a static-shape model takes its own size."""
        if self.fixed_shape is not None:
            return self.fixed_shape
        r = input_size / max(height, width)
        return (
            math.ceil(round(height * r) / self.stride) * self.stride,
            math.ceil(round(width * r) / self.stride) * self.stride,
        )

    def detect(self, frames: Sequence[np.ndarray], input_size: int | None = None) -> list[Detections]:
        """Person boxes for each frame, in that frame's pixels.

        ``input_size`` is the network's longest input side (default: matched to the frames).
        """
        if not len(frames):
            return []
        size = input_size or input_side(max(frames[0].shape[:2]), self.config)
        batch = self.config.batch if self.dynamic else 1
        out: list[Detections] = []
        for k in range(0, len(frames), max(batch, 1)):
            out += self._predict(list(frames[k : k + batch]), size)
        return out

    def _predict(self, frames: list[np.ndarray], size: int) -> list[Detections]:
        from ultralytics.data.augment import LetterBox
        from ultralytics.utils.nms import non_max_suppression
        from ultralytics.utils.ops import scale_boxes

        torch = self._torch
        h, w = frames[0].shape[:2]
        shape = self.network_shape(h, w, size)
        try:
            letterbox = LetterBox(shape, auto=False, stride=self.stride)
            batch = np.stack([letterbox(image=f) for f in frames])
            x = torch.from_numpy(batch).to(self._backend.device).permute(0, 3, 1, 2).flip(1).float().div_(255)
            with torch.inference_mode():
                preds = self._backend(x)
                kept = non_max_suppression(
                    preds,
                    self.config.min_score,
                    self.config.nms_iou,
                    classes=[self.person_class],
                    max_det=300,
                )
        except Exception as e:
            raise ModelError(f"detector {self.weights.name} failed: {first_line(e)}") from e
        dets = []
        for frame, d in zip(frames, kept):
            boxes = scale_boxes(x.shape[2:], d[:, :4].clone(), frame.shape[:2]).cpu().numpy()
            try:
                dets.append(Detections(boxes, d[:, 4].cpu().numpy()))
            except ValueError as e:
                raise ModelError(f"detector {self.weights.name} returned bad boxes: {e}") from e
        return dets
