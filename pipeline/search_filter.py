"""Search filters: some cameras, a wall-clock time window, a region of the frame, some videos.

A filter decides the *candidate set*: the vector index is searched over the allowed tracks only
(FAISS's ID selector, a bitmap over track keys), so a narrow filter still gets its best matches
rather than what is left of the library's best after hiding rows. Which tracks are allowed is
computed on an in-memory table of every track's video and time span (read once per library change,
as the vector index is), with array operations: at a million tracks a filter costs milliseconds.

A track is inside a time window when any part of it is: its video's recording start plus its
``start_s``..``end_s`` overlaps ``start``..``end``. A video whose start is unknown has no place on the
clock, so a time window leaves it out (and says how many were left out).

A track is inside a region (video pixels) when one of its boxes overlaps it: the union of its boxes
(stored with the track) picks the candidates, and each candidate's own boxes decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from pipeline.errors import SearchError
from pipeline.file_names import normal_name
from pipeline.storage import Library
from pipeline.storage.clock import TrackTimes, VideoClock
from pipeline.types import elapsed_s, iso_time, overlapping


@dataclass(frozen=True)
class SearchFilter:
    """cameras: only these cameras (names as listed by ``videos``); empty: all.
    start, end: only tracks seen between these wall-clock times (naive local time; either may be None).
    videos: only these video ids; empty: all.
    region: only tracks whose boxes enter this rectangle (x1, y1, x2, y2 in video pixels).
    """

    cameras: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    videos: tuple[int, ...] = ()
    region: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        # as camera names are kept (--camera 'café' typed either way, 'Gate  2' with two spaces)
        object.__setattr__(self, "cameras", tuple(dict.fromkeys(normal_name(c) for c in self.cameras)))
        if self.start is not None and self.end is not None and self.start > self.end:
            raise SearchError(f"the time window ends ({self.end}) before it starts ({self.start})")
        if self.region is not None:
            x1, y1, x2, y2 = (float(v) for v in self.region)
            if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or not (x1 < x2 and y1 < y2):
                raise SearchError(f"a region is X1,Y1,X2,Y2 with X1 < X2 and Y1 < Y2 (got {self.region})")

    @property
    def active(self) -> bool:
        return bool(self.cameras or self.videos) or self.timed or self.region is not None

    @property
    def timed(self) -> bool:
        return self.start is not None or self.end is not None


def filter_json(where: SearchFilter) -> dict:
    """The filter as recorded with a search (JSON-able)."""
    return {
        "cameras": list(where.cameras),
        "from": iso_time(where.start),
        "to": iso_time(where.end),
        "videos": list(where.videos),
        "region": list(where.region) if where.region is not None else None,
    }


def filter_from_json(doc: dict) -> SearchFilter:
    """The filter :func:`filter_json` wrote (an empty or unreadable one is no filter)."""
    from pipeline.cameras import parse_clock

    if not isinstance(doc, dict):
        return SearchFilter()
    try:
        region = doc.get("region")
        return SearchFilter(
            cameras=tuple(str(c) for c in doc.get("cameras") or ()),
            start=parse_clock(doc["from"]) if doc.get("from") else None,
            end=parse_clock(doc["to"]) if doc.get("to") else None,
            videos=tuple(int(v) for v in doc.get("videos") or ()),
            region=tuple(float(v) for v in region) if region else None,  # type: ignore[arg-type]
        )
    except (TypeError, ValueError, KeyError, SearchError):
        return SearchFilter()


FILTER_FIELDS = ("cameras", "from", "to", "videos", "region")  # what filter_json writes


def checked_filter(doc: dict) -> SearchFilter:
    """A filter from another place than this library (a case file), read strictly: SearchError naming
    the field for anything :func:`filter_from_json` would read as something else or drop (a string
    for the cameras split into letters, a time or region that does not read, a field this Spotter
    does not know), since each of these would search wider than the filter meant. ``videos`` are
    this library's ids (a case file maps its own first, :mod:`pipeline.case_filter`)."""
    from pipeline.cameras import parse_clock

    if not isinstance(doc, dict):
        raise SearchError("the filter is not an object")
    unknown = sorted(str(k) for k in doc if k not in FILTER_FIELDS)
    if unknown:
        raise SearchError(
            f"the filter has a field this Spotter does not apply: {', '.join(map(repr, unknown))}"
        )
    cameras, videos, region = doc.get("cameras") or [], doc.get("videos") or [], doc.get("region")
    if not isinstance(cameras, list) or not all(isinstance(c, str) and c for c in cameras):
        raise SearchError(f"the filter's cameras are not a list of names: {cameras!r}")
    if not isinstance(videos, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in videos
    ):
        raise SearchError(f"the filter's videos are not a list of video ids: {videos!r}")
    times = {}
    for key in ("from", "to"):
        text = doc.get(key)
        if text is not None and not isinstance(text, str):
            raise SearchError(f"the filter's {key!r} is not a date and time: {text!r}")
        try:
            times[key] = parse_clock(text) if text else None
        except ValueError as e:
            raise SearchError(f"the filter's {key!r}: {e}") from None
    if region is not None:
        numeric = isinstance(region, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in region
        )
        if not numeric or len(region) != 4:
            raise SearchError(f"the filter's region is not [x1, y1, x2, y2]: {region!r}")
    region = None if region is None else tuple(region)
    return SearchFilter(tuple(cameras), times["from"], times["to"], tuple(videos), region)


def filter_words(where: SearchFilter, paths: dict[int, str]) -> str:
    """The filter in words, as ``case show`` and a case report say it: videos by their ``paths`` (by
    video id), times in this computer's zone; ``""`` for none."""
    if not where.active:
        return ""
    said = []
    if where.cameras:
        said.append("cameras: " + ", ".join(where.cameras))
    if where.start is not None:
        said.append(f"from {where.start.astimezone():%Y-%m-%d %H:%M:%S %Z}")
    if where.end is not None:
        said.append(f"to {where.end.astimezone():%Y-%m-%d %H:%M:%S %Z}")
    if where.videos:
        named = (paths.get(v, f"video {v} (no longer in the library)") for v in where.videos)
        said.append("videos: " + ", ".join(named))
    if where.region is not None:
        x1, y1, x2, y2 = where.region
        said.append(f"region {x1:.0f},{y1:.0f} to {x2:.0f},{y2:.0f} (video pixels)")
    return "; ".join(said)


@dataclass(frozen=True)
class Allowed:
    """The tracks a filter lets a search see: their keys (sorted), and the videos a time window had
    to leave out because their start is unknown."""

    pks: np.ndarray
    videos_without_start: int = 0


@dataclass(frozen=True)
class ByVideo:
    """The track table grouped by video (then by key): each video's tracks are one slice, so a filter
    compares only the slices of the videos it allows, against that video's own window, with no
    per-track lookups. ``videos`` are the video ids in order, ``bounds[k]:bounds[k + 1]`` the rows
    of ``videos[k]``."""

    table: TrackTimes
    videos: np.ndarray
    bounds: np.ndarray

    @classmethod
    def of(cls, table: TrackTimes) -> ByVideo:
        order = np.lexsort((table.pks, table.video_ids))
        return cls._grouped(_rows(table, order))

    @classmethod
    def _grouped(cls, t: TrackTimes) -> ByVideo:
        """Group a table already ordered by (video, key)."""
        first = np.flatnonzero(np.diff(t.video_ids, prepend=-1))  # where each video's rows start
        return cls(t, t.video_ids[first], np.append(first, len(t.pks)))

    def plus(self, new: TrackTimes) -> ByVideo:
        """This table with tracks of larger keys added (each goes to the end of its video's rows),
        by one merge instead of sorting everything again."""
        if not len(new.pks):
            return self
        new = _rows(new, np.lexsort((new.pks, new.video_ids)))
        at = np.searchsorted(self.table.video_ids, new.video_ids, side="right")
        old = self.table
        return self._grouped(
            TrackTimes(
                np.insert(old.pks, at, new.pks),
                np.insert(old.video_ids, at, new.video_ids),
                np.insert(old.start_s, at, new.start_s),
                np.insert(old.end_s, at, new.end_s),
                np.insert(old.boxes, at, new.boxes, axis=0),
            )
        )

    @property
    def max_pk(self) -> int:
        return int(self.table.pks.max(initial=0))

    def rows(self, video: int) -> slice:
        k = int(np.searchsorted(self.videos, video))
        if k >= len(self.videos) or self.videos[k] != video:
            return slice(0, 0)
        return slice(int(self.bounds[k]), int(self.bounds[k + 1]))


def _rows(t: TrackTimes, order: np.ndarray) -> TrackTimes:
    return TrackTimes(t.pks[order], t.video_ids[order], t.start_s[order], t.end_s[order], t.boxes[order])


class TrackFilter:
    """Applies :class:`SearchFilter` to one library's tracks (keeps the track table between searches)."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._table: ByVideo | None = None
        self._gen: tuple[int, int] | None = None

    def table(self) -> ByVideo:
        """The track table grouped by video, brought up to date: tracks added since the last read are
        read and merged in (a library of ten million tracks is read whole in about 25 s, its new
        tracks in milliseconds); after a removal it is read again."""
        gen = self.library.generation()
        if self._table is not None and gen == self._gen:
            return self._table
        if self._table is None or self._gen is None or gen[1] != self._gen[1]:
            self._table = ByVideo.of(self.library.track_times())
        else:
            self._table = self._table.plus(self.library.track_times(after_pk=self._table.max_pk))
        self._gen = gen
        return self._table

    def allowed(self, where: SearchFilter, clocks: dict[int, VideoClock]) -> Allowed:
        """The tracks inside the filter; :class:`SearchError` for a camera the library does not have."""
        known = {normal_name(c.camera) for c in clocks.values()}  # a library from before names were kept so
        unknown = [c for c in where.cameras if c not in known]
        if unknown:
            names = ", ".join(sorted(k for k in known if k)) or "none"
            raise SearchError(
                f"no camera named {', '.join(map(repr, unknown))} in the library (cameras: {names})"
            )
        videos = set(clocks) if not where.videos else set(where.videos) & set(clocks)
        if where.cameras:
            videos = {v for v in videos if normal_name(clocks[v].camera) in where.cameras}
        without_start = 0
        if where.timed:
            without_start = sum(1 for v in videos if clocks[v].start is None)
            videos = {v for v in videos if clocks[v].start is not None}
        if where.region is not None and videos:
            x1, y1, x2, y2 = where.region
            sizes = self.library.frame_sizes()
            if x2 <= 0 or y2 <= 0 or all(x1 >= sizes[v][0] or y1 >= sizes[v][1] for v in videos):
                shown = ", ".join(sorted({f"{w}x{h}" for w, h in (sizes[v] for v in videos)}))
                raise SearchError(
                    f"the region {where.region} lies outside the frame of every video searched ({shown})"
                )
        grouped = self.table()
        t = grouped.table
        parts = []
        for v in sorted(videos):
            rows = grouped.rows(v)
            keep = np.ones(rows.stop - rows.start, bool)
            if where.timed:  # the window as seconds into this video
                start = clocks[v].start
                if where.start is not None:
                    keep &= t.end_s[rows] >= elapsed_s(start, where.start)
                if where.end is not None:
                    keep &= t.start_s[rows] <= elapsed_s(start, where.end)
            if where.region is not None:
                keep &= overlapping(t.boxes[rows], where.region)
            parts.append(t.pks[rows][keep])
        pks = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        if len(pks) > 1 and not (pks[1:] > pks[:-1]).all():  # videos whose keys interleave
            pks = np.sort(pks)
        return Allowed(pks, without_start)  # ascending
