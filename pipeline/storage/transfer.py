"""Copy an indexed video (its row, tracks, embeddings, calibration) from one library into another.

Distributed indexing into an SQLite library needs it: the file lives on the machine that started the
job, so a Ray worker indexes into a private library of its own and the driver copies the video in
(``pipeline.distributed``). The copy is one transaction in the target: a video already there under
the same path is replaced whole (keeping its id), never merged, and the change counters tell open
searches. A track the target already has (under the same number and beginning at the same frame in
the same box: the same person indexed on, as a resumed run or a folder that gained images; or a
stale one, from before a run indexing the video again, that the run found again) is replaced in
place, so its key, and the cases' review marks and saved hits on it, are kept, as
``Library.commit_chunk`` keeps them on one machine.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pipeline.errors import StorageError
from pipeline.storage.base import GEN_ADDED, GEN_REMOVED, LibraryBase
from pipeline.storage.embedding_reads import IDS_PER_QUERY
from pipeline.storage.replacing import match_stored
from pipeline.storage.schema import CalibrationRow, EmbeddingRow, TrackRow, VideoRow
from pipeline.types import PATH_COLUMNS, TrackRecord

VIDEO_SKIP = ("id",)  # columns of a video row that the target assigns itself


def _values(row: object, table: object, skip: tuple[str, ...]) -> dict:
    return {c.key: getattr(row, c.key) for c in table.__table__.columns if c.key not in skip}


def _same_tracks(
    s: Session, video_id: int, incoming: list[tuple[int, dict]]
) -> tuple[dict[int, int], list[int]]:
    """Of a video's stored tracks, those the incoming tracks (key, values) are
    (:func:`~pipeline.storage.replacing.match_stored`), as {incoming key: stored key}, and the keys
    of the others. The tracks kept are renumbered below every number either side holds, so that
    each can take its incoming number in turn."""
    cols = (TrackRow.id, TrackRow.track_id, TrackRow.stale, TrackRow.first_frame, TrackRow.path)
    stored = [tuple(row) for row in s.execute(select(*cols).where(TrackRow.video_id == video_id))]
    by_number = {v["track_id"]: (pk, v["first_frame"], v["path"]) for pk, v in incoming}
    kept = match_stored(stored, {n: (first, path) for n, (_, first, path) in by_number.items()})
    floor = min([0] + [row[1] for row in stored] + list(by_number))
    for k, pk in enumerate(kept.values()):
        s.execute(update(TrackRow).where(TrackRow.id == pk).values(track_id=floor - 1 - k))
    same = {by_number[n][0]: pk for n, pk in kept.items()}
    return same, [row[0] for row in stored if row[0] not in set(kept.values())]


class VideoTransfer(LibraryBase):
    def copy_video_from(self, source: LibraryBase, path: str) -> int:
        """Copy the video at ``path`` in ``source`` into this library (replacing its own video of that
        path, if any); the new video id."""
        with source._read() as s:
            video = s.scalar(select(VideoRow).where(VideoRow.path == path))
            if video is None:
                raise StorageError(f"{source.where} has no video {path}")
            video_values = _values(video, VideoRow, VIDEO_SKIP)
            tracks = s.scalars(
                select(TrackRow).where(TrackRow.video_id == video.id).order_by(TrackRow.id)
            ).all()
            track_values = [(t.id, _values(t, TrackRow, ("id", "video_id"))) for t in tracks]
            embeddings = s.scalars(
                select(EmbeddingRow)
                .join(TrackRow, EmbeddingRow.track_pk == TrackRow.id)
                .where(TrackRow.video_id == video.id)
                .order_by(EmbeddingRow.id)
            ).all()
            embedding_values = [_values(e, EmbeddingRow, ("id",)) for e in embeddings]
            calibration = [
                _values(c, CalibrationRow, ("id", "video_id"))
                for c in s.scalars(select(CalibrationRow).where(CalibrationRow.video_id == video.id))
            ]
        with self._write(f"cannot copy {path} into {self.where}") as s:
            if embedding_values:
                self._bump(s, GEN_ADDED)  # first: it orders concurrent writers (see _bump)
            row = s.scalar(select(VideoRow).where(VideoRow.path == path))
            kept: dict[int, int] = {}  # source key -> the target's key of the same track
            if row is not None:  # the same video id as before; what it had is replaced
                s.execute(delete(CalibrationRow).where(CalibrationRow.video_id == row.id))
                kept, gone = _same_tracks(s, row.id, track_values)
                for k in range(0, max(len(gone), len(kept)), IDS_PER_QUERY):
                    s.execute(delete(TrackRow).where(TrackRow.id.in_(gone[k : k + IDS_PER_QUERY])))
                    page = list(kept.values())[k : k + IDS_PER_QUERY]
                    s.execute(delete(EmbeddingRow).where(EmbeddingRow.track_pk.in_(page)))
                if gone or kept:
                    self._bump(s, GEN_REMOVED)
                for key, value in video_values.items():
                    setattr(row, key, value)
            else:
                row = VideoRow(**video_values)
                s.add(row)
            s.flush()
            new_pk = {}
            for pk, values in track_values:
                if pk in kept:
                    s.execute(update(TrackRow).where(TrackRow.id == kept[pk]).values(**values))
                    new_pk[pk] = kept[pk]
                    continue
                t = TrackRow(video_id=row.id, **values)
                s.add(t)
                s.flush()
                new_pk[pk] = t.id
            s.add_all(EmbeddingRow(**(e | {"track_pk": new_pk[e["track_pk"]]})) for e in embedding_values)
            s.add_all(CalibrationRow(video_id=row.id, **c) for c in calibration)
            return int(row.id)

    def track_records(self, video_id: int, model: str) -> list[TrackRecord]:
        """A video's stored tracks as the records indexing wrote (crop frames are not stored: empty)."""
        with self._read() as s:
            of_video = select(TrackRow).where(TrackRow.video_id == video_id).order_by(TrackRow.id)
            tracks = s.scalars(of_video).all()
            rows = s.execute(
                select(EmbeddingRow.track_pk, EmbeddingRow.kind, EmbeddingRow.vector)
                .where(EmbeddingRow.track_pk.in_([t.id for t in tracks]), EmbeddingRow.model == model)
                .order_by(EmbeddingRow.id)
            ).all()
            vectors: dict[int, dict[str, list[np.ndarray]]] = {}
            for pk, kind, blob in rows:
                vectors.setdefault(pk, {}).setdefault(kind, []).append(np.frombuffer(blob, np.float32))
            out = []
            for t in tracks:
                v = vectors.get(t.id, {})
                if "track" not in v:
                    continue
                colours = np.frombuffer(t.colours, np.float32).reshape(2, -1) if t.colours else None
                out.append(
                    TrackRecord(
                        track_id=t.track_id,
                        path=np.frombuffer(t.path, np.float64).reshape(-1, PATH_COLUMNS).copy(),
                        embedding=v["track"][0].copy(),
                        crop_embeddings=np.stack(v.get("crop", v["track"])).copy(),
                        crop_frames=(),
                        thumbnail_jpeg=t.thumbnail,
                        quality=float(t.quality),
                        colours=None if colours is None else colours.copy(),
                    )
                )
            return out
