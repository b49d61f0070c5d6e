"""How long a file says its footage is, where it does not say how many frames: the span its container
declares for the video stream (:func:`declared_span`), against which a stream that ends early is
found truncated (``pipeline.video.VideoReader``)."""

from __future__ import annotations

import av


def declared_span(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, first_s: float
) -> float:
    """The seconds from the first video frame (at ``first_s`` on the container's clock) to the end
    the container declares for the video stream (0 where it declares none): the stream's own end
    where the container gives one (MPEG-TS: its start and duration; Matroska: its ``DURATION`` tag,
    counted from time zero), else the whole file's. An audio stream that starts before the video or
    runs on after it is not the video's span, and Matroska counts from time zero, not from the first
    frame (a recorder's file whose first frame is at 1,000,000 s declares 1,000,079.5 s for 79.5 s)."""
    if not container.duration:
        return 0.0
    tb = float(stream.time_base or 0)
    if "matroska" in (container.format.name or ""):
        end = _tag_seconds(stream.metadata.get("DURATION")) or container.duration / 1e6
    elif stream.duration and tb and stream.start_time is not None:
        end = (stream.start_time + stream.duration) * tb
    else:
        end = (container.start_time or 0) / 1e6 + container.duration / 1e6
    return max(end - first_s, 0.0)


def _tag_seconds(text: str | None) -> float:
    """``HH:MM:SS.nnnnnnnnn`` (a Matroska ``DURATION`` tag) in seconds; 0 where it is not that."""
    try:
        h, m, sec = str(text).split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except (TypeError, ValueError):
        return 0.0
