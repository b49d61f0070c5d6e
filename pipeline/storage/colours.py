"""Clothing colours stored with the tracks (see :mod:`pipeline.clothing`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, update

from pipeline.storage.base import LibraryBase
from pipeline.storage.records import f32_bytes
from pipeline.storage.schema import TrackRow


@dataclass(frozen=True)
class ColourTable:
    pks: np.ndarray  # int64 (N,)
    video_ids: np.ndarray  # int64 (N,)
    persons: np.ndarray  # int64 (N,): the linked chain of each track
    colours: np.ndarray  # float32 (N, 2, P): upper and lower colour shares


class TrackColours(LibraryBase):
    def colour_table(self, palette_size: int) -> ColourTable:
        """Every track that has colours (one read)."""
        person = func.coalesce(TrackRow.person, TrackRow.track_id)
        q = select(TrackRow.id, TrackRow.video_id, person, TrackRow.colours).where(TrackRow.colours != b"")
        with self._read() as s:
            rows = s.execute(q).all()
        if not rows:
            empty = np.zeros(0, np.int64)
            return ColourTable(empty, empty, empty, np.zeros((0, 2, palette_size), np.float32))
        colours = np.frombuffer(b"".join(r[3] for r in rows), np.float32).reshape(len(rows), 2, palette_size)
        ids = np.array([r[:3] for r in rows], dtype=np.int64)
        return ColourTable(ids[:, 0], ids[:, 1], ids[:, 2], colours)

    def tracks_without_colours(self, limit: int = 500) -> list[int]:
        """Keys of tracks indexed before colours were kept (up to ``limit``)."""
        with self._read() as s:
            return list(s.scalars(select(TrackRow.id).where(TrackRow.colours == b"").limit(limit)))

    def set_track_colours(self, colours: dict[int, np.ndarray]) -> None:
        with self._write("cannot store clothing colours") as s:
            for pk, value in colours.items():
                s.execute(update(TrackRow).where(TrackRow.id == pk).values(colours=f32_bytes(value)))
