"""k-reciprocal re-ranking (Zhong et al., CVPR 2017, "Re-ranking Person Re-identification with
k-reciprocal Encoding"), computed with sparse neighbour sets so that memory stays linear in the number
of items instead of quadratic.

Outline, for the union P of queries and gallery items (N = n_query + n_gallery):

1. ``d(i, j) = ||x_i - x_j||^2 = 2 - 2 cos(x_i, x_j)`` on L2-normalised features, divided by the
   largest distance in row ``i`` (as in the authors' released code; see :attr:`RerankConfig.row_normalise`).
2. ``N(i, k)``: the k + 1 nearest items of i, i itself first. ``R(i, k) = {j in N(i, k) : i in N(j, k)}``.
3. ``R*(i)``: ``R(i, k1)`` plus ``R(c, round(k1 / 2))`` for every candidate ``c in R(i, k1)`` whose half-size
   set shares more than 2/3 of its members with ``R(i, k1)``.
4. ``V_i[j] = exp(-d(i, j)) / sum_{l in R*(i)} exp(-d(i, l))`` for ``j in R*(i)``, zero elsewhere.
5. Local query expansion: ``V_i <- mean of V_j over the k2 nearest items j of i`` (skipped when k2 = 1).
6. ``jaccard(i, j) = 1 - sum_l min(V_i[l], V_j[l]) / sum_l max(V_i[l], V_j[l])``.
7. ``final = (1 - lambda) * jaccard + lambda * d``, returned for query rows x gallery columns.

Only the top-``max(k1 + 1, k2)`` neighbours of each item are ever needed (steps 2, 3, 5); they come
from an exhaustive faiss inner-product search, so nothing is approximated: V is zero outside ``R*``
in the dense original too. Results differ from a dense float64 implementation only by float32 rounding
of the inner products and, for exactly tied distances, by tie order (here an item is always its own
first neighbour and faiss breaks the remaining ties).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import faiss
import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


def _csr() -> type:
    """scipy's CSR matrix, imported on first use (scipy.sparse takes 0.15 s to import; a search
    without re-ranking never needs it)."""
    from scipy.sparse import csr_matrix

    return csr_matrix


logger = logging.getLogger(__name__)

NORM_TOLERANCE = 1e-3
"""Largest accepted deviation of a feature row's L2 norm from 1."""

MAX_SQUARED_DISTANCE = 4.0
"""Largest squared Euclidean distance between two unit vectors; the scale used when not row-normalising."""

_MIN_SCALE = 1e-12  # guards the row normalisation when every item of a row is identical


@dataclass(frozen=True)
class RerankConfig:
    """Parameters of k-reciprocal re-ranking; the defaults are the paper's Market-1501 settings.

    Attributes:
        k1: Size of the k-reciprocal neighbourhood. Larger sets pull in more true matches for identities
            with many images (recall up) but also more impostors, and cost time/memory linearly; too
            small and the Jaccard term sees only an item's few nearest neighbours.
        k2: Number of nearest neighbours averaged in local query expansion. Larger smooths each
            item's vector over its neighbourhood (robust to outliers, but blurs small identities into
            their neighbours); 1 disables expansion.
        lambda_value: Weight of the original distance in the final distance. 0 ranks purely by the
            Jaccard (neighbourhood) distance, 1 returns the original distance; raising it trusts the
            raw features more and the neighbourhood structure less.
        row_normalise: Divide each item's distances by its largest distance to any item, as the
            authors' code does. It needs a second exhaustive (farthest-neighbour) search, roughly
            doubling search time; False divides by the constant 4 instead, which flattens the Gaussian
            weights and changes results slightly.
    """

    k1: int = 20
    k2: int = 6
    lambda_value: float = 0.3
    row_normalise: bool = True

    def __post_init__(self) -> None:
        if self.k1 < 1 or self.k2 < 1:
            raise ValueError(f"k1 and k2 must be >= 1, got k1={self.k1}, k2={self.k2}")
        if not 0.0 <= self.lambda_value <= 1.0:
            raise ValueError(f"lambda_value must be in [0, 1], got {self.lambda_value}")


def _check_features(x: np.ndarray, name: str) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 (n, d) array of unit rows, or raise ValueError."""
    arr = np.ascontiguousarray(x, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (n, dim) array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    norms = np.linalg.norm(arr, axis=1)
    worst = float(np.abs(norms - 1.0).max())
    if worst > NORM_TOLERANCE:
        raise ValueError(f"{name} rows must be L2-normalised (a row norm is off by {worst:.3g})")
    return arr


def _neighbour_table(feats: np.ndarray, n_keep: int, row_normalise: bool) -> tuple[np.ndarray, np.ndarray]:
    """Top-``n_keep`` neighbour ids of every item (itself first) and each row's distance scale."""
    n = feats.shape[0]
    index = faiss.IndexFlatIP(feats.shape[1])
    index.add(feats)
    k_search = min(n_keep + 1, n)  # one spare so that self can be dropped wherever faiss put it
    _, ids = index.search(feats, k_search)
    own = np.arange(n)
    is_self = ids == own[:, None]
    is_self[~is_self.any(axis=1), -1] = True  # self pushed out by exact duplicates: drop the spare
    others = ids[~is_self].reshape(n, k_search - 1)
    table = np.concatenate([own[:, None], others[:, : n_keep - 1]], axis=1)
    if row_normalise:
        neg_min_ip, _ = index.search(-feats, 1)  # farthest item: largest inner product with -x
        scale = np.maximum(2.0 + 2.0 * neg_min_ip[:, 0].astype(np.float64), _MIN_SCALE)
    else:
        scale = np.full(n, MAX_SQUARED_DISTANCE)
    return table, scale


def _reciprocal_edges(table: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``(i, j)`` of ``R(i, k)``, sorted by i and then by j's rank in i's list."""
    n = table.shape[0]
    top = table[:, : k + 1]
    rows = np.repeat(np.arange(n, dtype=np.int64), top.shape[1])
    cols = top.ravel().astype(np.int64)
    keep = np.isin(cols * n + rows, rows * n + cols, assume_unique=True)
    return rows[keep], cols[keep]


def _segments(indptr: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the concatenated CSR segments ``indptr[w]:indptr[w + 1]`` and each one's length."""
    lens = indptr[which + 1] - indptr[which]
    starts = np.repeat(indptr[which] - np.cumsum(lens) + lens, lens)
    return starts + np.arange(int(lens.sum())), lens


def _pair_distances(
    feats: np.ndarray, a: np.ndarray, b: np.ndarray, scale: np.ndarray, chunk: int
) -> np.ndarray:
    """Scaled squared distances ``d(a[t], b[t])`` computed ``chunk`` pairs at a time."""
    out = np.empty(a.size, dtype=np.float64)
    for s in range(0, a.size, chunk):
        ip = np.einsum("ij,ij->i", feats[a[s : s + chunk]], feats[b[s : s + chunk]])
        out[s : s + chunk] = np.maximum(2.0 - 2.0 * ip.astype(np.float64), 0.0)
    return out / scale[a]


def _encoding_vectors(
    feats: np.ndarray, table: np.ndarray, scale: np.ndarray, k1: int, block_rows: int, pair_chunk: int
) -> csr_matrix:
    """The Gaussian-weighted k-reciprocal vectors V (steps 2-4) as an (N, N) CSR matrix."""
    n = table.shape[0]
    r_rows, r_cols = _reciprocal_edges(table, k1)
    r_ptr = np.concatenate(([0], np.cumsum(np.bincount(r_rows, minlength=n))))
    h_rows, h_cols = _reciprocal_edges(table, round(k1 / 2))  # half-even rounding, as np.around
    h_ptr = np.concatenate(([0], np.cumsum(np.bincount(h_rows, minlength=n))))
    r_keys = r_rows * n + r_cols  # sorted by row; sort fully for membership look-ups
    r_keys_sorted = np.sort(r_keys)

    indices, data, counts = [], [], []
    for start in range(0, n, block_rows):
        lo, hi = r_ptr[start], r_ptr[min(start + block_rows, n)]
        e_rows, e_cols = r_rows[lo:hi], r_cols[lo:hi]  # candidates c in R(i, k1)
        pos, lens = _segments(h_ptr, e_cols)  # members of each candidate's R(c, k1/2)
        cand_members = h_cols[pos]
        member_rows = np.repeat(e_rows, lens)
        member_keys = member_rows * n + cand_members
        found = np.searchsorted(r_keys_sorted, member_keys)
        found = np.minimum(found, r_keys_sorted.size - 1)
        shared = np.bincount(
            np.repeat(np.arange(e_rows.size), lens),
            weights=(r_keys_sorted[found] == member_keys).astype(np.float64),
            minlength=e_rows.size,
        )
        accepted = np.repeat(shared > 2.0 / 3.0 * lens, lens)
        keys = np.unique(np.concatenate([r_keys[lo:hi], member_keys[accepted]]))
        rows, cols = keys // n, keys % n
        weight = np.exp(-_pair_distances(feats, rows, cols, scale, pair_chunk))
        row_count = np.bincount(rows - start, minlength=min(block_rows, n - start))
        weight /= np.repeat(np.add.reduceat(weight, np.cumsum(row_count) - row_count), row_count)
        indices.append(cols)
        data.append(weight)
        counts.append(row_count)
    indptr = np.concatenate(([0], np.cumsum(np.concatenate(counts))))
    return _csr()((np.concatenate(data), np.concatenate(indices), indptr), shape=(n, n))


def _jaccard_distance(v_query: csr_matrix, v_gallery: csr_matrix, block_entries: int) -> np.ndarray:
    """``1 - sum(min) / sum(max)`` between rows of two sparse matrices whose rows each sum to 1.

    Uses ``sum(max) = 2 - sum(min)``; returns a dense float32 (n_query, n_gallery) array.
    """
    n_q, n_g = v_query.shape[0], v_gallery.shape[0]
    by_item = v_gallery.tocsc()  # for each item l: the gallery rows j with V_j[l] > 0
    col_len = np.diff(by_item.indptr)
    row_nnz = np.diff(v_query.indptr)
    row_cost = np.add.reduceat(np.append(col_len[v_query.indices], 0), v_query.indptr[:-1])
    row_cost[row_nnz == 0] = 0
    out = np.empty((n_q, n_g), dtype=np.float32)
    start = 0
    while start < n_q:
        # Rows whose expansion fits in block_entries, and at most as many rows as keep the dense
        # block no larger than the entries themselves.
        cost = np.cumsum(row_cost[start:])
        stop = start + max(1, int(np.searchsorted(cost, block_entries, side="right")))
        stop = min(stop, start + max(1, block_entries // n_g))
        lo, hi = v_query.indptr[start], v_query.indptr[stop]
        local_rows = np.repeat(np.arange(stop - start), row_nnz[start:stop])
        pos, lens = _segments(by_item.indptr, v_query.indices[lo:hi])
        targets = np.repeat(local_rows * n_g, lens) + by_item.indices[pos]
        mins = np.minimum(np.repeat(v_query.data[lo:hi], lens), by_item.data[pos])
        shared = np.bincount(targets, weights=mins, minlength=(stop - start) * n_g)
        out[start:stop] = (1.0 - shared / (2.0 - shared)).reshape(stop - start, n_g)
        start = stop
    return out


def k_reciprocal_rerank(
    query: np.ndarray,
    gallery: np.ndarray,
    config: RerankConfig = RerankConfig(),
    block_rows: int = 4096,
    pair_chunk: int = 8192,
    block_entries: int = 1_000_000,
) -> np.ndarray:
    """Re-ranked query x gallery distances (lower = more similar), in ``[0, 1]``.

    Args:
        query: ``(n_query, dim)`` L2-normalised features.
        gallery: ``(n_gallery, dim)`` L2-normalised features.
        config: Re-ranking parameters.
        block_rows: Items whose encoding vectors are built at once (bounds the expansion temporaries
            to about ``block_rows * (k1 + 1) * (k1 / 2 + 1)`` entries).
        pair_chunk: Item pairs whose distances are computed at once (``2 * pair_chunk * dim`` floats).
        block_entries: Bound on the temporary entries of one Jaccard block (about 50 bytes each).

    Returns:
        ``(n_query, n_gallery)`` float32 distances ``(1 - lambda) * jaccard + lambda * d``.

    Memory is O(N * dim) for the features and faiss index, O(N * (k1 + 1)) for neighbour lists,
    O(N * |R*| * k2) for the sparse vectors (|R*| is typically 10-40 on re-ID features), plus the
    dense ``(n_query, n_gallery)`` output and the bounded blocks above; never O(N^2). With 20,000
    gallery items and a few hundred queries that is a few hundred MB at most, against 1.6 GB for a
    single dense N x N float32 matrix. Time is dominated by the exhaustive O(N^2 * dim) search.

    Raises:
        ValueError: Empty or non-2-D inputs, mismatched dimensions, non-finite or non-unit rows.
    """
    q = _check_features(query, "query")
    g = _check_features(gallery, "gallery")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"query dim {q.shape[1]} != gallery dim {g.shape[1]}")
    if min(block_rows, pair_chunk, block_entries) < 1:
        raise ValueError("block_rows, pair_chunk and block_entries must be >= 1")
    n_q = q.shape[0]
    feats = np.concatenate([q, g])
    n = feats.shape[0]
    table, scale = _neighbour_table(feats, min(max(config.k1 + 1, config.k2), n), config.row_normalise)
    v = _encoding_vectors(feats, table, scale, config.k1, block_rows, pair_chunk)
    if config.k2 > 1:
        near = table[:, : config.k2]
        expand = _csr()(
            (
                np.full(near.size, 1.0 / near.shape[1]),
                near.ravel(),
                np.arange(0, near.size + 1, near.shape[1]),
            ),
            shape=(n, n),
        )
        v = (expand @ v).tocsr()
    logger.debug("re-ranking %d x %d: %d non-zeros in V", n_q, g.shape[0], v.nnz)
    final = _jaccard_distance(v[:n_q], v[n_q:], block_entries)
    rows_per_block = max(1, block_entries // g.shape[0])
    for s in range(0, n_q, rows_per_block):
        e = min(s + rows_per_block, n_q)
        original = np.maximum(2.0 - 2.0 * (q[s:e] @ g.T).astype(np.float64), 0.0) / scale[s:e, None]
        final[s:e] *= 1.0 - config.lambda_value
        final[s:e] += config.lambda_value * np.minimum(original, 1.0)
    return np.clip(final, 0.0, 1.0, out=final)  # rounding can step a hair outside [0, 1]


def rerank_scores(
    query_vec: np.ndarray,
    gallery: np.ndarray,
    config: RerankConfig = RerankConfig(),
) -> np.ndarray:
    """Similarity-like score of every gallery row for one query: ``1 - re-ranked distance``.

    Scores lie in ``[0, 1]`` (higher = more similar) and are comparable only within one call, since
    the neighbourhoods and row scale depend on the whole gallery. Each call searches the full
    gallery against itself (O(n_gallery^2 * dim), about 10 s for 20,000 512-d rows on two cores); to
    score many queries, pass them together to :func:`k_reciprocal_rerank` (queries then also count
    as each other's neighbours, as in the paper's batch setting, so scores shift slightly).

    Args:
        query_vec: ``(dim,)`` L2-normalised query feature.
        gallery: ``(n_gallery, dim)`` L2-normalised features.
        config: Re-ranking parameters.

    Returns:
        ``(n_gallery,)`` float32 scores.
    """
    vec = np.asarray(query_vec)
    if vec.ndim != 1:
        raise ValueError(f"query_vec must be 1-D, got shape {vec.shape}")
    return 1.0 - k_reciprocal_rerank(vec[None, :], gallery, config)[0]
