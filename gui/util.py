"""Small helpers shared by the widgets: image conversion, time and score formatting, dropped paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QProgressDialog, QSizePolicy, QWidget

from pipeline.cameras import clock_label
from pipeline.image_files import PHOTO_EXTENSIONS
from pipeline.media_scan import VIDEO_EXTENSIONS, content_kind, scan_media
from pipeline.types import Hit
from pipeline.types import fmt_time as fmt_time  # re-exported for the widgets

SCORE_LOW, SCORE_HIGH = 0.3, 0.9  # colour scale of scores: red at SCORE_LOW, green at SCORE_HIGH
BOX_COLOR = QColor(255, 165, 0)  # the export's box colour (ExportConfig.box_color is BGR 0,165,255)
WRAPPED_CENTRE = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap  # a placeholder in a narrow view


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A QImage owning a copy of a BGR (or grey) ndarray's pixels."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def jpeg_to_pixmap(data: bytes) -> QPixmap:
    """Decode JPEG (or PNG) bytes; an empty pixmap when the bytes are not an image."""
    pixmap = QPixmap()
    if data:
        pixmap.loadFromData(data)
    return pixmap


def hit_time_text(hit: Hit) -> str:
    """When a hit was seen: its wall-clock start and how long (``2026-11-21 14:31:07 · 5.2 s``), or
    its offsets into the video where the video's start is unknown (``1:07.3 – 1:12.5``)."""
    if hit.video_start is not None:
        return f"{clock_label(hit.video_start, hit.start_s)} · {hit.end_s - hit.start_s:.1f} s"
    return f"{fmt_time(hit.start_s)} – {fmt_time(hit.end_s)}"


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA --"
    m, s = divmod(round(seconds), 60)
    return f"ETA {m}:{s:02d}"


def job_dialog(
    parent: QWidget | None, title: str, text: str, cancel: Callable[[], None], cancel_text: str = "Cancel"
) -> QProgressDialog:
    """A long job's non-modal progress dialog (0-100), shown, its Cancel calling the worker's
    thread-safe ``cancel`` at once; :func:`close_job_dialog` when the job's thread has ended."""
    dialog = QProgressDialog(text, cancel_text, 0, 100, parent)
    dialog.setWindowTitle(title)
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    # direct: the worker thread is busy in run(), a queued call would wait for it to end
    dialog.canceled.connect(cancel, Qt.ConnectionType.DirectConnection)
    dialog.show()
    return dialog


def close_job_dialog(dialog: QProgressDialog) -> None:
    """Close a job's dialog once its thread has ended."""
    dialog.canceled.disconnect()  # closing the dialog emits it: not the operator's Cancel
    dialog.close()
    dialog.deleteLater()


def score_color(score: float) -> QColor:
    """Red (weak) through yellow to green (strong) for a similarity score."""
    t = min(max((score - SCORE_LOW) / (SCORE_HIGH - SCORE_LOW), 0.0), 1.0)
    return QColor.fromHsvF(t / 3.0, 0.85, 0.9)


@dataclass(frozen=True)
class DroppedPaths:
    """Paths an operator dropped or chose, sorted by what Spotter does with them."""

    videos: tuple[Path, ...]  # video files, and folders of images (each one camera's snapshots)
    photos: tuple[Path, ...]
    other: tuple[Path, ...]
    unusable: tuple[str, ...] = ()  # one line for each path that cannot be read at all, and why


def classify_paths(paths: Iterable[str | Path], cancelled: Callable[[], bool] | None = None) -> DroppedPaths:
    """Videos (folders expanded recursively to their videos and their folders of images, as
    ``main.py index`` does), photos, files that are neither, and paths that cannot be read (a link
    to itself or to nothing: named as given, not by where the link points). ``cancelled`` stops
    the walk of a folder part-way (see :mod:`gui.folder_scan`)."""
    videos: list[Path] = []
    photos: list[Path] = []
    other: list[Path] = []
    unusable: list[str] = []
    for given in (Path(p).expanduser() for p in paths):
        try:
            p = given.resolve()
            exists = p.exists()
        except (RuntimeError, OSError) as e:  # Python 3.11 raises RuntimeError on a symlink loop
            unusable.append(
                f"{given.name}: cannot be read ({'a link that loops' if isinstance(e, RuntimeError) else e})"
            )
            continue
        if given.is_symlink() and not exists:
            unusable.append(f"{given.name}: a link to a file that is not there ({p})")
        elif p.is_dir():
            scan = scan_media(p, cancelled)
            unusable += [f"{d.name or d}: a folder that cannot be read (skipped)" for d in scan.unreadable]
            if scan.media:
                videos += scan.media
            else:
                other.append(p)
        elif p.suffix.lower() in VIDEO_EXTENSIONS:
            videos.append(p)
        elif p.suffix.lower() in PHOTO_EXTENSIONS or (kind := content_kind(p)) == "image":
            photos.append(p)
        elif kind == "video":  # a file without a known extension, told by its first bytes
            videos.append(p)
        else:
            other.append(p)
    return DroppedPaths(tuple(dict.fromkeys(videos)), tuple(photos), tuple(other), tuple(unusable))


def video_file_filter() -> str:
    return "Videos (" + " ".join(f"*{e}" for e in VIDEO_EXTENSIONS) + ");;All files (*)"


def photo_file_filter() -> str:
    return "Photos (" + " ".join(f"*{e}" for e in PHOTO_EXTENSIONS) + ");;All files (*)"


class ElidedLabel(QLabel):
    """A one-line label that shows '…' instead of clipping text that does not fit."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
    ):
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(20)
        self.mode = mode  # where the '…' goes

    def paintEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), self.mode, rect.width())
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), text)


def qimage_to_bgr(image: QImage) -> np.ndarray:
    """A BGR ndarray copy of a QImage (e.g. from the clipboard)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = rgb.width(), rgb.height(), rgb.bytesPerLine()
    data = np.frombuffer(rgb.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return cv2.cvtColor(np.ascontiguousarray(data[:, : w * 3].reshape(h, w, 3)), cv2.COLOR_RGB2BGR)
