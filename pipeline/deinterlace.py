"""Interlaced footage seen as whole pictures: FFmpeg's ``idet`` and ``bwdif`` over the decoded frames.

An analogue camera behind a DVR (D1, 960H) and some HD cameras (1080i) record two half-pictures per
frame, its even and its odd lines, 1/50 or 1/60 s apart, and store them woven together: whatever
moves is drawn twice, its edges combed. The detector and the ReID model never saw such pictures.
Measured with a one-off script (fields woven from consecutive frames of the dev sequences, the same
query photos), retrieval F1 progressive / woven before / woven now: ADL-Rundle-6 0.644 / 0.462 /
0.655 (the stream flagged interlaced), 0.521 / 0.634 (not flagged); TUD-Campus 0.828 / 0.561 /
0.791, 0.683 / 0.794.

Many DVRs do not say so: they encode the woven picture as if it were progressive. So every frame
passes through FFmpeg's ``idet`` first, which looks for combing (a line that matches its field's
neighbours better than the other field's) and, from several frames in a row, flags the frame
interlaced or progressive (a frame it cannot tell keeps the stream's own flag); then the flagged
frames go through ``bwdif``: motion adaptive, still parts keep every line and moving parts are filled
from their own field; one picture out per frame in (``send_frame``), so a frame keeps its index, time
and key-frame flag. Both look at neighbouring frames, so every decoded frame passes through them in
order, skipped ones included (in the decoding thread). A progressive frame comes out as decoded.
Costs, measured on ADL-Rundle-6 (1080p): ``idet`` too little to tell from decoding's own spread;
``bwdif`` about 1 ms per deinterlaced frame. ``idet`` flagged no frame of PETS09-S2L1, TUD-Campus or
ADL-Rundle-6 (nor of their moved, cropped and enlarged variants), and every frame of the same woven
with or without the flag. After a seek it needs a few frames to decide: the first frames of a clip
or a player's jump into unflagged woven footage may still show combing. A graph FFmpeg cannot build
(a pixel format these filters do not take) leaves the frames as decoded. A picture of no more lines
than one field (``FIELD_LINES``) is not checked.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING

import av

from models.errors import first_line

if TYPE_CHECKING:
    from pipeline.decoding import Decoded

log = logging.getLogger(__name__)

DETECT = "idet"  # FFmpeg's interlacing detector: sets each frame's interlaced flag from its content
FILTER = "bwdif"
FILTER_ARGS = "mode=send_frame:parity=auto:deint=interlaced"  # one picture per frame; flagged frames only
REASON_CHARS = 160  # the most of FFmpeg's own message quoted in ours
WOVEN = ("tff", "bff")  # idet's decisions that a frame is interlaced (top or bottom field first)
# The most lines of one field of any interlaced format (PAL's 576 / 2). A picture of no more lines is
# one field (CIF, a DVR's sub-stream) or a thumbnail, never two fields woven, and idet's statistics
# over so few lines are noise: a 16x16 video was flagged interlaced in every frame. Not checked.
FIELD_LINES = 288


class _Deinterlacer:
    """One filter graph for frames of one size and pixel format."""

    def __init__(self, frame: av.VideoFrame):
        self.shape = _shape(frame)
        graph = av.filter.Graph()
        source = graph.add_buffer(
            width=frame.width,
            height=frame.height,
            format=frame.format,
            time_base=frame.time_base or Fraction(1, 90000),
        )
        detect, node, sink = graph.add(DETECT), graph.add(FILTER, FILTER_ARGS), graph.add("buffersink")
        source.link_to(detect)
        detect.link_to(node)
        node.link_to(sink)
        graph.configure()
        self.graph = graph
        self.waiting: deque[Decoded] = deque()  # frames pushed whose picture has not come out yet
        self.made_whole = 0  # frames that came out deinterlaced

    def push(self, d: Decoded | None) -> list[Decoded]:
        """Feed one frame (None: the end); the frames whose pictures are ready, in order. On an
        FFmpeg error the frames held back come as decoded and the error is raised with them."""
        try:
            self.graph.push(d.frame if d is not None else None)
        except av.error.FFmpegError as e:
            raise FilterFailedError([*self.waiting, *([d] if d is not None else [])]) from e
        if d is not None:
            self.waiting.append(d)
        ready = []
        while self.waiting:
            try:
                picture = self.graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
            except av.error.FFmpegError as e:
                raise FilterFailedError([*ready, *self.waiting]) from e
            d_in = self.waiting.popleft()
            self.made_whole += _woven(picture, d_in.frame)
            ready.append(dataclasses.replace(d_in, frame=picture))
        if d is None:  # whatever the filter kept back comes as decoded
            ready.extend(self.waiting)
            self.waiting.clear()
        return ready


class FilterFailedError(Exception):
    """The filter failed; ``frames`` are those it held, to be used as decoded."""

    def __init__(self, frames: list[Decoded]):
        super().__init__("deinterlacing failed")
        self.frames = frames


def _woven(picture: av.VideoFrame, decoded: av.VideoFrame) -> bool:
    """Whether ``picture`` was deinterlaced: idet found the frame woven, or could not tell and the
    stream flagged it so."""
    found = picture.metadata.get(f"lavfi.{DETECT}.multiple.current_frame", "undetermined")
    return found in WOVEN or (found == "undetermined" and bool(decoded.interlaced_frame))


def _shape(frame: av.VideoFrame) -> tuple[int, int, str]:
    return frame.width, frame.height, frame.format.name


def deinterlaced(frames: Iterator[Decoded], counter: list[int] | None = None) -> Iterator[Decoded]:
    """``frames`` with the interlaced ones deinterlaced (see the module); ``counter[0]`` counts them."""
    filt: _Deinterlacer | None = None
    broken = False
    counter = counter if counter is not None else [0]
    for d in frames:
        try:
            if filt is not None and _shape(d.frame) != filt.shape:  # the picture changed size part-way
                yield from _count(filt, filt.push(None), counter)
                filt = None
            if broken or d.frame.height <= FIELD_LINES:
                yield d
                continue
            if filt is None:
                filt = _Deinterlacer(d.frame)
            ready = filt.push(d)
        except (FilterFailedError, av.error.FFmpegError, ValueError) as e:
            level = logging.WARNING if d.frame.interlaced_frame or counter[0] else logging.INFO
            log.log(level, "cannot check for interlacing (%s); frames kept as decoded", ffmpeg_reason(e))
            held = e.frames if isinstance(e, FilterFailedError) else [d]
            broken, filt = True, None
            yield from held if any(h is d for h in held) else [*held, d]
            continue
        yield from _count(filt, ready, counter)
    if filt is not None:
        try:
            yield from _count(filt, filt.push(None), counter)
        except FilterFailedError as e:
            log.warning("cannot deinterlace (%s); frames kept as decoded", ffmpeg_reason(e))
            yield from e.frames


def _count(filt: _Deinterlacer, ready: list[Decoded], counter: list[int]) -> list[Decoded]:
    counter[0] += filt.made_whole
    filt.made_whole = 0
    return ready


def ffmpeg_reason(e: BaseException) -> str:
    """One short line of why FFmpeg (or a filter made of it) failed, for our own messages."""
    return first_line(e.__cause__ if isinstance(e, FilterFailedError) and e.__cause__ else e, REASON_CHARS)
