"""Which hardware runs the models: CUDA where onnxruntime-gpu and an NVIDIA GPU are present, else CPU.

The choice is made once per process from a requested device (``auto``, ``cpu`` or ``cuda``), logged,
and reported by ``main.py doctor`` and the GUI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from models.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DeviceChoice:
    """The hardware models run on: ``kind`` is 'cuda' or 'cpu'; ``label`` is for people."""

    kind: str
    label: str
    ort_providers: tuple[str, ...]
    torch_device: str


@cache
def _gpu_name() -> str | None:
    """Name of CUDA device 0 as torch sees it, or None (no GPU, or a CPU-only torch)."""
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except Exception as e:  # a broken CUDA install must not stop CPU use
        log.debug("torch CUDA probe failed: %s", e)
    return None


def ort_available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_device(requested: str = "auto") -> DeviceChoice:
    """Resolve ``auto``/``cpu``/``cuda`` to the hardware that will run the models.

    ``cuda`` is an error when onnxruntime has no CUDA provider or no GPU is visible; ``auto`` falls
    back to the CPU in that case.
    """
    if requested not in DEVICES:
        raise ModelError(f"unknown device {requested!r}: choose one of {', '.join(DEVICES)}")
    cpu = DeviceChoice("cpu", "CPU", (CPU_EP,), "cpu")
    if requested == "cpu":
        return cpu
    gpu = _gpu_name() if CUDA_EP in ort_available_providers() else None
    if gpu is None:
        if requested == "cuda":
            raise ModelError(
                "CUDA requested but unavailable: needs onnxruntime-gpu, a CUDA torch and an NVIDIA GPU "
                f"(onnxruntime providers: {', '.join(ort_available_providers())})"
            )
        return cpu
    return DeviceChoice("cuda", f"GPU ({gpu})", (CUDA_EP, CPU_EP), "cuda:0")


def session_options(providers: tuple[str, ...] | list[str]) -> ort.SessionOptions:
    """ONNX Runtime session options for Spotter's models.

    On the CPU, the runtime's worker threads normally spin while waiting for the next call; between
    detector batches that steals the cores from decoding, tracking and ReID (measured on a 2-core
    machine: 10-20 % less wall time and 20 % less CPU time for indexing with spinning off).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if list(providers)[:1] == [CPU_EP]:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
