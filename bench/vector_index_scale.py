"""The vector index alone at fleet sizes: 1e6 tracks (IVF, float32) and 1e7 tracks (IVF-PQ).

    python -m bench.vector_index_scale [--sizes 1000000 10000000] [--queries 50] [--nlist-per-sqrt 1]

Ten million 512-d vectors are 20 GB as float32, more than this machine's memory, so this bench never
holds them: it trains the index on a sample, then generates and adds the vectors in chunks (seeded
random unit vectors; for each query one near-copy planted at a random id). Per size: the index type
Spotter picks (``pipeline.search_index``), memory per track, training and adding time, and the FAISS
search per query (median), with how often the planted near-copy is among the candidates the search
hands on (k x ``pq_rescore`` for IVF-PQ, whose candidates are then re-scored exactly from the library:
that read, a few dozen rows, is measured with the whole search in ``bench.search_latency``).
``--nlist-per-sqrt`` defaults to 1 (fewer, larger lists than the product's 4) so that training at
1e7 takes minutes on two cores instead of most of an hour; it changes build time, little else.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace

import numpy as np

from pipeline.search_index import VectorIndexConfig, empty_index

DIM = 512
CHUNK = 200_000
K = 10


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--nlist-per-sqrt", type=float, default=1.0)
    a = ap.parse_args()
    config = replace(VectorIndexConfig(), nlist_per_sqrt=a.nlist_per_sqrt)
    rng = np.random.default_rng(0)
    queries = unit(rng.standard_normal((a.queries, DIM)))
    for n in a.sizes:
        planted = rng.choice(n, a.queries, replace=False)
        t0 = time.perf_counter()
        index = empty_index(
            n, DIM, config, lambda size: unit(np.random.default_rng(1).standard_normal((size, DIM)))
        )
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            vecs = unit(np.random.default_rng(start + 2).standard_normal((m, DIM)))
            inside = (planted >= start) & (planted < start + m)
            noise = (
                0.3 * np.random.default_rng(start).standard_normal((int(inside.sum()), DIM)) / np.sqrt(DIM)
            )
            vecs[planted[inside] - start] = unit(queries[inside] + noise)
            index.add_with_ids(vecs, np.arange(start, start + m, dtype=np.int64))
        add_s = time.perf_counter() - t0
        compressed = hasattr(index, "pq")
        wanted = K * (config.pq_rescore if compressed else 1)
        times, found = [], 0
        for q, target in zip(queries, planted):
            t0 = time.perf_counter()
            _, ids = index.search(q[None], wanted)
            times.append(time.perf_counter() - t0)
            found += int(target in ids[0])
        per_track = int(getattr(index, "code_size", DIM * 4)) + 8  # vector code + its id in the lists
        print(
            f"tracks={n} index={'ivfpq' if compressed else 'ivf'} lists={index.nlist} nprobe={index.nprobe} "
            f"bytes_per_track={per_track} index_gb={n * per_track / 1e9:.2f} train_s={train_s:.0f} "
            f"add_s={add_s:.0f} search_ms={1000 * statistics.median(times):.1f} "
            f"planted_in_{wanted}={found}/{len(planted)}",
            flush=True,
        )
        del index
    return 0


if __name__ == "__main__":
    sys.exit(main())
