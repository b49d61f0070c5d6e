"""Interlaced footage seen as whole pictures: FFmpeg's ``bwdif`` deinterlacer over the decoded frames.

An analogue camera behind a DVR (D1, 960H) and some HD cameras (1080i) record two half-pictures per
frame, its even and its odd lines, 1/50 or 1/60 s apart, and store them woven together: whatever
moves is drawn twice, its edges combed. The detector and the ReID model never saw such pictures.
Measured with a one-off script (fields woven from consecutive frames of the dev sequences, flagged
interlaced, the same query photos): retrieval F1 on ADL-Rundle-6 0.644 progressive, 0.462 woven,
0.666 deinterlaced; TUD-Campus 0.828, 0.561, 0.802.

Frames the stream flags as interlaced go through FFmpeg's ``bwdif`` (through PyAV's filter graph):
motion adaptive, still parts keep every line and moving parts are filled from their own field; one
picture out per frame in (``send_frame``), so a frame keeps its index, time and key-frame flag. It
looks at each frame's neighbours, so every decoded frame passes through it in order, skipped ones
included (in the decoding thread); progressive frames pass untouched, and a stream that flags none
never builds a filter. A filter FFmpeg cannot build (a pixel format ``bwdif`` does not take) leaves
the frames as decoded, with a warning.
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

FILTER = "bwdif"
FILTER_ARGS = "mode=send_frame:parity=auto:deint=interlaced"  # one picture per frame; flagged frames only


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
        node = graph.add(FILTER, FILTER_ARGS)
        sink = graph.add("buffersink")
        source.link_to(node)
        node.link_to(sink)
        graph.configure()
        self.graph = graph
        self.waiting: deque[Decoded] = deque()  # frames pushed whose picture has not come out yet

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
            ready.append(dataclasses.replace(self.waiting.popleft(), frame=picture))
        if d is None:  # whatever the filter kept back comes as decoded
            ready.extend(self.waiting)
            self.waiting.clear()
        return ready


class FilterFailedError(Exception):
    """The filter failed; ``frames`` are those it held, to be used as decoded."""

    def __init__(self, frames: list[Decoded]):
        super().__init__("deinterlacing failed")
        self.frames = frames


def _shape(frame: av.VideoFrame) -> tuple[int, int, str]:
    return frame.width, frame.height, frame.format.name


def deinterlaced(frames: Iterator[Decoded], counter: list[int] | None = None) -> Iterator[Decoded]:
    """``frames`` with the interlaced ones deinterlaced (see the module); ``counter[0]`` counts them."""
    filt: _Deinterlacer | None = None
    broken = False
    for d in frames:
        interlaced = bool(getattr(d.frame, "interlaced_frame", False))
        try:
            if filt is not None and _shape(d.frame) != filt.shape:  # the picture changed size part-way
                yield from filt.push(None)
                filt = None
            if filt is None and (not interlaced or broken):
                yield d
                continue
            if filt is None:
                filt = _Deinterlacer(d.frame)
            ready = filt.push(d)
        except (FilterFailedError, av.error.FFmpegError, ValueError) as e:
            log.warning("cannot deinterlace (%s); frames kept as decoded", _why(e))
            held = e.frames if isinstance(e, FilterFailedError) else [d]
            broken, filt = True, None
            yield from held if any(h is d for h in held) else [*held, d]
            continue
        if counter is not None and interlaced:
            counter[0] += 1
        yield from ready
    if filt is not None:
        try:
            yield from filt.push(None)
        except FilterFailedError as e:
            log.warning("cannot deinterlace (%s); frames kept as decoded", _why(e))
            yield from e.frames


def _why(e: BaseException) -> str:
    return first_line(e.__cause__ if isinstance(e, FilterFailedError) and e.__cause__ else e)[:160]
