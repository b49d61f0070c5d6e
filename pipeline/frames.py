"""Random access to the frames of a video, exact to the frame, for a player and for thumbnails.

Playing forward decodes the next frame without seeking. A jump further than ``SEEK_AHEAD`` frames (or
backwards) seeks to the last key frame at or before the target, found in the video's seek table
(recorded when it was indexed, else read from the file's packets once, without decoding), checks that
the decoder landed on it, and decodes forward: the cost of a jump is bounded by the key-frame spacing,
not by the position in the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from pipeline.decoding import Decoded, ThreadedDecoder
from pipeline.errors import VideoError
from pipeline.image_sequence import image_at
from pipeline.keyframes import scan_keyframes
from pipeline.video import VideoInfo, probe

log = logging.getLogger(__name__)

SEEK_AHEAD = 90  # frames decoded forward at most before a jump seeks instead


class FrameSource:
    """Decodes frames of one video by index. Not thread-safe: one per thread."""

    def __init__(
        self, path: str | Path, seek_table: Sequence[tuple[int, int]] | None = None, indexed_frames: int = 0
    ):
        """``seek_table`` and ``indexed_frames``: the video's key frames and frame count as recorded
        when it was indexed, where it was (a Matroska or MPEG-TS file declares a span, not a count:
        the count guessed from it is replaced by the one indexed)."""
        self.info: VideoInfo = probe(path)
        self._table = list(seek_table) if seek_table else None
        self._frames: Iterator[Decoded] | None = None
        self._next = 0  # index of the frame the open decoder yields next
        self._count = self.info.frame_count
        if self.info.declared_s:
            self._count = indexed_frames or self._count

    @property
    def frame_count(self) -> int:
        """Frames of the video: its own count, or for a count guessed from a span, the one indexed
        (without one, frames past the guess are still decoded when asked for)."""
        return self._count

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def seek_table(self) -> list[tuple[int, int]]:
        if self.info.images is not None:
            return []
        if self._table is None:
            self._table = scan_keyframes(self.info.path)
        return self._table

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()  # type: ignore[attr-defined]
            self._frames = None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_at(self, index: int) -> None:
        self.close()
        info = self.info
        decoder = ThreadedDecoder(info.path, index, self.seek_table, info.origin_pts, threaded=False)
        self._frames = iter(decoder)
        self._next = -1  # unknown until the first frame arrives

    def frame(self, index: int) -> np.ndarray:
        """BGR image of frame ``index`` (0-based); :class:`VideoError` past the end or on damage."""
        if index < 0 or (self._count and index >= self._count and not self.info.declared_s):
            raise VideoError(f"{self.info.path}: frame {index} is outside 0..{self._count - 1}")
        if self.info.images is not None:  # a folder of images: each frame is a file
            image = image_at(self.info.images, index, (self.info.width, self.info.height))
            if image is None:
                raise VideoError(f"{self.info.images.files[index]}: image does not decode")
            return image
        if self._frames is None or index < self._next or index - self._next > SEEK_AHEAD:
            self._open_at(index)
        assert self._frames is not None
        for d in self._frames:
            self._next = d.index + 1
            if d.index == index:
                return d.bgr((self.info.width, self.info.height))
            if d.index > index:
                break
        self.close()
        raise VideoError(f"{self.info.path}: frame {index} does not decode")
