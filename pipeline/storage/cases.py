"""Cases in the library: the person looked for (query photos and their vectors) and the operator's
review (tracks confirmed or rejected, by whom and when)."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pipeline.errors import StorageError
from pipeline.storage.base import LibraryBase
from pipeline.storage.records import box_from_json, box_json, clean_name, f32_bytes, text_only
from pipeline.storage.replacing import marks_on
from pipeline.storage.schema import CaseMarkRow, CasePhotoRow, CaseRow, TrackRow, VideoRow
from pipeline.types import Box

VERDICTS = ("confirmed", "rejected")
MAX_CASE_NAME = 100  # characters


@dataclass(frozen=True)
class CaseMark:
    track_pk: int
    video_path: str
    track_id: int
    verdict: str
    marked_by: str
    marked_at: datetime


@dataclass(frozen=True)
class CaseInfo:
    case_id: int
    name: str
    created_at: datetime
    created_by: str
    photos: tuple[tuple[str, str, np.ndarray], ...]  # (path, model, vector)
    marks: tuple[CaseMark, ...]
    notes: str = ""
    filter_json: str = "{}"  # pipeline.search_filter.filter_json of the case's filter
    greys: tuple[np.ndarray | None, ...] = ()  # each photo turned grey (None: the photo has no colour)
    boxes: tuple[Box | None, ...] = ()  # the person searched for in each photo (None: the whole photo)

    def vectors(self, model: str) -> tuple[np.ndarray, ...]:
        """The query photos' vectors of one ReID model."""
        return tuple(v for _, m, v in self.photos if m == model)

    @property
    def photo_greys(self) -> tuple[np.ndarray | None, ...]:
        """One grey vector (or None) per photo, in the order of :attr:`photos`."""
        return self.greys + (None,) * (len(self.photos) - len(self.greys))

    @property
    def photo_boxes(self) -> tuple[Box | None, ...]:
        """One box (or None: the photo was used whole, or the case is older) per photo."""
        return self.boxes + (None,) * (len(self.photos) - len(self.boxes))

    def grey_vectors(self, model: str) -> tuple[np.ndarray | None, ...]:
        """The grey vectors of the photos :meth:`vectors` gives, in its order (None where the photo
        has no colour, or the case was made before grey vectors were kept)."""
        return tuple(g for (_, m, _), g in zip(self.photos, self.photo_greys) if m == model)

    def marked(self, verdict: str) -> tuple[int, ...]:
        return tuple(m.track_pk for m in self.marks if m.verdict == verdict)


@dataclass(frozen=True)
class ImportedCase:
    """What a case file brings beyond photos and notes: who opened it and when, its filter, and its
    marks as (track key in this library, verdict, marked by, marked at)."""

    created_by: str
    created_at: datetime
    filter_json: str
    marks: tuple[tuple[int, str, str, datetime], ...]


def _check_verdict(verdict: str) -> None:
    if verdict not in VERDICTS:
        raise StorageError(f"a verdict is one of {', '.join(VERDICTS)}, not {verdict!r}")


def operator() -> str:
    """Who is at the keyboard (the login name), for the record."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in this environment
        return ""


class CaseStore(LibraryBase):
    """Create cases, record the review, read a case back."""

    @staticmethod
    def _marks_dropped(s: Session, video_id: int) -> str:
        """What indexing a changed video again takes from the cases: the review marks on its tracks
        (the tracks are made anew; said, so that an operator knows what to review again)."""
        n, cases = marks_on(s, TrackRow.video_id == video_id)
        return f"; the {n} review mark(s) on its tracks in case(s) {cases} are dropped" if n else ""

    def create_case(
        self,
        name: str,
        photos: Sequence[tuple[str, str, np.ndarray]],
        notes: str = "",
        imported: ImportedCase | None = None,
        greys: Sequence[np.ndarray | None] = (),
        boxes: Sequence[Sequence[float] | None] = (),
    ) -> int:
        """A new case with its query photos ((path, model, vector) each) and notes; its id. ``greys``
        are the photos' vectors turned grey, in the same order (``Searcher.grey_vector``; None or
        missing where the photo has no colour); ``boxes`` the person searched for in each photo
        (photo pixels; None or missing where the photo was used whole). An ``imported`` case keeps
        who opened it and when, its filter and its marks (who, when), in the same transaction."""
        name, notes = clean_name(name, MAX_CASE_NAME, "case"), text_only(str(notes), "case note")
        with self._write(f"cannot create the case {name!r}") as s:
            _refuse_taken(s, name)
            case = CaseRow(name=name, created_by=operator(), notes=str(notes))
            if imported is not None:
                case.created_by, case.created_at = imported.created_by, imported.created_at
                case.filter_json = imported.filter_json
            s.add(case)
            s.flush()
            greys = list(greys) + [None] * (len(photos) - len(greys))
            boxes = list(boxes) + [None] * (len(photos) - len(boxes))
            for (path, model, vector), grey, box in zip(photos, greys, boxes):
                grey_bytes = None if grey is None else f32_bytes(grey)
                s.add(
                    CasePhotoRow(
                        case_id=case.id,
                        path=str(path),
                        model=model,
                        vector=f32_bytes(vector),
                        grey_vector=grey_bytes,
                        box=box_json(box),
                    )
                )
            for pk, verdict, by, at in imported.marks if imported is not None else ():
                s.add(CaseMarkRow(case_id=case.id, track_pk=pk, verdict=verdict, marked_by=by, marked_at=at))
            return case.id

    def find_video(self, content_sha256: str, path: str) -> int | None:
        """The video's id by its content (else its path), for taking up a case made on another
        library."""
        with self._read() as s:
            video = (
                s.scalar(select(VideoRow.id).where(VideoRow.content_sha256 == content_sha256))
                if content_sha256
                else None
            )
            return video if video is not None else s.scalar(select(VideoRow.id).where(VideoRow.path == path))

    def find_track(self, content_sha256: str, path: str, track_id: int) -> tuple[int, int, int] | None:
        """(track key, first frame, last frame) of a track by its video's content (else its path) and
        its number in that video (a case file written before marks kept their boxes)."""
        video = self.find_video(content_sha256, path)
        if video is None:
            return None
        with self._read() as s:
            row = s.execute(
                select(TrackRow.id, TrackRow.first_frame, TrackRow.last_frame).where(
                    TrackRow.video_id == video, TrackRow.track_id == track_id
                )
            ).first()
            return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def mark_details(self, name: str) -> list[tuple[str, str, int, int, int]]:
        """(video path, video content SHA-256, track number, first frame, last frame) of each mark of a
        case, in the order of :meth:`case`'s marks: what identifies a track outside this library."""
        with self._read() as s:
            q = (
                select(
                    VideoRow.path,
                    VideoRow.content_sha256,
                    TrackRow.track_id,
                    TrackRow.first_frame,
                    TrackRow.last_frame,
                )
                .join(TrackRow, TrackRow.video_id == VideoRow.id)
                .join(CaseMarkRow, CaseMarkRow.track_pk == TrackRow.id)
                .where(CaseMarkRow.case_id == self._case_id(s, name))
                .order_by(CaseMarkRow.id)
            )
            return [(p, sha, int(t), int(a), int(b)) for p, sha, t, a, b in s.execute(q).all()]

    def mark(self, name: str, track_pk: int, verdict: str) -> tuple[str, str] | None:
        """Record the operator's verdict on a track (a later verdict replaces an earlier one); the
        verdict it replaced and who gave it, or None where the track was not marked."""
        _check_verdict(verdict)
        with self._write("cannot record the review") as s:
            case_id = self._case_id(s, name, lock=True)
            if s.get(TrackRow, track_pk) is None:
                raise StorageError(f"no track {track_pk} in the library")
            mine = (CaseMarkRow.case_id == case_id, CaseMarkRow.track_pk == track_pk)
            before = s.execute(select(CaseMarkRow.verdict, CaseMarkRow.marked_by).where(*mine)).first()
            s.execute(delete(CaseMarkRow).where(*mine))
            s.add(CaseMarkRow(case_id=case_id, track_pk=track_pk, verdict=verdict, marked_by=operator()))
        return None if before is None else (before.verdict, before.marked_by)

    def add_marks(
        self, name: str, marks: Sequence[tuple[int, str, str, datetime]]
    ) -> tuple[int, tuple[int, ...]]:
        """Take up marks ((track key, verdict, by whom, when) each) into a case, in one transaction,
        on the tracks the case has no mark on; a track it has marked keeps its own verdict. The number
        of marks added, and the tracks whose mark here differs from the one offered."""
        with self._write(f"cannot add the marks to the case {name!r}") as s:
            case_id = self._case_id(s, name, lock=True)
            mine = select(CaseMarkRow.track_pk, CaseMarkRow.verdict).where(CaseMarkRow.case_id == case_id)
            have = {int(pk): str(verdict) for pk, verdict in s.execute(mine).all()}
            added, differ = 0, []
            for pk, verdict, by, at in marks:
                _check_verdict(verdict)
                if pk in have:
                    if have[pk] != verdict:
                        differ.append(pk)
                    continue
                s.add(CaseMarkRow(case_id=case_id, track_pk=pk, verdict=verdict, marked_by=by, marked_at=at))
                have[pk], added = verdict, added + 1
        return added, tuple(differ)

    def check_case_name_free(self, name: str) -> None:
        """StorageError where a case of that name exists: said before the work of making a new one
        (a sweep: `case new` ran both models on every photo first)."""
        with self._read() as s:
            _refuse_taken(s, clean_name(name, MAX_CASE_NAME, "case"))

    def case(self, name: str) -> CaseInfo:
        with self._read() as s:
            case_id = self._case_id(s, name)
            row = s.get(CaseRow, case_id)
            rows = s.scalars(
                select(CasePhotoRow).where(CasePhotoRow.case_id == case_id).order_by(CasePhotoRow.id)
            ).all()
            photos = tuple((p.path, p.model, np.frombuffer(p.vector, np.float32).copy()) for p in rows)
            greys = tuple(
                None if p.grey_vector is None else np.frombuffer(p.grey_vector, np.float32).copy()
                for p in rows
            )
            boxes = tuple(box_from_json(p.box) for p in rows)
            q = (
                select(CaseMarkRow, TrackRow.track_id, VideoRow.path)
                .join(TrackRow, CaseMarkRow.track_pk == TrackRow.id)
                .join(VideoRow, TrackRow.video_id == VideoRow.id)
                .where(CaseMarkRow.case_id == case_id)
                .order_by(CaseMarkRow.id)
            )
            marks = tuple(
                CaseMark(m.track_pk, path, track_id, m.verdict, m.marked_by, m.marked_at)
                for m, track_id, path in s.execute(q).all()
            )
            return CaseInfo(
                case_id,
                row.name,
                row.created_at,
                row.created_by,
                photos,
                marks,
                row.notes,
                row.filter_json,
                greys,
                boxes,
            )

    def cases(self) -> list[tuple[str, datetime, int]]:
        """(name, opened at, marks) of every case, newest first."""
        marks = select(CaseMarkRow.case_id, func.count().label("n")).group_by(CaseMarkRow.case_id).subquery()
        q = (
            select(CaseRow.name, CaseRow.created_at, func.coalesce(marks.c.n, 0))
            .outerjoin(marks, marks.c.case_id == CaseRow.id)
            .order_by(CaseRow.id.desc())
        )
        with self._read() as s:
            return [(n, at, int(k)) for n, at, k in s.execute(q).all()]

    def update_case(self, name: str, notes: str | None = None, filter_json: str | None = None) -> None:
        """Keep the case's notes and the filter its work used."""
        notes = None if notes is None else text_only(str(notes), "case note")
        with self._write("cannot update the case") as s:
            row = s.get(CaseRow, self._case_id(s, name))
            if notes is not None:
                row.notes = notes
            if filter_json is not None:
                row.filter_json = filter_json

    def track_pk(self, video_id: int, track_id: int) -> int | None:
        """The key of a video's track by its number in the video (as search and export show it)."""
        with self._read() as s:
            return s.scalar(
                select(TrackRow.id).where(TrackRow.video_id == video_id, TrackRow.track_id == track_id)
            )

    @staticmethod
    def _case_id(s: Session, name: str, lock: bool = False) -> int:
        """The case's key; with ``lock``, its row is held until the transaction ends (PostgreSQL: one
        mark or import of marks at a time on a case)."""
        name = clean_name(name, MAX_CASE_NAME, "case")  # an empty name is refused, not suggested to case new
        query = select(CaseRow.id).where(CaseRow.name == name)
        found = s.scalar(query.with_for_update() if lock else query)
        if found is None:
            raise StorageError(f"no case named {name!r} (create it with: case new {name!r} --query PHOTO)")
        return int(found)


def _refuse_taken(s: Session, name: str) -> None:
    if s.scalar(select(CaseRow.id).where(CaseRow.name == name)) is not None:
        raise StorageError(f"a case named {name!r} already exists (case show {name!r})")
