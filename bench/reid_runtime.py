"""The ReID model on the CPU: OpenVINO against ONNX Runtime, side by side in one process.

Crops are the ground-truth people of PETS09-S2L1 and ADL-Rundle-6 (every ``--every``-th frame), embedded
in batches as indexing embeds them (``ReidConfig.batch``), by each runtime in turn, ``--repeat`` rounds
interleaved so that machine load falls on both alike. Printed: crops per second of each (best round
and median), their ratio, and how far apart their vectors are (the lowest cosine between the two
vectors of one crop: 1.0 means a library indexed with one is searched with the other unchanged).

    python -m bench.reid_runtime [--every 25] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench.sequences import base_sequences, frames_of, read_gt
from models.loader import ModelSet
from models.reid import ReidConfig, ReidEmbedder


def crops(every: int) -> list[np.ndarray]:
    """Ground-truth person crops of PETS09-S2L1 and ADL-Rundle-6, every ``every``-th frame."""
    out = []
    for key in ("pets", "adl"):
        seq = base_sequences()[key]
        rows = read_gt(seq)
        for k, image in enumerate(frames_of(seq.video)):
            if k % every:
                continue
            for x1, y1, x2, y2 in rows[rows[:, 0] == k][:, 2:6].astype(int).clip(0):
                crop = image[y1:y2, x1:x2]
                if crop.shape[0] >= 8 and crop.shape[1] >= 4:
                    out.append(np.ascontiguousarray(crop))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    weights = ModelSet().reid.weights
    runtimes = {
        name: ReidEmbedder(weights, ReidConfig(cpu_runtime=name)) for name in ("onnxruntime", "openvino")
    }
    people = crops(a.every)
    print(f"{len(people)} crops; ReID {weights.name}, batches of {ReidConfig().batch}")
    rates: dict[str, list[float]] = {name: [] for name in runtimes}
    vectors = {}
    for _ in range(a.repeat):
        for name, embedder in runtimes.items():
            t = time.perf_counter()
            vectors[name] = embedder.embed(people)
            rates[name].append(len(people) / (time.perf_counter() - t))
    for name, embedder in runtimes.items():
        best, median = max(rates[name]), statistics.median(rates[name])
        print(f"{name:12s} on {embedder.providers[0]:22s} {best:7.1f} crops/s best, {median:7.1f} median")
    ratio = statistics.median(rates["openvino"]) / statistics.median(rates["onnxruntime"])
    cosine = float(np.min(np.sum(vectors["openvino"] * vectors["onnxruntime"], axis=1)))
    print(f"openvino / onnxruntime: {ratio:.2f}x the crops per second (medians); lowest cosine {cosine:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
