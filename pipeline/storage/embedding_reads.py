"""Reading appearance vectors in bulk: a page at a time, or a chosen set of rows, so that building a
vector index over millions of tracks never holds more than one page of them in memory (ten million
512-d vectors are 20 GB; the index keeps them compressed to 64 B each)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select

from pipeline.storage.base import LibraryBase
from pipeline.storage.schema import EmbeddingRow

IDS_PER_QUERY = 900  # row ids per ``IN (...)`` list: under every SQLite build's parameter limit

EmbeddingPage = tuple[np.ndarray, np.ndarray, np.ndarray]  # (embedding ids, track pks, (N, D) vectors)


def _page(rows: Sequence) -> EmbeddingPage:
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    pks = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    vecs = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), -1)
    return ids, pks, vecs


def _of(model: str, kind: str, after_id: int) -> Any:
    """The rows of one model and kind with ids above ``after_id``."""
    return (EmbeddingRow.model == model) & (EmbeddingRow.kind == kind) & (EmbeddingRow.id > after_id)


class EmbeddingReads(LibraryBase):
    """Bulk reads of one ReID model's embeddings of one kind ('track' or 'crop')."""

    def load_embeddings(
        self, model: str, kind: str, after_id: int = 0, limit: int | None = None
    ) -> EmbeddingPage:
        """(embedding ids, track pks, (N, D) float32 vectors) of one model and kind with ids above
        ``after_id``, in id order; at most ``limit`` of them."""
        query = (
            select(EmbeddingRow.id, EmbeddingRow.track_pk, EmbeddingRow.vector)
            .where(_of(model, kind, after_id))
            .order_by(EmbeddingRow.id)
        )
        with self._read() as s:
            return _page(s.execute(query if limit is None else query.limit(limit)).all())

    def embedding_pages(self, model: str, kind: str, page: int, after_id: int = 0) -> Iterator[EmbeddingPage]:
        """:meth:`load_embeddings` a page of ``page`` rows at a time (each page one short read, so a
        writer is never held up for the whole walk); rows added meanwhile come in later pages."""
        while True:
            ids, pks, vecs = self.load_embeddings(model, kind, after_id, page)
            if not len(ids):
                return
            yield ids, pks, vecs
            after_id = int(ids[-1])

    def embedding_ids(self, model: str, kind: str, after_id: int = 0) -> np.ndarray:
        """The ids of one model's embeddings of one kind above ``after_id``, ascending (8 bytes each:
        a sample can be chosen among them without reading any vector)."""
        with self._read() as s:
            query = select(EmbeddingRow.id).where(_of(model, kind, after_id)).order_by(EmbeddingRow.id)
            rows = s.execute(query)
            return np.fromiter((r[0] for r in rows), np.int64)

    def embeddings_by_id(self, ids: Sequence[int]) -> np.ndarray:
        """(N, D) vectors of the given embedding rows, in the order of ``ids`` (all must exist)."""
        wanted = np.asarray(ids, np.int64)
        if not len(wanted):
            return np.zeros((0, 0), np.float32)
        distinct = np.unique(wanted).tolist()
        found: dict[int, bytes] = {}
        with self._read() as s:
            for k in range(0, len(distinct), IDS_PER_QUERY):
                chunk = distinct[k : k + IDS_PER_QUERY]
                query = select(EmbeddingRow.id, EmbeddingRow.vector).where(EmbeddingRow.id.in_(chunk))
                found.update((int(i), v) for i, v in s.execute(query))
        missing = [i for i in distinct if i not in found]
        if missing:
            raise KeyError(f"no embedding rows {missing[:5]}")
        return np.frombuffer(b"".join(found[int(i)] for i in wanted), np.float32).reshape(len(wanted), -1)
