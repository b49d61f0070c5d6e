"""The video library: videos, their tracks and embeddings (SQLite or PostgreSQL through SQLAlchemy 2.0).

Indexing writes in chunks: each chunk's finished tracks, their embeddings, the resume checkpoint and
the progress counter are committed together, so a crash loses at most the chunk in flight and the
database never holds half a chunk. Failures to write (disk full, read-only folder) raise
:class:`StorageError` and roll back, leaving what was committed intact.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, func, or_, select, update

from pipeline.storage.base import GEN_ADDED, GEN_REMOVED
from pipeline.storage.cases import CaseStore
from pipeline.storage.clock import CameraClock
from pipeline.storage.colours import TrackColours
from pipeline.storage.embedding_reads import IDS_PER_QUERY, EmbeddingReads
from pipeline.storage.model_switch import ModelSwitch
from pipeline.storage.records import TrackInfo, f32_bytes
from pipeline.storage.replacing import TrackReplacement
from pipeline.storage.schema import (
    BOX_COLUMNS,
    EmbeddingRow,
    TrackRow,
    VideoRow,
    utcnow,
)
from pipeline.storage.score_histograms import ScoreHistograms
from pipeline.storage.searches import SearchRecords
from pipeline.storage.transfer import VideoTransfer
from pipeline.storage.video_reads import VideoReads
from pipeline.storage.video_start import VideoRegistration
from pipeline.types import PATH_COLUMNS, TrackRecord, union_box

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class Library(
    VideoRegistration,
    VideoReads,
    EmbeddingReads,
    ScoreHistograms,
    SearchRecords,
    CameraClock,
    CaseStore,
    TrackColours,
    ModelSwitch,
    VideoTransfer,
    TrackReplacement,
):
    """Spotter's database of videos, tracks, embeddings, searches, hits and calibration."""

    # ----- indexing -------------------------------------------------------------------------------

    def commit_chunk(
        self,
        video_id: int,
        records: Sequence[TrackRecord],
        frames_done: int,
        checkpoint: dict[str, Any] | None,
        reid_id: str,
    ) -> int:
        """Store finished tracks with their embeddings, the resume checkpoint and progress, atomically;
        how many tracks this run adds. A track already stored under its number (one a folder of
        images ended with, continued when images were added to it; or, in a run indexing the video
        again, an old one it begins as, see :mod:`pipeline.storage.replacing`) is replaced in place:
        its key, and the cases' review marks on it, are kept."""
        with self._write("cannot save indexing progress") as s:
            if records:
                self._bump(s, GEN_ADDED)  # first: it orders concurrent writers (see _bump)
            incoming = {int(r.track_id): (int(r.first_frame), _path_bytes(r)) for r in records}
            stored, continued = self._kept_keys(s, video_id, incoming)
            if stored:
                s.execute(delete(EmbeddingRow).where(EmbeddingRow.track_pk.in_(list(stored.values()))))
            for r in records:
                path = np.frombuffer(incoming[int(r.track_id)][1], np.float64).reshape(-1, PATH_COLUMNS)
                values = dict(
                    track_id=r.track_id,
                    first_frame=r.first_frame,
                    last_frame=r.last_frame,
                    start_s=float(path[0, 1]),
                    end_s=float(path[-1, 1]),
                    n_obs=len(path),
                    path=path.tobytes(),
                    thumbnail=r.thumbnail_jpeg,
                    quality=r.quality,
                    person=r.track_id,
                    stale=False,
                    **dict(zip(BOX_COLUMNS, union_box(path))),
                    colours=b"" if r.colours is None else f32_bytes(r.colours),
                )
                pk = stored.get(int(r.track_id))
                if pk is None:
                    t = TrackRow(video_id=video_id, **values)
                    s.add(t)
                    s.flush()
                    pk = t.id
                else:
                    s.execute(update(TrackRow).where(TrackRow.id == pk).values(**values))
                s.add(EmbeddingRow(track_pk=pk, kind="track", model=reid_id, vector=f32_bytes(r.embedding)))
                for e in r.crop_embeddings:
                    s.add(EmbeddingRow(track_pk=pk, kind="crop", model=reid_id, vector=f32_bytes(e)))
            blob = zlib.compress(json.dumps(checkpoint).encode()) if checkpoint is not None else None
            s.execute(
                update(VideoRow)
                .where(VideoRow.id == video_id)
                .values(frames_done=frames_done, checkpoint=blob)
            )
            return len(records) - continued

    def finish_video(
        self,
        video_id: int,
        status: str,
        frames_done: int | None = None,
        message: str = "",
        true_count: int = 0,
        seek_table: Sequence[tuple[int, int]] | None = None,
        report: dict[str, Any] | None = None,
        keep_checkpoint: bool = False,
        end_s: float = 0.0,
    ) -> None:
        """Close an indexing run: ``done`` (checkpoint dropped unless ``keep_checkpoint``: the last
        state of a folder that may gain images), ``partial`` (cancelled) or ``failed`` (checkpoint
        kept, so the next run resumes from the last committed chunk). ``seek_table`` and ``report``
        (what indexing did) are kept with the video; a done video lasts its ``true_count`` frames at
        its rate, or, where its frames' times are known, until ``end_s`` (its last frame's time and one
        step): a variable rate's median step times the count is not its span."""
        values: dict[str, Any] = {"status": status, "message": message}
        if seek_table is not None:
            values["seek_json"] = json.dumps([[int(i), int(p)] for i, p in seek_table])
        if report is not None:
            values["report_json"] = json.dumps(report)
        if frames_done is not None:
            values["frames_done"] = frames_done
        if status == "done":
            values |= {"indexed_at": utcnow()} | ({} if keep_checkpoint else {"checkpoint": None})
            if true_count:
                values["frame_count"] = true_count
        with self._write("cannot update video status") as s:
            row = s.get(VideoRow, video_id)
            if row is not None and status == "done" and true_count and row.fps:
                values["duration_s"] = float(end_s) if end_s > 0 else true_count / row.fps
            s.execute(update(VideoRow).where(VideoRow.id == video_id).values(**values))

    def remove_video(self, video_id: int) -> None:
        with self._write("cannot remove video") as s:
            s.execute(delete(VideoRow).where(VideoRow.id == video_id))
            self._bump(s, GEN_REMOVED)

    # ----- reading --------------------------------------------------------------------------------

    def embeddings_of(self, model: str, kind: str, track_pks: Sequence[int]) -> dict[int, np.ndarray]:
        """Embeddings (K, D) of one kind ('track' or 'crop') of the given tracks, for re-scoring or
        re-ranking a short list of candidates."""
        if not len(track_pks):
            return {}
        out: dict[int, list[bytes]] = {}
        with self._read() as s:  # by track only: SQLite would otherwise scan the (model, kind) index
            rows = s.execute(
                select(EmbeddingRow.track_pk, EmbeddingRow.kind, EmbeddingRow.model, EmbeddingRow.vector)
                .where(EmbeddingRow.track_pk.in_([int(p) for p in track_pks]))
                .order_by(EmbeddingRow.id)
            ).all()
        for pk, k, m, vec in rows:
            if k == kind and m == model:
                out.setdefault(pk, []).append(vec)
        return {pk: np.frombuffer(b"".join(v), np.float32).reshape(len(v), -1) for pk, v in out.items()}

    def tracks(self, pks: Sequence[int]) -> dict[int, TrackInfo]:
        """Stored tracks by primary key (with their video's path and fps); their JPEG thumbnails
        come separately from :meth:`thumbnails`, so large searches stay light."""
        if not len(pks):
            return {}
        return self._track_infos(TrackRow.id.in_([int(p) for p in pks]))

    def people_pks(self, people: Sequence[tuple[int, int]]) -> dict[int, tuple[int, int]]:
        """The key of every track of each (video id, person) chain, with its person (the light form
        of :meth:`people_tracks`)."""
        out: dict[int, tuple[int, int]] = {}
        with self._read() as s:
            for where in _of_people(set(people)):
                person = func.coalesce(TrackRow.person, TrackRow.track_id)  # as track_people says it
                q = select(TrackRow.id, TrackRow.video_id, person).where(where)
                out.update({pk: (video_id, who) for pk, video_id, who in s.execute(q).all()})
        return out

    def track_people(self, pks: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(video id, person) of each stored track by primary key: the light lookup a search makes
        before it reads whole people with :meth:`people_tracks`."""
        if not len(pks):
            return {}
        person = func.coalesce(TrackRow.person, TrackRow.track_id)
        keys, out = sorted({int(p) for p in pks}), {}
        with self._read() as s:
            for k in range(0, len(keys), IDS_PER_QUERY):  # within every SQLite build's parameter limit
                q = select(TrackRow.id, TrackRow.video_id, person).where(
                    TrackRow.id.in_(keys[k : k + IDS_PER_QUERY])
                )
                out.update({pk: (video_id, who) for pk, video_id, who in s.execute(q).all()})
        return out

    def _track_infos(self, where: Any, limit: int | None = None) -> dict[int, TrackInfo]:
        cols = [
            TrackRow.id,
            TrackRow.video_id,
            VideoRow.path,
            VideoRow.fps,
            TrackRow.track_id,
            TrackRow.first_frame,
            TrackRow.last_frame,
            TrackRow.start_s,
            TrackRow.end_s,
            TrackRow.path,
            TrackRow.person,
            VideoRow.frame_count,
            VideoRow.frames_done,
        ]
        out: dict[int, TrackInfo] = {}
        with self._read() as s:
            q = select(*cols).join(VideoRow, TrackRow.video_id == VideoRow.id).where(where)
            if limit is not None:
                q = q.order_by(TrackRow.first_frame, TrackRow.id).limit(limit)
            for row in s.execute(q).all():
                path = np.frombuffer(row[9], np.float64).reshape(-1, PATH_COLUMNS)
                person = row[10] if row[10] is not None else row[4]
                indexed = max(int(row[11] or 0), int(row[12] or 0))  # a count probed, or the frames read
                out[row[0]] = TrackInfo(*row[:9], path, person, indexed)
        return out

    def people_tracks(self, people: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[TrackInfo]]:
        """Every track of each (video id, person) chain, in time order, in one query."""
        if not people:
            return {}
        wanted = set(people)
        found: dict[int, TrackInfo] = {}
        for where in _of_people(wanted):
            found.update(self._track_infos(where))
        out: dict[tuple[int, int], list[TrackInfo]] = {}
        for t in sorted(found.values(), key=lambda t: t.first_frame):
            if (t.video_id, t.person) in wanted:
                out.setdefault((t.video_id, t.person), []).append(t)
        return out

    def set_persons(self, video_id: int, person_of: dict[int, int]) -> None:
        """Store the person (linked chain) of each track of a video, in one transaction (one bulk
        UPDATE by primary key)."""
        rows = [{"id": int(pk), "person": int(person)} for pk, person in person_of.items()]
        if not rows:
            return
        with self._write("cannot save linked tracks") as s:
            s.execute(update(TrackRow), rows)

    def thumbnails(self, track_pks: Sequence[int]) -> dict[int, bytes]:
        """JPEG bytes of the tracks' best crops (tracks that are gone are left out)."""
        if not len(track_pks):
            return {}
        with self._read() as s:
            q = select(TrackRow.id, TrackRow.thumbnail).where(TrackRow.id.in_([int(p) for p in track_pks]))
            return {pk: jpeg for pk, jpeg in s.execute(q).all()}

    def track_count(self, video_id: int) -> int:
        with self._read() as s:
            q = select(func.count()).where(TrackRow.video_id == video_id, TrackRow.stale.is_(False))
            return int(s.scalar(q) or 0)

    def iter_video_tracks(self, video_id: int, page: int = 500) -> Iterator[TrackInfo]:
        """The tracks of one video in order of appearance, read a page at a time (keyset paging), so
        that a sweep over an hour- or day-long video holds only a page in memory."""
        after: tuple[int, int] = (-1, -1)
        while True:
            first = TrackRow.first_frame
            where = (TrackRow.video_id == video_id) & (
                (first > after[0]) | ((first == after[0]) & (TrackRow.id > after[1]))
            )
            found = self._track_infos(where, page).values()
            rows = sorted(found, key=lambda t: (t.first_frame, t.pk))
            yield from rows
            if len(rows) < page:
                return
            after = (rows[-1].first_frame, rows[-1].pk)

    def video_tracks(self, video_id: int) -> list[TrackInfo]:
        """All tracks of one video, in order of appearance."""
        found = self._track_infos(TrackRow.video_id == video_id)
        return sorted(found.values(), key=lambda t: (t.first_frame, t.pk))


def _path_bytes(record: TrackRecord) -> bytes:
    return np.ascontiguousarray(record.path, dtype=np.float64).tobytes()


def _of_people(people: set[tuple[int, int]]) -> list[Any]:
    """Where a track is one of ``people`` ((video id, person) each), as one condition per query: one
    indexed lookup per video (SQLite scans the whole index for a row-value IN), each query within
    ``IDS_PER_QUERY`` bound values and so far under SQLite's expression depth (998 videos in one
    query failed: "Expression tree is too large")."""
    by_video: dict[int, list[int]] = {}
    for video_id, person in sorted(people):
        by_video.setdefault(video_id, []).append(person)
    chunks: list[list[Any]] = [[]]
    used = 0
    for video, persons in by_video.items():
        for k in range(0, len(persons), IDS_PER_QUERY - 1):
            part = persons[k : k + IDS_PER_QUERY - 1]
            if used + 1 + len(part) > IDS_PER_QUERY:
                chunks.append([])
                used = 0
            chunks[-1].append((TrackRow.video_id == video) & TrackRow.person.in_(part))
            used += 1 + len(part)
    return [or_(*terms) for terms in chunks if terms]
