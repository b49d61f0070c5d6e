"""Reading what the library knows of its videos: the list, a video's identity when it was indexed,
its key frames, its id by path."""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import func, select

from pipeline.file_names import is_text
from pipeline.storage.base import LibraryBase
from pipeline.storage.schema import TrackRow, VideoRow
from pipeline.types import VideoSummary


class VideoIdentity(NamedTuple):
    """What identified a video's content when it was indexed."""

    path: str
    size: int
    mtime: float
    fingerprint: str  # cheap: size, ends and sampled blocks (a folder's: see image_sequence)
    content_sha256: str
    aliases: tuple[str, ...]  # other paths found with the same content
    frame_size: tuple[int, int]  # (width, height) the frames were indexed at


class VideoReads(LibraryBase):
    """The library's reads of its video rows."""

    def videos(self) -> list[VideoSummary]:
        """Every video, in the order added; one left "indexing" says whether an indexer holds it now."""
        with self._read() as s:
            counts = dict(
                s.execute(select(TrackRow.video_id, func.count()).group_by(TrackRow.video_id)).all()
            )
            rows = s.scalars(select(VideoRow).order_by(VideoRow.id)).all()
            found = [
                VideoSummary(
                    v.id,
                    v.path,
                    v.status,
                    v.fps,
                    v.frame_count,
                    v.frames_done,
                    v.duration_s,
                    v.width,
                    v.height,
                    counts.get(v.id, 0),
                    v.message,
                    (v.detector_id, v.reid_id),
                    v.report_json or "{}",
                    tuple(json.loads(v.aliases_json or "[]")),
                    v.camera,
                    v.start_time,
                )
                for v in rows
            ]
        return [
            replace(v, running=self.being_indexed(Path(v.path))) if v.status == "indexing" else v
            for v in found
        ]

    def video_identity(self, video_id: int) -> VideoIdentity | None:
        """What identified the video's content when it was indexed (see :class:`VideoIdentity`)."""
        with self._read() as s:
            row = s.get(VideoRow, video_id)
            if row is None:
                return None
            aliases = tuple(json.loads(row.aliases_json or "[]"))
            return VideoIdentity(
                row.path,
                row.size,
                row.mtime,
                row.fingerprint,
                row.content_sha256,
                aliases,
                (row.width, row.height),
            )

    def folder_timing(self, video_id: int) -> bool | None:
        """How a folder of images was timed when it was indexed, as the checkpoint kept for it says:
        by its images' own times (True), or all by name a second apart (False, some image had no
        time); None when not known (a video, a run that has not said it)."""
        with self._read() as s:
            blob = s.scalar(select(VideoRow.checkpoint).where(VideoRow.id == video_id))
        if not blob:
            return None
        timed = json.loads(zlib.decompress(blob)).get("timed")
        return None if timed is None else bool(timed)

    def seek_table(self, video_id: int) -> list[tuple[int, int]] | None:
        """Key frames ``(frame index, pts)`` recorded when the video was indexed (None if unknown)."""
        with self._read() as s:
            raw = s.scalar(select(VideoRow.seek_json).where(VideoRow.id == video_id))
        if not raw:
            return None
        return [(int(i), int(p)) for i, p in json.loads(raw)]

    def indexed_frames(self, video_id: int) -> int:
        """How many frames the video had as it was indexed (counted as they decoded; 0: unknown)."""
        with self._read() as s:
            return int(s.scalar(select(VideoRow.frame_count).where(VideoRow.id == video_id)) or 0)

    def video_id(self, path: str | Path) -> int | None:
        """The library's video at ``path``; None for none, and for a name that is not text (such a
        video is never indexed: see :mod:`pipeline.file_names`)."""
        if not is_text(str(path)):
            return None
        with self._read() as s:
            return s.scalar(
                select(VideoRow.id).where(VideoRow.path == str(Path(path).expanduser().resolve()))
            )
