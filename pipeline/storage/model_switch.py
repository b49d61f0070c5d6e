"""Changing a library's ReID model: new embeddings are written beside the old ones video by video,
and the library switches to them in one transaction once every video has them. Until then every
search uses the old model's complete set; a crash or cancel part-way leaves a consistent library,
and running the re-embedding again continues where it stopped.

The model a library was switched to is recorded (``meta.reid_model``: its id, file and SHA-256), so
that later commands use it by default instead of the shipped model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from sqlalchemy import delete, func, select, update

from pipeline.storage.base import GEN_ADDED, GEN_REMOVED, LibraryBase
from pipeline.storage.records import f32_bytes
from pipeline.storage.schema import EmbeddingRow, MetaRow, TrackRow, VideoRow

ACTIVE_REID = "reid_model"  # meta key: JSON {"id", "path", "sha256"} of the model switched to


class ModelSwitch(LibraryBase):
    def active_reid(self) -> dict | None:
        """The ReID model the library was switched to (``{"id", "path", "sha256"}``), if any."""
        with self._read() as s:
            raw = s.scalar(select(MetaRow.value).where(MetaRow.key == ACTIVE_REID))
        return json.loads(raw) if raw else None

    def store_embeddings(self, video_id: int, model: str, vectors: dict[int, np.ndarray]) -> None:
        """The crop embeddings (K, D) of a video's tracks (by pk) under ``model``, and each track's
        L2-normalised mean as its 'track' embedding; replaces any of that model for the video, in one
        transaction."""
        with self._write("cannot store the new embeddings") as s:
            self._bump(s, GEN_ADDED)  # first: it orders concurrent writers (see _bump)
            pks = select(TrackRow.id).where(TrackRow.video_id == video_id)
            gone = s.execute(
                delete(EmbeddingRow).where(EmbeddingRow.model == model, EmbeddingRow.track_pk.in_(pks))
            )
            if gone.rowcount:
                self._bump(s, GEN_REMOVED)
            for pk, crops in vectors.items():
                mean = crops.mean(axis=0)
                mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
                s.add(EmbeddingRow(track_pk=int(pk), kind="track", model=model, vector=f32_bytes(mean)))
                for v in crops:
                    s.add(EmbeddingRow(track_pk=int(pk), kind="crop", model=model, vector=f32_bytes(v)))

    def embedded_tracks(self, video_id: int, model: str) -> int:
        """How many of a video's tracks have a 'track' embedding of ``model``."""
        with self._read() as s:
            q = (
                select(func.count())
                .select_from(EmbeddingRow)
                .join(TrackRow, EmbeddingRow.track_pk == TrackRow.id)
                .where(
                    TrackRow.video_id == video_id, EmbeddingRow.model == model, EmbeddingRow.kind == "track"
                )
            )
            return int(s.scalar(q) or 0)

    def switch_reid(self, video_ids: Sequence[int], model: str, path: str, sha256: str) -> None:
        """In one transaction: the videos now count as embedded with ``model``, their other models'
        embeddings are deleted, and ``model`` becomes the library's recorded ReID model."""
        ids = [int(v) for v in video_ids]
        with self._write("cannot switch the library to the new model") as s:
            s.execute(update(VideoRow).where(VideoRow.id.in_(ids)).values(reid_id=model))
            pks = select(TrackRow.id).where(TrackRow.video_id.in_(ids))
            s.execute(delete(EmbeddingRow).where(EmbeddingRow.model != model, EmbeddingRow.track_pk.in_(pks)))
            value = json.dumps({"id": model, "path": path, "sha256": sha256})
            row = s.get(MetaRow, ACTIVE_REID)
            if row is None:
                s.add(MetaRow(key=ACTIVE_REID, value=value))
            else:
                row.value = value
            self._bump(s, GEN_REMOVED)
