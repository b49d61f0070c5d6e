"""Searches as run and their ranked hits, kept so that a hit can be exported (and cited) by its id.

Ids of searches and hits are never reused: a script or a case note that holds hit 12 must not find
another person's hit under that id after a video is indexed again (which deletes the old tracks
it does not find again, and their hits). The largest id ever given is kept in the meta table and
new ids continue after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.storage.base import LibraryBase
from pipeline.storage.records import f32_bytes
from pipeline.storage.schema import HitRow, MetaRow, SearchRow


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
            search_id = self._next_id(s, "last_search_id", SearchRow.id, 1)
            first_hit = self._next_id(s, "last_hit_id", HitRow.id, len(hits))
            row = SearchRow(
                id=search_id,
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
                HitRow(id=first_hit + i, search_id=row.id, track_pk=int(pk), rank=i, score=float(sc))
                for i, (pk, sc) in enumerate(hits)
            ]
            s.add_all(hit_rows)
            s.flush()
            return row.id, [h.id for h in hit_rows]

    @staticmethod
    def _next_id(s: Session, key: str, column: Any, count: int) -> int:
        """First of ``count`` ids never given before (by the meta high-water mark and the table)."""
        mark = s.get(MetaRow, key, with_for_update=True)  # concurrent searches wait
        highest = max(int(mark.value) if mark else 0, int(s.scalar(select(func.max(column))) or 0))
        if mark is None:
            s.add(MetaRow(key=key, value=str(highest + count)))
        else:
            mark.value = str(highest + count)
        return highest + 1

    def hit(self, hit_id: int) -> tuple[int, int, float] | None:
        """(search id, track pk, score) of a stored hit."""
        with self._read() as s:
            row = s.get(HitRow, hit_id)
            return None if row is None else (row.search_id, row.track_pk, row.score)

    def hit_was_given(self, hit_id: int) -> bool:
        """Whether ``hit_id`` was given to a hit (which may be gone since): ids are never reused."""
        with self._read() as s:
            mark = s.get(MetaRow, "last_hit_id")
            return 0 < hit_id <= (int(mark.value) if mark else 0)
