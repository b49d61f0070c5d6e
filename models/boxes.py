"""Box geometry shared by the detector and the tracker: IoU, non-maximum suppression, letterboxing.

Written here rather than taken from a library: the only NMS at hand that matches Ultralytics' output
exactly is torchvision's, and importing torch costs a command-line run 3-4 s before the first frame
(measured on a 2-core CPU); these are twenty lines of numpy each, and tests pin them to Ultralytics.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LETTERBOX_FILL = 114  # grey of the padding YOLO models were trained with


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) corner boxes -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(xyxy: np.ndarray, score: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first (torchvision's rule: a box is
    dropped when its IoU with a kept, higher-scoring box is above ``iou``)."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(score), kind="stable")
    if len(order) < 2:
        return order
    overlap = iou_matrix(xyxy[order], xyxy[order])
    removed = np.zeros(len(order), bool)
    keep = []
    for i in range(len(order)):
        if removed[i]:
            continue
        keep.append(order[i])
        removed |= overlap[i] > iou
    return np.asarray(keep, dtype=np.int64)


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into a network input: scaled by ``gain_x``/``gain_y`` (the rounded
    resize), then padded by ``(left, top)``."""

    gain_x: float
    gain_y: float
    left: int
    top: int

    def to_image(self, xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
        """Boxes in network pixels -> boxes in image pixels, clipped to the image."""
        out = np.asarray(xyxy, dtype=np.float32) - [self.left, self.top, self.left, self.top]
        out /= np.array([self.gain_x, self.gain_y, self.gain_x, self.gain_y], np.float32)
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
        return out


def letterbox(image: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Resize ``image`` to fit ``shape`` (h, w) keeping its aspect, centred on grey padding (the same
    arithmetic as Ultralytics' ``LetterBox``, so boxes agree with its predictions to the pixel)."""
    h, w = image.shape[:2]
    r = min(shape[0] / h, shape[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (shape[1] - new_w) / 2, (shape[0] - new_h) / 2
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(LETTERBOX_FILL,) * 3
        )
    return image, Letterbox(new_w / w, new_h / h, left, top)
