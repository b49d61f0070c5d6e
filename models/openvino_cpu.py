"""ONNX models on the CPU through OpenVINO's CPU plugin, where OpenVINO is installed.

Why a second runtime: the ReID network (OSNet) is built of depthwise and pointwise convolutions, which
ONNX Runtime's CPU provider runs far slower than OpenVINO's CPU plugin does. Measured on this
project's 2-core machine (``python -m bench.reid_runtime``: 384 crops of PETS09-S2L1 and ADL-Rundle-6 in
batches of 32): OpenVINO 2.7x the crops per second, the same vectors (lowest cosine to ONNX Runtime's
1.000000); indexing PETS09-S2L1 1.7x and ADL-Rundle-6 1.4x faster end to end. The arithmetic stays float32
(``INFERENCE_PRECISION_HINT``): OpenVINO would otherwise compute in bfloat16 on CPUs that have it,
and vectors a library already holds would no longer compare exactly with new ones.

OpenVINO keeps working memory for every input shape it has run, so a batch is padded to the next
power of two (at most six shapes for batches of up to 32): embedding every batch size from 1 to 70
then holds 244 MB above the process's start (ONNX Runtime 171 MB; unpadded, OpenVINO 1.1 GB, measured
by a helper's sweep). Indexing's peak memory (``/usr/bin/time``): PETS09-S2L1 594 MB (ONNX Runtime
498 MB), ADL-Rundle-6 922 MB (814 MB). The padding costs 1-5 % of the time.

The detector stays on ONNX Runtime: its input size changes from call to call (frames, close looks)
and OpenVINO gained nothing there (measured 0.9x end to end). A GPU is ONNX Runtime's too (CUDA).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from models.errors import ModelError, first_line

log = logging.getLogger(__name__)

OPENVINO_CPU = "OpenVINO CPU"  # how the runtime is named where ONNX Runtime names its provider


def openvino_version() -> str | None:
    """OpenVINO's version where it is installed (what runs the ReID model on the CPU), else None."""
    try:
        import openvino
    except ImportError:
        return None
    return str(openvino.get_version()).split("-")[0]


def openvino_installed() -> bool:
    """Whether the ``openvino`` package can be imported here."""
    return openvino_version() is not None


class OpenVinoSession:
    """One ONNX model compiled for the CPU: ``run(x)`` gives its first output for one input array."""

    def __init__(self, model: Path, threads: int = 0):
        """``threads``: the most CPU threads it may use (0: OpenVINO's choice, every core)."""
        import openvino

        config: dict[str, object] = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        core = openvino.Core()
        network = core.read_model(str(model))
        self.input_ranks = tuple(int(i.get_partial_shape().rank.get_length()) for i in network.inputs)
        self._compiled = core.compile_model(network, "CPU", config)
        self._output = self._compiled.output(0)
        self._idle: list[object] = []  # infer requests not in use: one serves one call at a time
        self._lock = threading.Lock()

    def run(self, x: np.ndarray) -> np.ndarray:
        """The model's first output for input ``x`` (a copy: the request reuses its buffers). Threads
        may call it at once (the GUI's search beside its indexing): each call takes a request no
        other call is using. Requests are kept here, not per thread: one kept in a thread's locals
        was destroyed with the thread's Python state, inside Qt's thread teardown, and crashed it."""
        with self._lock:
            request = self._idle.pop() if self._idle else None
        try:
            if request is None:
                request = self._compiled.create_infer_request()
            rows = len(x)
            padded = 1 << max(rows - 1, 0).bit_length()  # the next power of two: few shapes, little memory
            if padded != rows:
                x = np.concatenate([x, np.zeros((padded - rows, *x.shape[1:]), x.dtype)])
            return np.array(request.infer({0: x})[self._output][:rows], copy=True)
        except Exception as e:  # OpenVINO raises RuntimeError with the plugin's message
            raise ModelError(first_line(e)) from e
        finally:
            if request is not None:
                with self._lock:
                    self._idle.append(request)
