"""Which track of this library a case file's mark is about: the same person, told by their boxes.

A case file names a marked track by its video's content and its track number, and carries the
track's boxes. Track numbers are not stable: the same video indexed with other settings (another
stride, input size or model) numbers its tracks otherwise, so the same number can be another person
(a helper's sweep: TUD-Campus indexed twice, 3 of 11 numbers were other people, and a confirmation
landed on the person the case had rejected). A mark is therefore attached to the track of the same
video whose boxes agree with the marked ones (IoU of at least ``MIN_BOX_IOU``, the track's box
interpolated at each marked frame) on at least ``MIN_SPAN_OVERLAP`` of the marked frames: the best
such track, whatever its number, else none (the mark is left out and counted). Its span may be
longer than the marked one: a run that joined the person's fragments into one track shows them all
(a sweep: a mark on a fragment of 14 frames was dropped when the new run's track of the same person
ran 31 frames, as the spans had to overlap by half of the longer). A file written before boxes were
kept is matched by number and span (overlapping by that share of the longer), as then.

The same rule keeps the marks of a video indexed again (:func:`drop_stale`): a track of the first run
that the new run did not find again by its start (``pipeline.storage.replacing``: another model or
setting split or joined it otherwise) hands its marks to the new track that shows the same person;
only marks with no such track are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.boxes import iou_matrix
from pipeline.storage import Library, TrackInfo
from pipeline.types import PATH_FRAME, PATH_X1, PATH_Y2, box_at

MIN_SPAN_OVERLAP = 0.5
"""Share of the marked frames the boxes must agree on; for a file written before boxes were kept,
the share of the longer span the two spans must share (the same track by number and span)."""
MIN_BOX_IOU = 0.5  # the marked box and the track's box at a frame show the same person


def boxes_of(path: np.ndarray) -> list[list[float]]:
    """A track's boxes for a case file: [frame, x1, y1, x2, y2] per observed frame (pixels, 0.1)."""
    return [[int(row[PATH_FRAME]), *(round(float(v), 1) for v in row[PATH_X1 : PATH_Y2 + 1])] for row in path]


def same_span(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two frame spans overlap by ``MIN_SPAN_OVERLAP`` of the longer."""
    overlap = min(a[1], b[1]) - max(a[0], b[0]) + 1
    return overlap >= MIN_SPAN_OVERLAP * max(a[1] - a[0] + 1, b[1] - b[0] + 1)


def same_person(marked: np.ndarray, span: tuple[int, int], tracks: Sequence[TrackInfo]) -> TrackInfo | None:
    """The track whose boxes agree with the marked boxes ((N, 5): frame, x1, y1, x2, y2) best, by the
    rule of the module docstring; None when none does."""
    best, most = None, 0
    for t in tracks:
        if t.last_frame < span[0] or t.first_frame > span[1]:
            continue
        agree = 0
        for row in marked:
            box = box_at(t.path, int(row[0]))
            agree += box is not None and iou_matrix(row[None, 1:5], box[None])[0, 0] >= MIN_BOX_IOU
        if agree >= MIN_SPAN_OVERLAP * len(marked) and agree > most:
            best, most = t, agree
    return best


def drop_stale(library: Library, video_id: int) -> str:
    """Remove the tracks of a video that a run indexing it again did not find again, their review
    marks moved first to the new tracks that show the same person (:func:`same_person`); what the
    cases gained or lost ('' when nothing)."""
    stale, marked = library.stale_keys(video_id)
    moved = removed = 0
    if marked:
        tracks = library.video_tracks(video_id)
        current = [t for t in tracks if t.pk not in stale]
        moves = {}
        for t in tracks:
            if t.pk in marked:
                found = same_person(np.asarray(boxes_of(t.path)), (t.first_frame, t.last_frame), current)
                if found is not None:
                    moves[t.pk] = found.pk
        moved, removed = library.move_marks(moves) if moves else (0, 0)
    dropped = library.drop_stale(video_id)
    kept = f"{moved} review mark(s) moved to the new tracks of the same people" if moved else ""
    had = f"{removed} not moved: their case had marked the same person's new track already" if removed else ""
    return "; ".join(part for part in (kept, had, dropped) if part)
