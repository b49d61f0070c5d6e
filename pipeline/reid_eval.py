"""Market-1501 style re-identification evaluation: dataset loading and CMC / mAP / mINP.

The protocol is the one used throughout the person re-ID literature (Market-1501, DukeMTMC-reID,
torchreid and fast-reid ``eval_market1501``):

* every query is ranked against the whole gallery by similarity;
* gallery images of the *same identity seen by the same camera* as the query are removed from that
  query's ranking (finding them is trivial), and so are junk images (pid ``-1``);
* distractors (pid ``0``) stay in the ranking as ordinary negatives;
* a query left with no true match is skipped and not counted.

Image file names follow the Market-1501 convention ``PPPP_cCsS_FFFFFF_NN.jpg`` (person id, camera,
sequence, frame, box number); the ``sS`` part is optional so that datasets without sequences parse too.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.errors import SpotterError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png"})
"""File extensions (lower case) treated as images when a dataset folder is scanned."""

QUERY_DIR = "query"
"""Sub-folder of a Market-1501 root holding the query images."""

GALLERY_DIR = "bounding_box_test"
"""Sub-folder of a Market-1501 root holding the gallery (test) images."""

JUNK_PID = -1
"""Person id of junk images: ignored in the gallery, dropped from the query set."""

DISTRACTOR_PID = 0
"""Person id of distractor images: kept in the gallery as negatives."""

_NAME_RE = re.compile(r"^(-1|\d+)_c(\d+)(?:s\d+)?_\d+_\d+\.(?:jpe?g|png)$", re.IGNORECASE)


class DatasetError(SpotterError):
    """A dataset folder has the wrong layout, a badly named file, or an unreadable image."""


@dataclass(frozen=True)
class ReidImage:
    """One labelled re-ID image.

    Attributes:
        path: Location of the image file.
        pid: Person id; ``-1`` marks junk and ``0`` a distractor.
        camid: Camera number as written in the file name.
    """

    path: Path
    pid: int
    camid: int


@dataclass(frozen=True)
class MarketDataset:
    """The query and gallery halves of a Market-1501 style test split.

    Attributes:
        root: Dataset root folder (the one holding ``query/`` and ``bounding_box_test/``).
        query: Query images sorted by file name, junk (pid ``-1``) removed.
        gallery: Gallery images sorted by file name, junk and distractors included.
    """

    root: Path
    query: list[ReidImage]
    gallery: list[ReidImage]


@dataclass(frozen=True)
class ReidMetrics:
    """Result of :func:`evaluate_ranking`; all rates are fractions in ``[0, 1]``.

    Attributes:
        cmc: Cumulative match characteristic, ``cmc[k - 1]`` is the rank-k accuracy, for k = 1..max_rank.
        map: Mean average precision over the counted queries.
        minp: Mean inverse negative penalty (Ye et al. 2021) over the counted queries.
        n_query: Number of queries counted (those with at least one valid true match).
        n_gallery: Number of gallery items the queries were ranked against.
    """

    cmc: tuple[float, ...]
    map: float
    minp: float
    n_query: int
    n_gallery: int

    def rank(self, k: int) -> float:
        """Rank-k accuracy (fraction of queries whose first true match is in the top k)."""
        if not 1 <= k <= len(self.cmc):
            raise ValueError(f"rank-{k} is not available: metrics were computed up to rank {len(self.cmc)}")
        return self.cmc[k - 1]

    @property
    def rank1(self) -> float:
        """Rank-1 accuracy."""
        return self.rank(1)

    @property
    def rank5(self) -> float:
        """Rank-5 accuracy (needs ``max_rank >= 5``)."""
        return self.rank(5)

    @property
    def rank10(self) -> float:
        """Rank-10 accuracy (needs ``max_rank >= 10``)."""
        return self.rank(10)


def parse_market_name(name: str) -> tuple[int, int]:
    """Return ``(pid, camid)`` parsed from a Market-1501 file name.

    Accepts ``0002_c1s1_000451_03.jpg``, ``-1_c1s1_000401_03.jpg`` and the sequence-less form
    ``0002_c1_000451_03.jpg`` (extensions jpg / jpeg / png, any case).

    Raises:
        DatasetError: The name does not follow the convention.
    """
    match = _NAME_RE.match(name)
    if match is None:
        raise DatasetError(f"file name {name!r} is not a Market-1501 name PPPP_cCsS_FFFFFF_NN.jpg")
    return int(match.group(1)), int(match.group(2))


def _scan_split(folder: Path) -> list[ReidImage]:
    """List, sort and parse the images of one split folder."""
    if not folder.is_dir():
        raise DatasetError(f"missing dataset folder: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DatasetError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in dataset folder: {folder}")
    images = []
    for path in files:
        try:
            pid, camid = parse_market_name(path.name)
        except DatasetError as exc:
            raise DatasetError(f"{exc} (at {path})") from None
        images.append(ReidImage(path=path, pid=pid, camid=camid))
    return images


def load_market_dataset(root: Path) -> MarketDataset:
    """Index a Market-1501 style test split without decoding any image.

    Reads ``root/query`` and ``root/bounding_box_test``; other files (``Thumbs.db`` and the like) are
    ignored. Junk queries (pid ``-1``) are dropped.

    Raises:
        DatasetError: ``root`` or one of the two folders is missing, a folder has no images, a file
            name does not parse, or no query is left after dropping junk.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root is not a folder: {root}")
    query_all = _scan_split(root / QUERY_DIR)
    gallery = _scan_split(root / GALLERY_DIR)
    query = [img for img in query_all if img.pid != JUNK_PID]
    if not query:
        raise DatasetError(f"only junk (pid {JUNK_PID}) images in query folder: {root / QUERY_DIR}")
    if len(query) < len(query_all):
        logger.info("dropped %d junk query images from %s", len(query_all) - len(query), root / QUERY_DIR)
    logger.info("loaded %s: %d query, %d gallery images", root, len(query), len(gallery))
    return MarketDataset(root=root, query=query, gallery=gallery)


def read_image(path: Path) -> np.ndarray:
    """Decode an image file to a BGR ``uint8`` array (works with non-ASCII paths).

    Raises:
        DatasetError: The file cannot be read or is not a decodable image.
    """
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise DatasetError(f"cannot read image file {path}: {exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DatasetError(f"cannot decode image file {path}")
    return image


def _as_labels(values: np.ndarray | list[int], name: str, length: int) -> np.ndarray:
    """Validate a 1-D integer label vector of a given length."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != length:
        raise ValueError(f"{name} must be a 1-D array of length {length}, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _stable_descending_order(sim_block: np.ndarray) -> np.ndarray:
    """Per-row gallery order by decreasing similarity, equal similarities kept in gallery order.

    Float32 (and float16) rows take a fast path with the same result as a stable argsort: each value's
    bits are mapped to an unsigned integer of the same order, and one plain sort of the 64-bit keys
    ``(inverted value << 32) | gallery index`` yields the order directly (about twice as fast; ties
    are frequent in float32, so an unstable argsort would not be deterministic).
    """
    if sim_block.dtype not in (np.float32, np.float16):
        return np.argsort(-sim_block, axis=1, kind="stable")
    bits = (sim_block.astype(np.float32) + np.float32(0.0)).view(np.uint32)  # + 0 turns -0.0 into 0.0
    ascending = np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(0x80000000))
    keys = (~ascending).astype(np.uint64) << np.uint64(32)
    keys |= np.arange(sim_block.shape[1], dtype=np.uint64)
    keys.sort(axis=1)
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.intp)


def evaluate_ranking(
    sim: np.ndarray,
    q_pids: np.ndarray | list[int],
    g_pids: np.ndarray | list[int],
    q_camids: np.ndarray | list[int],
    g_camids: np.ndarray | list[int],
    max_rank: int = 10,
    block_size: int = 256,
) -> ReidMetrics:
    """Score a query x gallery similarity matrix with the Market-1501 protocol.

    Each query's gallery ranking is a stable descending sort of its row of ``sim`` (ties keep gallery
    order). Same-pid-same-camera gallery items and junk (pid ``-1``) are removed from the ranking;
    distractors (pid ``0``) stay as negatives; queries with no remaining true match are skipped.
    AP is the mean of the precision at each true-match position of the filtered ranking; INP is
    ``n_true / position_of_last_true_match``. CMC entries past the end of a (short) filtered ranking
    are 1 for every counted query.

    Args:
        sim: ``(n_query, n_gallery)`` similarities, higher means more alike; must be finite.
        q_pids: Query person ids.
        g_pids: Gallery person ids (``-1`` junk, ``0`` distractor).
        q_camids: Query camera ids.
        g_camids: Gallery camera ids.
        max_rank: Length of the returned CMC curve.
        block_size: Queries sorted at once; peak extra memory is about ``40 * block_size * n_gallery``
            bytes. Larger blocks are slightly faster.

    Raises:
        ValueError: Bad shapes or values, or no query has a valid true match.
    """
    sim = np.asarray(sim)
    if sim.ndim != 2:
        raise ValueError(f"sim must be a 2-D (n_query, n_gallery) array, got shape {sim.shape}")
    if max_rank < 1 or block_size < 1:
        raise ValueError(f"max_rank and block_size must be >= 1, got {max_rank} and {block_size}")
    n_q, n_g = sim.shape
    if not np.isfinite(sim).all():
        raise ValueError("sim contains NaN or infinite values")
    q_pid = _as_labels(q_pids, "q_pids", n_q)
    q_cam = _as_labels(q_camids, "q_camids", n_q)
    g_pid = _as_labels(g_pids, "g_pids", n_g)
    g_cam = _as_labels(g_camids, "g_camids", n_g)

    first_pos: list[np.ndarray] = []  # 1-based filtered rank of the first true match, per counted query
    ap_parts: list[np.ndarray] = []
    inp_parts: list[np.ndarray] = []
    for start in range(0, n_q, block_size):
        stop = min(start + block_size, n_q)
        order = _stable_descending_order(sim[start:stop])
        ranked_pid = g_pid[order]
        same_pid = ranked_pid == q_pid[start:stop, None]
        removed = (same_pid & (g_cam[order] == q_cam[start:stop, None])) | (ranked_pid == JUNK_PID)
        del order, ranked_pid
        true_match = same_pid & ~removed
        # Position of every kept item in its query's filtered ranking (1-based).
        filtered_pos = np.cumsum(~removed, axis=1, dtype=np.int32)
        rows, cols = np.nonzero(true_match)  # row-major: positions ascend within each row
        if rows.size == 0:
            continue
        pos = filtered_pos[rows, cols].astype(np.float64)
        n_true = np.bincount(rows, minlength=stop - start)
        counted = n_true > 0
        row_start = np.concatenate(([0], np.cumsum(n_true)[:-1]))
        hits_so_far = np.arange(rows.size) - row_start[rows] + 1
        ap_sum = np.bincount(rows, weights=hits_so_far / pos, minlength=stop - start)
        last = row_start + n_true - 1
        ap_parts.append(ap_sum[counted] / n_true[counted])
        first_pos.append(pos[row_start[counted]])
        inp_parts.append(n_true[counted] / pos[last[counted]])

    n_valid = sum(part.size for part in ap_parts)
    if n_valid == 0:
        raise ValueError("no query has a valid true match in the gallery; cannot compute metrics")
    first = np.concatenate(first_pos)
    cmc = tuple(float(np.count_nonzero(first <= k)) / n_valid for k in range(1, max_rank + 1))
    if n_valid < n_q:
        logger.info("%d of %d queries had no valid true match and were skipped", n_q - n_valid, n_q)
    return ReidMetrics(
        cmc=cmc,
        map=float(np.concatenate(ap_parts).mean()),
        minp=float(np.concatenate(inp_parts).mean()),
        n_query=n_valid,
        n_gallery=n_g,
    )
