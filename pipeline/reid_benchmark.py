"""Evaluate a ReID embedder on a Market-1501-layout dataset: embed, rank, score (``main.py eval-reid``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.reid import ReidEmbedder
from pipeline.reid_eval import ReidImage, ReidMetrics, evaluate_ranking, load_market_dataset, read_image
from pipeline.rerank import RerankConfig, k_reciprocal_rerank

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReidEvalReport:
    dataset: str
    model: str
    provider: str
    flip: bool
    rerank: bool
    metrics: ReidMetrics
    n_query_images: int
    n_gallery_images: int
    crops_per_s: float

    def to_json(self) -> dict:
        m = self.metrics
        return {
            "dataset": self.dataset,
            "model": self.model,
            "provider": self.provider,
            "flip": self.flip,
            "rerank": self.rerank,
            "rank1": round(m.rank1, 4),
            "rank5": round(m.rank5, 4),
            "rank10": round(m.rank10, 4),
            "map": round(m.map, 4),
            "minp": round(m.minp, 4),
            "n_query": m.n_query,
            "n_query_images": self.n_query_images,
            "n_gallery": self.n_gallery_images,
            "crops_per_s": round(self.crops_per_s, 1),
        }

    def summary(self) -> str:
        m = self.metrics
        return (
            f"Rank-1 {m.rank1:.3f}  Rank-5 {m.rank5:.3f}  Rank-10 {m.rank10:.3f}  "
            f"mAP {m.map:.3f}  mINP {m.minp:.3f}  queries {m.n_query} (of {self.n_query_images})  "
            f"gallery {self.n_gallery_images}  "
            f"{self.crops_per_s:.0f} crops/s on {self.provider}  model {self.model}"
            f"{'  +flip' if self.flip else ''}{'  +rerank' if self.rerank else ''}"
        )


def embed_images(
    images: Sequence[ReidImage], embedder: ReidEmbedder, progress: Progress | None, done: int, total: int
) -> tuple[np.ndarray, float]:
    """Embeddings of the images (in the embedder's batch size) and the seconds spent in the model."""
    out, spent = [], 0.0
    step = max(1, embedder.config.batch)
    for k in range(0, len(images), step):
        crops = [read_image(im.path) for im in images[k : k + step]]
        t0 = time.perf_counter()
        out.append(embedder.embed(crops))
        spent += time.perf_counter() - t0
        if progress is not None:
            progress(done + k + len(crops), total)
    return (np.concatenate(out) if out else np.zeros((0, embedder.dim), np.float32)), spent


def evaluate_reid(
    dataset_dir: str | Path,
    embedder: ReidEmbedder,
    rerank: bool = False,
    rerank_config: RerankConfig = RerankConfig(),
    progress: Progress | None = None,
) -> ReidEvalReport:
    """Market-1501 protocol figures of ``embedder`` on the dataset (optionally k-reciprocal re-ranked)."""
    data = load_market_dataset(Path(dataset_dir))
    total = len(data.query) + len(data.gallery)
    qf, tq = embed_images(data.query, embedder, progress, 0, total)
    gf, tg = embed_images(data.gallery, embedder, progress, len(data.query), total)
    sim = -k_reciprocal_rerank(qf, gf, rerank_config) if rerank else qf @ gf.T
    metrics = evaluate_ranking(
        sim,
        [i.pid for i in data.query],
        [i.pid for i in data.gallery],
        [i.camid for i in data.query],
        [i.camid for i in data.gallery],
    )
    return ReidEvalReport(
        str(data.root),
        embedder.model_id,
        embedder.providers[0],
        embedder.config.flip,
        rerank,
        metrics,
        len(data.query),
        len(data.gallery),
        total / max(tq + tg, 1e-9),
    )
