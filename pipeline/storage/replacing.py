"""Indexing a video again without losing what it had: old tracks are set aside, not deleted.

``index --force``, a switch of models or settings, or a run restarted after a failure makes a video's
tracks anew from the same file. Deleting the old ones when such a run starts left, until it ended, a
library without them (a Ctrl-C part-way kept none), and took the cases' review marks with them even
where the new run found exactly the same people. Instead, the old tracks are marked ``stale`` when
the run starts and stay searchable; each new track that begins as an old one did (same number, same
first frame, nearly the same first box: the tracker is deterministic, so a re-run finds most tracks
again) takes its place (its key, and so the marks and saved hits on it, kept); an old track whose
number a different new track takes is dropped then; the rest go when the run is done, and the marks
on them are named. A stale track's person chain is moved out of the way of the new ones (negative),
so that a search part-way never joins an old chain to a new one.

A changed file is not handled so: its old tracks describe another recording and are deleted when
the new run starts (``Library.start_video``).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models.boxes import iou_matrix
from pipeline.storage.base import GEN_REMOVED, LibraryBase
from pipeline.storage.embedding_reads import IDS_PER_QUERY
from pipeline.storage.schema import CaseMarkRow, CaseRow, TrackRow
from pipeline.types import PATH_COLUMNS

# how alike the first boxes of an old and a new track with the same number and first frame must be
# for the new one to be the same person found again: a re-run on the same machine gives the same
# box to the bit, one on other hardware or precision within a pixel or two
SAME_START_MIN_IOU = 0.9
FIRST_ROW_BYTES = PATH_COLUMNS * 8  # a stored path's first observation (float64 row)


def same_start(old: tuple[int, bytes], new: tuple[int, bytes]) -> bool:
    """Whether two tracks (first frame, path bytes) of one video with the same number begin alike."""
    if old[0] != new[0] or len(old[1]) < FIRST_ROW_BYTES or len(new[1]) < FIRST_ROW_BYTES:
        return False
    a = np.frombuffer(old[1][:FIRST_ROW_BYTES], np.float64)[2:6]
    b = np.frombuffer(new[1][:FIRST_ROW_BYTES], np.float64)[2:6]
    return bool(iou_matrix(a, b)[0, 0] >= SAME_START_MIN_IOU)


def marks_on(s: Session, where: object) -> tuple[int, str]:
    """How many review marks the tracks matching ``where`` carry, and the cases ('a', 'b')."""
    rows = s.execute(
        select(CaseRow.name, func.count())
        .join(CaseMarkRow, CaseMarkRow.case_id == CaseRow.id)
        .join(TrackRow, TrackRow.id == CaseMarkRow.track_pk)
        .where(where)
        .group_by(CaseRow.name)
    ).all()
    return sum(n for _, n in rows), ", ".join(f"{name!r}" for name, _ in sorted(rows))


class TrackReplacement(LibraryBase):
    @staticmethod
    def _set_aside(s: Session, video_id: int) -> str:
        """Mark a video's tracks stale at the start of a run that makes them anew; what the start
        reason adds."""
        fresh = (TrackRow.video_id == video_id) & TrackRow.stale.is_(False)
        person = -1 - func.coalesce(TrackRow.person, TrackRow.track_id)
        s.execute(update(TrackRow).where(fresh).values(stale=True, person=person))
        n, cases = marks_on(s, TrackRow.video_id == video_id)
        said = "; what was indexed stays searchable until this run replaces it"
        if n:
            said += f", and the {n} review mark(s) in case(s) {cases} stay on the tracks it finds again"
        return said

    @staticmethod
    def _stored_tracks(s: Session, video_id: int, numbers: list[int]) -> dict[int, tuple]:
        """{track number: (key, stale, first frame, path)} of those of ``numbers`` the video has."""
        out: dict[int, tuple] = {}
        for k in range(0, len(numbers), IDS_PER_QUERY):
            page = numbers[k : k + IDS_PER_QUERY]
            cols = (TrackRow.track_id, TrackRow.id, TrackRow.stale, TrackRow.first_frame, TrackRow.path)
            q = select(*cols).where(TrackRow.video_id == video_id, TrackRow.track_id.in_(page))
            out.update((row[0], tuple(row[1:])) for row in s.execute(q).all())
        return out

    def _kept_keys(self, s: Session, video_id: int, incoming: dict[int, tuple[int, bytes]]) -> tuple:
        """Of the tracks about to be stored ({number: (first frame, path bytes)}), those that replace
        a stored track in place, as {number: key}, and how many of them were stored by this run
        (fresh, not stale: a track continued when a folder gained images). A stale track under a
        number that begins otherwise now is another person: it is deleted here."""
        stored = self._stored_tracks(s, video_id, list(incoming))
        kept, continued, other = {}, 0, []
        for number, (pk, stale, first, path) in stored.items():
            if not stale:
                kept[number], continued = pk, continued + 1
            elif same_start((first, path), incoming[number]):
                kept[number] = pk
            else:
                other.append(pk)
        for k in range(0, len(other), IDS_PER_QUERY):
            s.execute(delete(TrackRow).where(TrackRow.id.in_(other[k : k + IDS_PER_QUERY])))
        if kept or other:
            self._bump(s, GEN_REMOVED)
        return kept, continued

    def drop_stale(self, video_id: int) -> str:
        """Delete the tracks of a finished run's video that it did not find again; what that took
        from the cases ('' when nothing)."""
        stale = (TrackRow.video_id == video_id) & TrackRow.stale.is_(True)
        with self._write("cannot remove the tracks that indexing again did not find") as s:
            n, cases = marks_on(s, stale)
            if s.execute(delete(TrackRow).where(stale)).rowcount:
                self._bump(s, GEN_REMOVED)
        if not n:
            return ""
        return f"{n} review mark(s) in case(s) {cases} dropped: their tracks were not found again"
