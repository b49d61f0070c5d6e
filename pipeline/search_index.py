"""FAISS index over stored appearance vectors, kept in step with the database.

Vectors are L2-normalised, so inner product is cosine similarity. Small libraries use an exact flat
index; from ``ivf_min`` vectors on, an inverted-file index (IVF) scans only the ``nprobe`` lists
nearest the query, which keeps a search over a million tracks in milliseconds. The index follows the
database through two change counters: new rows are added incrementally, any deletion rebuilds.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import faiss
import numpy as np

from pipeline.storage import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VectorIndexConfig:
    """ivf_min: from this many vectors on, use IVF instead of exact search (exact is fine below it).
    nlist_per_sqrt: IVF lists = this * sqrt(N) (the usual rule of thumb is 4..16).
    nprobe: IVF lists scanned per query; higher is closer to exact and slower.
    train_per_list: training vectors sampled per IVF list.
    threads: FAISS threads (0 leaves FAISS's default: all cores).
    """

    ivf_min: int = 200_000
    nlist_per_sqrt: float = 4.0
    nprobe: int = 48
    train_per_list: int = 40
    threads: int = 0


def build_faiss(vectors: np.ndarray, ids: np.ndarray, config: VectorIndexConfig) -> faiss.Index:
    """A FAISS index over ``vectors`` (N, D) labelled with ``ids``: flat when small, IVF when large."""
    n, d = vectors.shape
    if n < config.ivf_min:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(d))
    else:
        nlist = int(config.nlist_per_sqrt * math.sqrt(n))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, size=min(n, nlist * config.train_per_list), replace=False)]
        index.train(np.ascontiguousarray(sample))
        index.nprobe = config.nprobe
    if n:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


class VectorIndex:
    """Search over one model's vectors of one kind ('track' or 'crop'), mapped to track primary keys."""

    def __init__(
        self,
        library: Library,
        model: str,
        kind: str = "track",
        config: VectorIndexConfig = VectorIndexConfig(),
    ):
        self.library, self.model, self.kind, self.config = library, model, kind, config
        if config.threads:
            faiss.omp_set_num_threads(config.threads)
        self._index: faiss.Index | None = None
        self._gen: tuple[int, int] | None = None
        self._max_id = 0
        self._track_of: dict[int, int] = {}  # embedding id -> track pk
        self.dim = 0

    @property
    def size(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    def refresh(self) -> None:
        """Bring the index in step with the database (cheap when nothing changed)."""
        gen = self.library.generation()
        if gen == self._gen:
            return
        rebuild = self._index is None or self._gen is None or gen[1] != self._gen[1]
        ids, pks, vecs = self.library.load_embeddings(self.model, self.kind, 0 if rebuild else self._max_id)
        if rebuild:
            self._track_of = {}
            self.dim = vecs.shape[1] if len(vecs) else self.dim
            self._index = build_faiss(vecs, ids, self.config) if len(vecs) else None
        elif len(vecs):
            if self._index is None:
                self.dim = vecs.shape[1]
                self._index = build_faiss(vecs, ids, self.config)
            elif self._needs_ivf(self.size + len(vecs)):
                self._gen = None
                return self.refresh()
            else:
                self._index.add_with_ids(np.ascontiguousarray(vecs), ids)
        self._track_of.update(zip(ids.tolist(), pks.tolist()))
        if len(ids):
            self._max_id = max(self._max_id, int(ids.max()))
        self._gen = gen
        log.debug("vector index %s/%s: %d vectors", self.model, self.kind, self.size)

    def _needs_ivf(self, n: int) -> bool:
        return n >= self.config.ivf_min and not isinstance(self._index, faiss.IndexIVF)

    def add_vectors(self, vectors: np.ndarray, ids: np.ndarray, track_pks: np.ndarray) -> None:
        """Add vectors directly (benchmarks with synthetic data; normal use goes through ``refresh``)."""
        if self._index is None:
            self.dim = vectors.shape[1]
            self._index = build_faiss(vectors, ids, self.config)
        else:
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        self._track_of.update(zip(ids.tolist(), track_pks.tolist()))

    def search(self, query: np.ndarray, min_score: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(track pks, scores) of up to ``k`` vectors scoring >= ``min_score``, best first.

        With 'crop' vectors a track can appear several times; each track keeps its best score.
        """
        if self._index is None or self.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if q.shape[1] != self.dim:
            raise ValueError(f"query has {q.shape[1]} dimensions, the index {self.dim}")
        scores, ids = self._index.search(q, min(k, self.size))
        keep = (ids[0] >= 0) & (scores[0] >= min_score)
        best: dict[int, float] = {}
        for i, s in zip(ids[0][keep].tolist(), scores[0][keep].tolist()):
            pk = self._track_of[i]
            if s > best.get(pk, -2.0):
                best[pk] = s
        order = sorted(best, key=lambda p: -best[p])
        return np.array(order, np.int64), np.array([best[p] for p in order], np.float32)

    def vectors_of(self, track_pks: np.ndarray) -> np.ndarray:
        """Stored vectors of the given tracks (flat index only; for re-ranking small candidate sets)."""
        inv = {pk: i for i, pk in self._track_of.items()}
        if not isinstance(self._index, faiss.IndexIDMap2):
            raise ValueError("vectors can be read back only from a flat index")
        return np.stack([self._index.reconstruct(int(inv[int(p)])) for p in track_pks])
