"""Which hardware runs the models: CUDA where onnxruntime-gpu and an NVIDIA GPU are present, else CPU.

The choice is made once per process from a requested device (``auto``, ``cpu`` or ``cuda``), logged,
and reported by ``main.py doctor`` and the GUI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

CUDA_EP = "CUDAExecutionProvider"
CPU_EP = "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda")

# How ONNX Runtime's CUDA provider picks each convolution's cuDNN algorithm. Its default, EXHAUSTIVE,
# benchmarks every algorithm the first time a convolution meets a new input shape; Spotter's detector
# meets a new shape with every frame size, close-look tile size and batch size, so each video paid
# that search over and over (measured on an H200: ADL-Rundle-6 did not finish indexing in 240 s, the
# GPU idle at 0-2 % throughout). HEURISTIC asks cuDNN's heuristics instead: no benchmarking, at
# most a little slower per call (ONNX Runtime issues 10746 and 19838).
CUDA_CONV_ALGO_SEARCH = "HEURISTIC"


@dataclass(frozen=True)
class DeviceChoice:
    """The hardware models run on: ``kind`` is 'cuda' or 'cpu'; ``label`` is for people."""

    kind: str
    label: str
    ort_providers: tuple[str, ...]
    torch_device: str


@cache
def cuda_device_name() -> str | None:
    """Name of the NVIDIA GPU that ONNX Runtime's CUDA provider runs on, or None when it cannot run.

    Asked of ONNX Runtime itself (a one-node session on the CUDA provider: the runtime drops the
    provider silently when the driver or CUDA libraries are missing), so no PyTorch is needed: a
    Windows install with onnxruntime-gpu and a CPU-only torch uses the GPU too.
    """
    import onnxruntime as ort

    if CUDA_EP not in ort.get_available_providers():
        return None
    try:
        if hasattr(ort, "preload_dlls"):  # CUDA/cuDNN from the nvidia-* pip packages (install extras)
            ort.preload_dlls()
        from onnx import TensorProto, helper

        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        session = ort.InferenceSession(model.SerializeToString(), providers=[CUDA_EP, CPU_EP])
        if CUDA_EP not in session.get_providers():
            return None
    except Exception as e:  # a broken CUDA install must not stop CPU use
        log.debug("CUDA provider probe failed: %s", e)
        return None
    return _nvidia_smi_name() or "NVIDIA GPU"


def _nvidia_smi_name() -> str | None:
    import shutil
    import subprocess

    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if out.returncode == 0 and lines else None


def ort_available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_device(
    requested: str = "auto", gpu_name: Callable[[], str | None] = cuda_device_name
) -> DeviceChoice:
    """Resolve ``auto``/``cpu``/``cuda`` to the hardware that will run the models.

    ``cuda`` is an error when ONNX Runtime cannot run its CUDA provider (no onnxruntime-gpu, no NVIDIA
    GPU or driver); ``auto`` falls back to the CPU in that case. ``gpu_name`` is the probe (tests
    replace it to fake the hardware).
    """
    if requested not in DEVICES:
        raise ModelError(f"unknown device {requested!r}: choose one of {', '.join(DEVICES)}")
    cpu = DeviceChoice("cpu", "CPU", (CPU_EP,), "cpu")
    if requested == "cpu":
        return cpu
    gpu = gpu_name()
    if gpu is None:
        if requested == "cuda":
            raise ModelError(
                "CUDA requested but unavailable: needs onnxruntime-gpu, an NVIDIA GPU and its driver "
                f"(onnxruntime providers: {', '.join(ort_available_providers())})"
            )
        return cpu
    return DeviceChoice("cuda", f"GPU ({gpu})", (CUDA_EP, CPU_EP), "cuda:0")


_cpu_threads = 0  # threads per model session on the CPU; 0: ONNX Runtime's default (one per core)


def limit_cpu_threads(threads: int) -> None:
    """Let this process's models (loaded from now on) and OpenCV use at most ``threads`` CPU threads.

    For a process that shares the machine's cores with others by design: a Ray worker granted one
    CPU would otherwise run its models on every core and slow its neighbours down as much as it
    gains (measured: two such workers on two cores, 1.03x the speed of one)."""
    global _cpu_threads
    import cv2

    _cpu_threads = max(0, int(threads))
    cv2.setNumThreads(_cpu_threads or -1)


def provider_list(providers: tuple[str, ...] | list[str]) -> list[str | tuple[str, dict[str, str]]]:
    """``providers`` as ONNX Runtime's ``InferenceSession`` takes them, with Spotter's options for the
    CUDA provider (:data:`CUDA_CONV_ALGO_SEARCH`)."""
    return [(p, {"cudnn_conv_algo_search": CUDA_CONV_ALGO_SEARCH}) if p == CUDA_EP else p for p in providers]


def cpu_threads() -> int:
    """Threads each model may use on the CPU (:func:`limit_cpu_threads`); 0: the runtime's default."""
    return _cpu_threads


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
        if _cpu_threads:
            options.intra_op_num_threads = _cpu_threads
            options.inter_op_num_threads = 1
    return options


def inference_session(model: str | Path, providers: tuple[str, ...] | list[str]) -> ort.InferenceSession:
    """An ONNX Runtime session of one of Spotter's models on ``providers``, with Spotter's session
    options (:func:`session_options`) and provider options (:func:`provider_list`). Raises what ONNX
    Runtime raises; the caller names the model in its error."""
    import onnxruntime

    return onnxruntime.InferenceSession(
        str(model), session_options(providers), providers=provider_list(providers)
    )
