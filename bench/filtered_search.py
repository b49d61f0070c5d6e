"""What a search filter costs at fleet size: the vector index searched unfiltered and over the tracks
a filter allows, side by side in one run.

    python -m bench.filtered_search [--tracks 1000000] [--queries 40]

A ``VectorIndex`` with Spotter's default settings over seeded random unit vectors (one 1e6-track
index is 2 GB), searched the way ``Searcher.match`` asks (``SearchConfig.candidates`` tracks) with
no filter and with three filters: a camera (400 tracks anywhere in the library), an hour (20,000
consecutive track keys: tracks indexed together) and half the library. Per filter: the median time
of the FAISS search (``VectorIndex.search``, the selector and the list choice included) and how
often a planted near-copy of the query (cosine about 0.9, inside the allowed tracks) comes first;
the unfiltered search is measured on the same queries. Computing which tracks a filter allows is
measured with the whole search in ``bench.search_latency``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.search import SearchConfig
from pipeline.search_index import VectorIndex
from pipeline.storage import Library

DIM = 512


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=40)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    n, k = a.tracks, SearchConfig().candidates
    vectors = unit(rng.standard_normal((n, DIM), dtype=np.float32))
    pks = np.arange(1, n + 1, dtype=np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        index = VectorIndex(Library(Path(tmp) / "lib.db"), "synthetic")
        t0 = time.perf_counter()
        index.add_vectors(vectors, pks)
        print(f"tracks={n} index={index.backend} build_s={time.perf_counter() - t0:.0f}", flush=True)
        filters = {
            "camera": np.sort(rng.choice(pks, 400, replace=False)),
            "hour": pks[n // 3 : n // 3 + min(20_000, n // 4)],
            "half": pks[: n // 2],
        }
        for name, allowed in filters.items():
            times = {"none": [], name: []}
            first = {"none": 0, name: 0}
            for target in rng.choice(allowed, a.queries, replace=False):
                q = unit(vectors[target - 1] + 0.02 * rng.standard_normal(DIM, dtype=np.float32))
                for who, where in (("none", None), (name, allowed)):
                    t0 = time.perf_counter()
                    found, _ = index.search(q, -1.0, k, where)
                    times[who].append(time.perf_counter() - t0)
                    first[who] += int(len(found) > 0 and found[0] == target)
            base, filtered = (1000 * statistics.median(times[w]) for w in ("none", name))
            print(
                f"filter={name} allowed={len(allowed)} unfiltered_ms={base:.2f} filtered_ms={filtered:.2f} "
                f"ratio={filtered / base:.2f} planted_first_unfiltered={first['none']}/{a.queries} "
                f"planted_first_filtered={first[name]}/{a.queries}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
