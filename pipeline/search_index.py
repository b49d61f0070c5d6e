"""FAISS index over the tracks' appearance vectors, kept in step with the database.

The cache file is tied to its library (the library's random identity, its change counters and the
largest embedding id it holds): a library deleted and recreated, or restored from an older backup,
while the cache file stays, rebuilds instead of trusting a cache of other contents.

Vectors are L2-normalised, so inner product is cosine similarity; FAISS ids are track primary keys.
Small libraries use an exact flat index; from ``ivf_min`` tracks on, an inverted-file index (IVF)
scans only the ``nprobe`` lists nearest the query, which keeps a search over a million tracks in
milliseconds. From ``pq_min`` tracks on (a fleet's archive: ten million tracks are 20 GB as float32)
the vectors are compressed by product quantisation (IVF-PQ, ``pq_bytes`` per track instead of
4 x 512), and the best ``pq_rescore`` x k candidates by the compressed scores are re-scored exactly
from the vectors in the library, so the scores a search reports (and the floor they are held to)
are the true cosines. The index follows the database through two change counters: new tracks are added
incrementally, any deletion rebuilds it. A built index is cached beside the database (written
atomically), so a new process does not rebuild a large index before its first search.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from pipeline.partial_files import new_part
from pipeline.storage import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VectorIndexConfig:
    """ivf_min: from this many tracks on, use IVF instead of exact search (exact is fast below it).
    pq_min: from this many tracks on, compress the vectors (IVF-PQ): memory per track drops from
        4 * D bytes to ``pq_bytes`` (2 GB -> 64 MB per million 512-d tracks).
    pq_bytes: bytes per compressed vector (sub-quantisers of 8 bits; must divide D).
    pq_rescore: with compressed vectors, this many candidates per wanted hit are re-scored exactly.
    nlist_per_sqrt: IVF lists = this * sqrt(N) (the usual rule of thumb is 4..16).
    nprobe: IVF lists scanned per query; higher is closer to exact and slower.
    train_per_list: training vectors sampled per IVF list.
    cache: keep the built index in a file beside the database.
    cache_min: libraries smaller than this are rebuilt instead of cached (rebuilding is instant).
    resave_growth: re-write the cache once this fraction of tracks has been added since it was saved.
    read_page: vectors read from the library at a time while the index is built or grows; memory
        holds one page (``read_page`` x 4 x D bytes), never all vectors (20 GB at ten million).
    """

    ivf_min: int = 50_000
    pq_min: int = 2_000_000
    pq_bytes: int = 64
    pq_rescore: int = 4
    nlist_per_sqrt: float = 4.0
    nprobe: int = 48
    train_per_list: int = 40
    cache: bool = True
    cache_min: int = 20_000
    resave_growth: float = 0.1
    read_page: int = 20_000


def build_faiss(vectors: np.ndarray, ids: np.ndarray, config: VectorIndexConfig) -> faiss.Index:
    """A FAISS index over ``vectors`` (N, D) labelled with ``ids``: flat when small, IVF when large,
    IVF-PQ when very large."""
    n, d = vectors.shape
    index = empty_index(
        n, d, config, lambda size: vectors[np.random.default_rng(0).choice(n, size, replace=False)]
    )
    if n:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


def empty_index(
    n: int, d: int, config: VectorIndexConfig, sample: Callable[[int], np.ndarray]
) -> faiss.Index:
    """The (trained, empty) index for ``n`` vectors of ``d`` dimensions; ``sample(size)`` gives
    training vectors (at most ``n``)."""
    if n < config.ivf_min:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(d))
    nlist = int(config.nlist_per_sqrt * math.sqrt(n))
    quantizer = faiss.IndexFlatIP(d)
    if n >= config.pq_min and d % config.pq_bytes == 0:
        index = faiss.IndexIVFPQ(quantizer, d, nlist, config.pq_bytes, 8, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(np.ascontiguousarray(sample(min(n, nlist * config.train_per_list)), dtype=np.float32))
    index.nprobe = config.nprobe
    return index


class VectorIndex:
    """Nearest tracks to a query vector, over one ReID model's track embeddings."""

    def __init__(self, library: Library, model: str, config: VectorIndexConfig = VectorIndexConfig()) -> None:
        self.library, self.model, self.config = library, model, config
        self._index: faiss.Index | None = None
        self._gen: tuple[int, int] | None = None
        self._max_id = 0  # largest embedding row id included
        self._saved_size = 0
        self._list_map: tuple[int, np.ndarray, np.ndarray] | None = None  # see _list_map_now
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in model)
        self.cache_path = library.side_file(f".{safe}.faiss")

    @property
    def backend(self) -> str:
        """'ivf', 'flat' or 'empty': which FAISS index answers searches now."""
        if self._index is None:
            return "empty"
        if isinstance(self._index, faiss.IndexIVFPQ):
            return "ivfpq"
        return "ivf" if isinstance(self._index, faiss.IndexIVF) else "flat"

    @property
    def size(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    def refresh(self) -> None:
        """Bring the index in step with the database (cheap when nothing changed)."""
        gen = self.library.generation()
        if gen == self._gen:
            return
        stale = self._index is None or self._gen is None or gen[1] != self._gen[1]
        if stale and not self._load_cache(gen):
            self._rebuild()
        self._add_new()
        self._gen = gen
        self._save_cache()

    def _rebuild(self) -> None:
        """Build the index from the library a page at a time: the training sample is chosen among
        the embedding ids and read by id, then the vectors are added page by page."""
        self._index, self._list_map, self._max_id, self._saved_size = None, None, 0, 0
        ids = self.library.embedding_ids(self.model, "track")
        pages = self.library.embedding_pages(self.model, "track", self.config.read_page)
        first = next(pages, None)
        if first is None:
            return
        if not len(ids):  # the first rows arrived between the two reads
            ids = first[0]
        rng = np.random.default_rng(0)

        def sample(size: int) -> np.ndarray:
            return self.library.embeddings_by_id(np.sort(rng.choice(ids, size, replace=False)))

        self._index = empty_index(len(ids), first[2].shape[1], self.config, sample)
        self._add_pages(itertools.chain([first], pages))

    def _add_new(self) -> None:
        new = len(self.library.embedding_ids(self.model, "track", self._max_id))
        if not new:
            return
        if self._fits(self.size + new):
            pages = self.library.embedding_pages(self.model, "track", self.config.read_page, self._max_id)
            self._add_pages(pages)
        else:
            self._rebuild()  # first vectors, or big enough now for IVF (or for compressed vectors)

    def _fits(self, n: int) -> bool:
        """Whether the index as built serves ``n`` vectors (IVF from ``ivf_min``, compressed from
        ``pq_min`` on)."""
        if self._index is None:
            return False
        ivf, pq = isinstance(self._index, faiss.IndexIVF), isinstance(self._index, faiss.IndexIVFPQ)
        return (n < self.config.ivf_min or ivf) and (n < self.config.pq_min or pq)

    def _add_pages(self, pages: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        for ids, pks, vecs in pages:
            self._index.add_with_ids(np.ascontiguousarray(vecs), pks)
            self._max_id = int(ids[-1])

    def _meta_path(self) -> Path:
        return self.cache_path.with_name(self.cache_path.name + ".json")

    def _load_cache(self, gen: tuple[int, int]) -> bool:
        if not self.config.cache or not self.cache_path.exists():
            return False
        try:
            meta = json.loads(self._meta_path().read_text())
            if meta.get("library") != self.library.identity or meta["model"] != self.model:
                return False
            if meta["removed"] != gen[1] or int(meta["added"]) > gen[0]:
                return False
            index = faiss.read_index(str(self.cache_path))
            if index.ntotal != int(meta["size"]):
                raise ValueError("index and its description disagree")
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            log.info("ignoring vector index cache %s: %s", self.cache_path, e)
            return False
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = self.config.nprobe
        self._index, self._max_id, self._saved_size = index, int(meta["max_id"]), int(index.ntotal)
        self._list_map = None
        return True

    def _save_cache(self) -> None:
        n = self.size
        if not self.config.cache or n < self.config.cache_min:
            return
        if self._saved_size and n < self._saved_size * (1 + self.config.resave_growth):
            return
        folder = self.cache_path.parent
        try:  # meta last: a crash in between leaves no meta, and the cache is ignored
            self._meta_path().unlink(missing_ok=True)
            tmp = str(new_part(folder))
            faiss.write_index(self._index, tmp)
            os.replace(tmp, self.cache_path)
            meta = {
                "library": self.library.identity,
                "model": self.model,
                "added": self._gen[0],
                "removed": self._gen[1],
                "max_id": self._max_id,
                "size": n,
            }
            tmp = str(new_part(folder))
            with open(tmp, "w") as f:
                f.write(json.dumps(meta))
            os.replace(tmp, self._meta_path())
            self._saved_size = n
        except (OSError, RuntimeError) as e:  # read-only folder, full disk: searching still works
            log.warning("cannot cache the vector index in %s: %s", folder, e)
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)

    def _filtered_search(self, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's (scores, ids) over the ``allowed`` track keys only (an ID selector: the others are
        skipped by their id, never scored).

        Whether an IVF search finds a track depends only on the query and that track (is its list
        among the ``nprobe`` nearest the query?), not on which other tracks a filter hides; so a
        filtered search scans the same ``nprobe`` nearest lists, and finds the allowed people as
        surely as an unfiltered search finds anyone. It scans more of the nearest lists only where
        those would hold fewer than ``k`` allowed tracks on average (``nlist * k / n_allowed``
        lists), and when fewer lists than that hold allowed tracks at all (a narrow filter: one
        camera, an hour) it scans exactly those lists: every allowed track is scored (exactly with
        float vectors; with compressed ones approximately, the best re-scored exactly by
        :meth:`search`) and the rest of the library is not walked id by id."""
        bits = np.zeros(int(allowed.max()) + 1, bool)
        bits[allowed] = True
        packed = np.packbits(bits, bitorder="little")  # kept alive while FAISS reads it
        selector = faiss.IDSelectorBitmap(len(packed), faiss.swig_ptr(packed))
        k = min(k, self.size)
        if not isinstance(self._index, faiss.IndexIVF):
            return self._index.search(q, k, params=faiss.SearchParameters(sel=selector))
        nlist, nprobe = self._index.nlist, self.config.nprobe
        widened = int(min(nlist, max(nprobe, math.ceil(nlist * k / len(allowed)))))
        holding = self._lists_holding(allowed, widened)
        if holding is None or len(holding) >= widened:
            return self._index.search(q, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=widened))
        scores = np.full((1, k), -np.inf, np.float32)
        ids = np.full((1, k), -1, np.int64)
        if not len(holding):
            return scores, ids
        lists = holding.reshape(1, -1).astype(np.int64)
        coarse = np.ascontiguousarray(q @ self._centroids()[holding].T, dtype=np.float32)
        params = faiss.SearchParametersIVF(sel=selector, nprobe=len(holding))
        sp = faiss.swig_ptr
        self._index.search_preassigned_c(
            1, sp(q), k, sp(lists), sp(coarse), sp(scores), sp(ids), False, params
        )
        return scores, ids

    def _lists_holding(self, pks: np.ndarray, enough: int) -> np.ndarray | None:
        """The IVF lists (sorted, distinct) that hold any of the track keys ``pks``, or None when
        there are certainly at least ``enough`` of them (more keys than ``enough`` full lists hold)."""
        _, list_of, sizes = self._list_map_now()
        if len(pks) >= enough * int(sizes.max(initial=1)):
            return None
        lists = list_of[pks[pks < len(list_of)]]
        return np.flatnonzero(np.bincount(lists[lists >= 0], minlength=self._index.nlist))

    def _list_map_now(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(index identity, IVF list of each track key (-1: not in the index), size of each list),
        brought up to date: lists only grow between rebuilds, so only their new tail is read."""
        index = self._index
        if self._list_map is None or self._list_map[0] != id(index):
            self._list_map = (id(index), np.full(0, -1, np.int32), np.zeros(index.nlist, np.int64))
        _, list_of, sizes = self._list_map
        if int(sizes.sum()) != index.ntotal:
            invlists = index.invlists
            now = np.array([invlists.list_size(k) for k in range(index.nlist)], np.int64)
            grown = np.flatnonzero(now > sizes)
            if len(grown):
                ids = np.concatenate(
                    [faiss.rev_swig_ptr(invlists.get_ids(int(k)), int(now[k]))[sizes[k] :] for k in grown]
                )
                if (top := int(ids.max()) + 1) > len(list_of):  # keys are dense: one int32 per key value
                    list_of = np.concatenate([list_of, np.full(top - len(list_of), -1, np.int32)])
                list_of[ids] = np.repeat(grown.astype(np.int32), now[grown] - sizes[grown])
            self._list_map = (id(index), list_of, now)
        return self._list_map

    def _centroids(self) -> np.ndarray:
        """The IVF lists' centroids (nlist, D), a view of the coarse quantiser's vectors."""
        quantizer = faiss.downcast_index(self._index.quantizer)
        return faiss.rev_swig_ptr(quantizer.get_xb(), self._index.nlist * self._index.d).reshape(
            self._index.nlist, self._index.d
        )

    def add_vectors(self, vectors: np.ndarray, track_pks: np.ndarray) -> None:
        """Add vectors directly (tests and benchmarks with synthetic data; normal use is ``refresh``)."""
        if self._index is None:
            self._index = build_faiss(vectors, track_pks, self.config)
            self._list_map = None
        else:
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), track_pks.astype(np.int64)
            )

    def search(
        self, query: np.ndarray, min_score: float, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(track pks, cosine scores) of up to ``k`` tracks scoring >= ``min_score``, best first;
        with ``allowed`` (track pks), among those tracks only (see :mod:`pipeline.search_filter`)."""
        none = np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self._index is None or self.size == 0 or (allowed is not None and not len(allowed)):
            return none
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if q.shape[1] != self._index.d:
            raise ValueError(f"query has {q.shape[1]} dimensions, the index {self._index.d}")
        compressed = isinstance(self._index, faiss.IndexIVFPQ)
        wanted = k
        if compressed:  # approximate scores: take more candidates, then re-score them exactly
            k, min_score, floor = k * self.config.pq_rescore, -1.0, min_score
        if allowed is None:
            scores, ids = self._index.search(q, min(k, self.size))
        else:
            scores, ids = self._filtered_search(q, k, allowed)
        keep = (ids[0] >= 0) & (scores[0] >= min_score)
        pks, found = ids[0][keep].astype(np.int64), scores[0][keep]
        if compressed:
            pks, found = self._exact(q[0], pks, floor, wanted)
        return pks, found

    def _exact(
        self, q: np.ndarray, pks: np.ndarray, min_score: float, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` of ``pks`` by their exact cosine to ``q`` (vectors read from the library)."""
        vectors = self.library.embeddings_of(self.model, "track", pks.tolist())
        pks = np.array([p for p in pks.tolist() if p in vectors], np.int64)
        if not len(pks):
            return pks, np.zeros(0, np.float32)
        exact = np.array([float(vectors[int(p)][0] @ q) for p in pks], np.float32)
        order = np.argsort(-exact, kind="stable")[:k]
        keep = order[exact[order] >= min_score]
        return pks[keep], exact[keep]
