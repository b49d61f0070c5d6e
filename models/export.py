"""Convert a YOLO PyTorch checkpoint (``.pt``) to ONNX with Ultralytics' exporter.

The ONNX file has a dynamic batch and input size by default, so Spotter can run it at an input size
matched to the footage and in batches. Used by ``python main.py export-detector MODEL.pt``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from models.errors import ModelError, first_line
from models.weights import WeightStore
from models.yolo_runners import quiet_ultralytics

log = logging.getLogger(__name__)


def export_onnx(
    checkpoint: str | Path,
    out: str | Path | None = None,
    imgsz: int = 640,
    dynamic: bool = True,
    simplify: bool = True,
    trust: bool = False,
) -> Path:
    """Export ``checkpoint`` to ``out`` (default: same name with ``.onnx``); never overwrites a file.
    A checkpoint that is not a known model is loaded only with ``trust`` (loading runs its code)."""
    checkpoint = Path(checkpoint).expanduser().resolve()
    target = Path(out).expanduser().resolve() if out else checkpoint.with_suffix(".onnx")
    if checkpoint.suffix != ".pt" or not checkpoint.is_file():
        raise ModelError(f"{checkpoint}: not a YOLO .pt checkpoint")
    WeightStore().check_safe(checkpoint, trust)
    if target.exists():
        raise ModelError(f"{target} already exists; not overwritten")
    quiet_ultralytics()
    with tempfile.TemporaryDirectory(prefix="spotter-export-") as tmp:
        work = Path(tmp) / checkpoint.name
        shutil.copy2(checkpoint, work)  # Ultralytics writes next to its input: keep that in a temp dir
        try:
            from ultralytics import YOLO

            produced = YOLO(str(work), task="detect").export(
                format="onnx", imgsz=imgsz, dynamic=dynamic, simplify=simplify, verbose=False
            )
        except Exception as e:
            raise ModelError(f"cannot export {checkpoint}: {first_line(e)}") from e
        produced = Path(produced)
        if not produced.is_file():
            raise ModelError(f"export of {checkpoint} produced no ONNX file")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), target)
    log.info("exported %s to %s", checkpoint, target)
    return target
