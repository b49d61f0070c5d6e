"""Indexing a video again without losing what it had: old tracks are set aside, not deleted.

``index --force``, a switch of models or settings, or a run restarted after a failure makes a video's
tracks anew from the same file (or from a folder of snapshots that has only gained images). Deleting
the old ones when such a run starts left, until it ended, a library without them (a Ctrl-C part-way
kept none), and took the cases' review marks with them even where the new run found exactly the
same people. Instead, the old tracks are marked ``stale`` when the run starts and stay searchable;
each new track that begins as an old one did (same first frame, nearly the same first box: the same
person at the moment a track was born; the tracker is deterministic, so a re-run finds most tracks
again, though under other numbers once one track split or joined otherwise), and lasts about as
long, takes its place (its key, and so the marks and saved hits on it, kept); the rest go when the
run is done, and the marks on them are named. A stale track whose number a new track takes is
renumbered above every number the video holds meanwhile, and a stale track's person chain is moved
out of the way of the new ones and of any earlier stale ones (below zero), so that a search part-way
never joins two runs' chains (it may show a person twice where the two runs cut tracks differently,
until the run ends). Part-way, a track not yet replaced is searched with the model it was indexed
with, one replaced with the run's.

A changed file is not handled so: its old tracks describe another recording and are deleted when
the new run starts (``Library.start_video``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models.boxes import iou_matrix
from pipeline.storage.base import GEN_REMOVED, LibraryBase
from pipeline.storage.embedding_reads import IDS_PER_QUERY
from pipeline.storage.schema import CaseMarkRow, CaseRow, TrackRow
from pipeline.types import PATH_COLUMNS

# how alike the first boxes of an old and a new track with the same first frame must be
# for the new one to be the same person found again: a re-run on the same machine gives the same
# box to the bit, one on other hardware or precision within a pixel or two
SAME_START_MIN_IOU = 0.9
# how alike in length (frames from first to last) an old track and a new one that begins as it did
# must be to be the same track found again, the shorter over the longer: a run with another model
# may end a track sooner (a piece of the old one) or carry it on (the old one and the next joined),
# and the marks and saved hits on the old track then describe frames the new one does not show
SAME_SPAN_MIN_SHARE = 0.8
FIRST_ROW_BYTES = PATH_COLUMNS * 8  # a stored path's first observation (float64 row)


def same_start(old: tuple[int, bytes], new: tuple[int, bytes]) -> bool:
    """Whether two tracks (first frame, path bytes) of one video begin alike: the same detection."""
    if old[0] != new[0] or len(old[1]) < FIRST_ROW_BYTES or len(new[1]) < FIRST_ROW_BYTES:
        return False
    a = np.frombuffer(old[1][:FIRST_ROW_BYTES], np.float64)[2:6]
    b = np.frombuffer(new[1][:FIRST_ROW_BYTES], np.float64)[2:6]
    return bool(iou_matrix(a, b)[0, 0] >= SAME_START_MIN_IOU)


def lasts_alike(old: bytes, new: bytes) -> bool:
    """Whether two tracks (path bytes) span about as many frames (``SAME_SPAN_MIN_SHARE``)."""
    spans = []
    for path in (old, new):
        rows = np.frombuffer(path, np.float64).reshape(-1, PATH_COLUMNS)
        spans.append(float(rows[-1, 0] - rows[0, 0]) + 1.0)
    return min(spans) >= SAME_SPAN_MIN_SHARE * max(spans)


def match_stored(
    stored: Sequence[tuple[int, int, bool, int, bytes]], incoming: Mapping[int, tuple[int, bytes]]
) -> dict[int, int]:
    """Which stored tracks (key, number, stale, first frame, path bytes) the incoming ones ({number:
    (first frame, path bytes)}) are, as {incoming number: stored key}: a current track under the
    same number that begins alike (the same track, continued: a resumed run, a folder that gained
    images); a stale one that begins alike under any number and lasts about as long (found again
    by a run indexing the video again: once one track of the first run split or joined otherwise,
    every later number shifts), the same number preferred. Each stored track is taken once."""
    current = {n: (pk, first, path) for pk, n, stale, first, path in stored if not stale}
    stale_at: dict[int, list[tuple[int, int, bytes]]] = {}
    for pk, n, stale, first, path in stored:
        if stale:
            stale_at.setdefault(first, []).append((pk, n, path))
    out: dict[int, int] = {}
    for number, (first, path) in incoming.items():
        same = current.get(number)
        if same is not None and same_start(same[1:], (first, path)):
            out[number] = same[0]
    taken = set(out.values())
    for number, (first, path) in incoming.items():
        if number in out:
            continue
        found = [
            (n == number, pk)
            for pk, n, old in stale_at.get(first, [])
            if pk not in taken and same_start((first, old), (first, path)) and lasts_alike(old, path)
        ]
        if found:
            out[number] = max(found)[1]
            taken.add(out[number])
    return out


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
        # below every chain the video holds (a stale one from an earlier run cancelled among them)
        low = min(0, s.scalar(select(func.min(TrackRow.person)).where(TrackRow.video_id == video_id)) or 0)
        person = low - 1 - func.coalesce(TrackRow.person, TrackRow.track_id)
        s.execute(update(TrackRow).where(fresh).values(stale=True, person=person))
        n, cases = marks_on(s, TrackRow.video_id == video_id)
        said = "; what was indexed stays searchable until this run replaces it"
        if n:
            said += f", and the {n} review mark(s) in case(s) {cases} stay on the tracks it finds again"
        return said

    def _kept_keys(self, s: Session, video_id: int, incoming: dict[int, tuple[int, bytes]]) -> tuple:
        """Of the tracks about to be stored ({number: (first frame, path bytes)}), those that replace
        a stored track in place, as {number: key} (see :func:`match_stored`), and how many of them
        were stored by this run (not stale: a track continued when a folder gained images). Stored
        tracks that hold an incoming number are moved out of its way: a stale one is renumbered
        (above every number the video holds) until it is found again or dropped, a current one is
        deleted (another track under its number replaces it)."""
        numbers, firsts = list(incoming), sorted({first for first, _ in incoming.values()})
        cols = (TrackRow.id, TrackRow.track_id, TrackRow.stale, TrackRow.first_frame, TrackRow.path)
        rows: dict[int, tuple] = {}
        for k in range(0, max(len(numbers), len(firsts)), IDS_PER_QUERY):
            # two lookups, each on an index of its own ((video, number) and (video, first frame)):
            # joined by OR, SQLite read every track of the video at every chunk
            for where in (
                TrackRow.track_id.in_(numbers[k : k + IDS_PER_QUERY]),
                TrackRow.first_frame.in_(firsts[k : k + IDS_PER_QUERY]) & TrackRow.stale.is_(True),
            ):
                q = select(*cols).where(TrackRow.video_id == video_id, where)
                rows.update((row[0], tuple(row)) for row in s.execute(q).all())
        kept = match_stored(list(rows.values()), incoming)
        keys = set(kept.values())
        park = sorted(pk for pk, n, stale, _, _ in rows.values() if stale and (pk in keys or n in incoming))
        gone = [pk for pk, n, stale, _, _ in rows.values() if not stale and n in incoming and pk not in keys]
        if park:  # above every number the video holds or takes now, each parked track its own
            high = s.scalar(select(func.max(TrackRow.track_id)).where(TrackRow.video_id == video_id))
            high = max(high or 0, *incoming)
            for k, pk in enumerate(park):
                s.execute(update(TrackRow).where(TrackRow.id == pk).values(track_id=high + 1 + k))
        for k in range(0, len(gone), IDS_PER_QUERY):
            s.execute(delete(TrackRow).where(TrackRow.id.in_(gone[k : k + IDS_PER_QUERY])))
        if kept or gone:
            self._bump(s, GEN_REMOVED)
        return kept, sum(1 for pk in keys if not rows[pk][2])

    def stale_keys(self, video_id: int) -> tuple[set[int], set[int]]:
        """The keys of a video's stale tracks, and of those of them that carry review marks."""
        stale = (TrackRow.video_id == video_id) & TrackRow.stale.is_(True)
        with self._read() as s:
            keys = set(s.scalars(select(TrackRow.id).where(stale)).all())
            marked = (
                select(CaseMarkRow.track_pk).join(TrackRow, TrackRow.id == CaseMarkRow.track_pk).where(stale)
            )
            return keys, set(s.scalars(marked.distinct()).all())

    def move_marks(self, moves: Mapping[int, int]) -> tuple[int, int]:
        """Move the review marks on tracks to others ({from key: to key}), in one transaction; where a
        case has a mark on the target already (its own, or one moved there first), that one stays and
        the other is removed. How many marks were moved, and how many removed so."""
        moved = removed = 0
        with self._write("cannot move the review marks to the tracks found again") as s:
            for old, new in sorted(moves.items()):
                for mark in s.scalars(select(CaseMarkRow).where(CaseMarkRow.track_pk == old)).all():
                    taken = select(CaseMarkRow.id).where(
                        CaseMarkRow.case_id == mark.case_id, CaseMarkRow.track_pk == new
                    )
                    if s.scalar(taken) is None:
                        mark.track_pk = new
                        moved += 1
                    else:
                        s.delete(mark)
                        removed += 1
                    s.flush()
        return moved, removed

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
