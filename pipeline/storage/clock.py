"""Cameras and recording start times of the library's videos, and the track table that time and
camera filters select from (see :mod:`pipeline.cameras` for where the values come from)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.cameras import OPERATOR
from pipeline.errors import StorageError
from pipeline.storage.base import LibraryBase
from pipeline.storage.records import clean_name
from pipeline.storage.schema import CaseRow, TrackRow, VideoRow

MAX_CAMERA_NAME = 100  # characters


@dataclass(frozen=True)
class VideoClock:
    """A video's camera and recording start (naive local time; None when unknown)."""

    camera: str
    start: datetime | None
    camera_source: str = ""
    start_source: str = ""


@dataclass(frozen=True)
class TrackTimes:
    """Every track's key, video and time span (seconds into its video), as arrays."""

    pks: np.ndarray  # int64, ascending
    video_ids: np.ndarray  # int64
    start_s: np.ndarray  # float64
    end_s: np.ndarray  # float64
    boxes: np.ndarray  # (N, 4) float64: the union of each track's boxes, x1 y1 x2 y2


class CameraClock(LibraryBase):
    """Read and correct the videos' cameras and start times."""

    def record_clock_guess(
        self,
        video_id: int,
        path: str,
        camera: tuple[str, str],
        start: tuple[datetime | None, str],
    ) -> None:
        """Store what was found out about a video's camera and start ((value, source) each), except
        where the operator set it, and only on the row of this very path (not on a twin's)."""
        with self._write("cannot store the video's camera and start time") as s:
            row = s.get(VideoRow, video_id)
            if row is None or row.path != str(path):
                return
            if row.camera_source != OPERATOR:
                old = row.camera
                row.camera, row.camera_source = camera
                if old and old != row.camera:  # a better guess (a day's folder named no camera)
                    s.flush()
                    _cases_follow(s, old, row.camera, split=True)
            if row.start_source != OPERATOR:
                row.start_time, row.start_source = start

    def set_camera(self, video_id: int, name: str) -> list[str]:
        """The operator names the video's camera. Where that renames a camera (no video keeps the
        old name), the cases whose filter named it follow the rename: their names are returned (a
        sweep: a case filtered to camera 'Lobby' could not be refined or reported once its videos
        were named 'Entrance', and nothing could change the case's filter)."""
        name = clean_name(name, MAX_CAMERA_NAME, "camera")
        with self._write("cannot set the camera") as s:
            row = s.get(VideoRow, video_id)
            if row is None:
                raise StorageError(f"no video {video_id} in the library")
            old = row.camera
            s.execute(
                update(VideoRow).where(VideoRow.id == video_id).values(camera=name, camera_source=OPERATOR)
            )
            return _cases_follow(s, old, name)

    def set_start(self, video_id: int, when: datetime | None) -> None:
        """The operator sets (or, with None, clears) the video's recording start."""
        with self._write("cannot set the start time") as s:
            if s.get(VideoRow, video_id) is None:
                raise StorageError(f"no video {video_id} in the library")
            s.execute(
                update(VideoRow).where(VideoRow.id == video_id).values(start_time=when, start_source=OPERATOR)
            )

    def clocks(self) -> dict[int, VideoClock]:
        """Camera and start of every video, by video id."""
        cols = (
            VideoRow.id,
            VideoRow.camera,
            VideoRow.start_time,
            VideoRow.camera_source,
            VideoRow.start_source,
        )
        with self._read() as s:
            return {r[0]: VideoClock(*r[1:]) for r in s.execute(select(*cols)).all()}

    def cameras(self) -> list[str]:
        """The library's camera names, sorted."""
        with self._read() as s:
            return sorted(c for c in s.scalars(select(VideoRow.camera).distinct()).all() if c)

    def track_times(self, after_pk: int = 0) -> TrackTimes:
        """Every stored track's key, video, span and union box (a filter works on these), or only
        those with keys above ``after_pk`` (tracks added since an earlier read: a track's span and
        box never change once stored, and keys grow in commit order, see ``LibraryBase._bump``)."""
        cols = (
            TrackRow.id,
            TrackRow.video_id,
            TrackRow.start_s,
            TrackRow.end_s,
            TrackRow.box_x1,
            TrackRow.box_y1,
            TrackRow.box_x2,
            TrackRow.box_y2,
        )
        query = select(*cols).where(TrackRow.id > after_pk).order_by(TrackRow.id)  # keys ascending
        with self._read() as s:  # streamed into one array (np.array of a million row objects is slow)
            rows = s.execute(query)
            a = np.fromiter((x for row in rows for x in row), dtype=np.float64).reshape(-1, len(cols))
        return TrackTimes(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3], a[:, 4:8])

    def frame_sizes(self) -> dict[int, tuple[int, int]]:
        """(width, height) of every video's frames, by video id."""
        with self._read() as s:
            return {v: (w, h) for v, w, h in s.execute(select(VideoRow.id, VideoRow.width, VideoRow.height))}


def _cases_follow(s: Session, old: str, new: str, split: bool = False) -> list[str]:
    """Where no video keeps the camera name ``old`` (now ``new``), the cases whose filter named it
    follow the rename; their names. With ``split`` (a better guess for one video: one wrong name,
    'snapshot', may have stood for several cameras), a case filtered to ``old`` takes ``new`` in
    beside it while other videos keep ``old``, so that it ends with every camera the name split into
    (a review: it kept only the last one renamed)."""
    if not old or old == new:
        return []
    kept = s.scalar(select(VideoRow.id).where(VideoRow.camera == old).limit(1)) is not None
    if kept and not split:
        return []
    followed = []
    for case in s.scalars(select(CaseRow)).all():
        doc = json.loads(case.filter_json or "{}")  # pipeline.search_filter.filter_json's format
        cameras = doc.get("cameras") if isinstance(doc, dict) else None
        if isinstance(cameras, list) and old in cameras:
            named = [
                c for n in cameras for c in ((n, new) if n == old and kept else (new,) if n == old else (n,))
            ]
            doc["cameras"] = list(dict.fromkeys(named))
            case.filter_json = json.dumps(doc)
            followed.append(case.name)
    return followed
