"""A video stream's frame rate: the one its container declares, the one its codec carries, and the one
its first frames' timestamps advance at, weighed against each other (:func:`choose_fps`), with what
had to be assumed said in a note.

A raw stream (``.264``, ``.h265``, ``.m2v``, ``.mjpeg``: the codec's bytes, no container) declares no
rate and carries no timestamps: FFmpeg's demuxer for it declares 25 fps and invents timestamps at
that rate, which are not the file's. Only the codec's own rate counts there (an H.264 stream's
timing information, an MPEG-2 sequence header); a codec without one (JPEG) leaves the rate unknown,
so it is assumed and said, as for any file without one (a 10 fps Motion-JPEG export was timed 2.5
times too fast without a word).

AVI stores no presentation times either: FFmpeg numbers its packets in the order they are stored,
which for a codec with B-frames (H.264 in AVI) is decode order, so frames come out of the decoder
with timestamps that go back and forth (1, 2, 3, 5, 6, 4, ...). Such timestamps still give the rate,
sorted, but not each frame's time: frames are timed by their index (:func:`in_decode_order`), which
AVI, a container of a constant rate, allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import av
import numpy as np

DEFAULT_FPS = 25.0  # used when neither the container nor the timestamps give a frame rate
# A rate at or above this is no camera's: it is a container's clock (Matroska and FLV count in
# milliseconds, and FFmpeg "guesses" 1000 fps from it where a file declares no rate), so it is unknown.
NO_RATE_FPS = 1000.0
FPS_TOLERANCE = 0.1  # relative disagreement between declared and timestamp frame rates that is noticed
# Containers that store no presentation times: FFmpeg numbers their packets in the order stored
# (decode order), so with B-frames their decoded frames' timestamps go back and forth
DECODE_ORDER_FORMATS = frozenset({"avi"})
# FFmpeg's demuxers of raw video streams (its FF_DEF_RAWVIDEO_DEMUXER): their rate and timestamps are
# the demuxer's ``framerate`` option (25 by default), not anything the file says
RAW_STREAM_FORMATS = frozenset(
    {
        "avs2",
        "avs3",
        "cavsvideo",
        "dirac",
        "dnxhd",
        "h261",
        "h263",
        "h264",
        "hevc",
        "ingenient",
        "m4v",
        "mjpeg",
        "mjpeg_2000",
        "mpegvideo",
        "vc1",
        "vvc",
    }
)


def sane_rate(value: Fraction | None) -> float:
    """A rate in frames per second, 0 where it is missing, infinite or absurd (see ``NO_RATE_FPS``)."""
    try:
        fps = float(value) if value else 0.0
    except (ZeroDivisionError, OverflowError, ValueError):
        return 0.0
    return fps if math.isfinite(fps) and 0 < fps < NO_RATE_FPS else 0.0


def choose_fps(declared: float, codec: float, measured: float) -> tuple[float, str]:
    """(frame rate, what was assumed) from the container's declared rate, the video stream's own
    (codec) rate and the rate the first frames' timestamps advance at (0 where unknown or absurd).
    The timestamps win where they are sound; where they do not advance (a file whose samples all
    last zero), the stream's own rate, then the declared one, then a default."""
    if measured:
        if declared and abs(measured - declared) > FPS_TOLERANCE * measured:
            return measured, f"declared {declared:.3g} fps, timestamps say {measured:.3g} fps: using those"
        if not declared:
            return measured, f"frame rate {measured:.3g} fps taken from the timestamps"
        return declared, ""
    if codec:
        if declared and abs(codec - declared) <= FPS_TOLERANCE * codec:
            return declared, ""
        return codec, f"the container's timestamps do not advance: using the video stream's {codec:.3g} fps"
    if declared:
        return declared, f"timestamps do not advance: times assume the declared {declared:.3g} fps"
    return DEFAULT_FPS, f"no frame rate or timestamps: assumed {DEFAULT_FPS:g} fps"


def raw_stream(container: av.container.InputContainer) -> bool:
    """Whether a file is a raw video stream, whose rate and timestamps FFmpeg made up."""
    return bool(set((container.format.name or "").split(",")) & RAW_STREAM_FORMATS)


def stream_timing(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, pts: Sequence[int]
) -> tuple[float, str, bool]:
    """(frame rate, what was assumed, whether frames are timed by their index) of a video stream whose
    first frames, decoded, carry the timestamps ``pts``. Without timestamps that advance (or with a
    raw stream's, made up), a frame's time is its index / the rate chosen."""
    codec = sane_rate(stream.codec_context.framerate)  # the video stream's own timing, if it has one
    if raw_stream(container):
        return (*choose_fps(0.0, codec, 0.0), True)
    declared = sane_rate(stream.average_rate) or sane_rate(stream.guessed_rate)
    steps = np.diff(np.sort(np.asarray(pts, dtype=np.float64))) * float(stream.time_base or 0)
    steps = steps[steps > 0]
    measured = 1.0 / float(np.median(steps)) if len(steps) else 0.0
    measured = measured if 0 < measured < NO_RATE_FPS else 0.0
    fps, note = choose_fps(declared, codec, measured)
    return fps, note, not measured or in_decode_order(container, pts)


def in_decode_order(container: av.container.InputContainer, pts: Sequence[int]) -> bool:
    """Whether decoded frames' timestamps ``pts`` (in the order the frames came out, which is
    presentation order) are their packets' decode order: a container that stores none of its own
    (``DECODE_ORDER_FORMATS``), and timestamps that go back. In another container, timestamps that
    go back are damage or a clock that jumped, and a frame's time is kept where it can be."""
    formats = set((container.format.name or "").split(","))
    return bool(formats & DECODE_ORDER_FORMATS) and bool(np.any(np.diff(np.asarray(pts, np.float64)) < 0))
