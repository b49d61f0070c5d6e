"""Searches as run and their ranked hits, kept so that a hit can be exported (and cited) by its id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.storage.base import LibraryBase
from pipeline.storage.records import f32_bytes
from pipeline.storage.schema import HitRow, SearchRow


class SearchRecords(LibraryBase):
    """The library's searches and hits."""

    def save_search(
        self,
        query_path: str,
        query_box: Sequence[float] | None,
        model: str,
        params: dict[str, Any],
        query_vector: np.ndarray,
        hits: Sequence[tuple[int, float]],
    ) -> tuple[int, list[int]]:
        """Persist a search and its ranked hits ((track pk, score) best first); returns their ids."""
        with self._write("cannot save search") as s:
            row = SearchRow(
                query_path=query_path,
                query_box=json.dumps([round(float(v), 1) for v in query_box])
                if query_box is not None
                else "",
                model=model,
                params_json=json.dumps(params, sort_keys=True),
                query_vector=f32_bytes(query_vector),
                n_hits=len(hits),
            )
            s.add(row)
            s.flush()
            hit_rows = [
                HitRow(search_id=row.id, track_pk=int(pk), rank=i, score=float(sc))
                for i, (pk, sc) in enumerate(hits)
            ]
            s.add_all(hit_rows)
            s.flush()
            return row.id, [h.id for h in hit_rows]

    def hit(self, hit_id: int) -> tuple[int, int, float] | None:
        """(search id, track pk, score) of a stored hit."""
        with self._read() as s:
            row = s.get(HitRow, hit_id)
            return None if row is None else (row.search_id, row.track_pk, row.score)
