"""Decoding video files with PyAV (FFmpeg): stream properties, threaded decoding, seeking by key frame.

- FFmpeg decodes with its own threads (frame and slice threading), and a reader thread runs it ahead
  of the consumer through a bounded queue, so decoding overlaps detection instead of alternating
  with it. Frames stay in the decoder's own format (YUV) until the consumer asks for pixels:
  frames the indexer skips are never converted.
- A frame's index is its position in presentation order, counted from the start of the stream, and
  its time comes from its presentation timestamp. To start at frame N without decoding everything
  before it, the reader seeks to a key frame whose index is known (a *seek table* of
  ``(index, pts)`` pairs, recorded while a video is indexed or found by reading the packets without
  decoding them), checks that the decoder landed exactly there, and decodes forward from it.
- A packet that does not decode (damage) is skipped and counted; a stream that ends early is
  reported by the caller as truncated. Frames stored before the first one shown (those an MP4's edit
  list hides, those before a cut file's first key frame) are not counted among the video's frames
  (:mod:`pipeline.unshown_frames`).
- A video recorded sideways (a phone, a camera mounted on its side) is turned upright as players
  turn it, by its display matrix (:mod:`pipeline.upright`): frames and their size are the picture
  the operator sees.
- A video has one picture size, its first frame's: a recorder whose camera changed resolution part-way
  (reconfigured, or dropped to its sub-stream) stores frames of another size in the same stream, and
  those are scaled to it, so that every box of the video is in the same pixels (players do the same).
- Interlaced frames (two fields woven together) are deinterlaced as they are decoded
  (:mod:`pipeline.deinterlace`).
- Pixels need not be square (a DVR's D1: 704x576 for a 4:3 picture): frames and boxes stay in
  stored pixels, and a video's ``pixel_aspect`` says how what shows them stretches them
  (:mod:`pipeline.upright`).
"""

from __future__ import annotations

import bisect
import logging
import math
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from pipeline.deinterlace import deinterlaced, ffmpeg_reason
from pipeline.errors import VideoError
from pipeline.frame_rate import DEFAULT_FPS, sane_rate, stream_timing
from pipeline.stream_extent import declared_span
from pipeline.unfinished_mp4 import missing_index
from pipeline.unshown_frames import Unshown, unshown_frames
from pipeline.upright import pixel_aspect, quarter_turns, turned

log = logging.getLogger(__name__)

MIN_FRAMES = 2  # fewer decodable frames than this is a still image, not a video
PROBE_FRAMES = 12  # frames decoded by probe() to check the frame rate against the timestamps
QUEUE_BYTES = 96 << 20  # decoded frames the reader thread may hold ahead of the consumer
MAX_BAD_PACKETS = 200  # consecutive packets that fail to decode before the stream counts as ended


@dataclass(frozen=True)
class StreamInfo:
    fps: float
    frame_count: int
    width: int
    height: int
    note: str  # what had to be assumed about the stream ("" when nothing)
    origin_pts: int | None  # presentation timestamp of frame 0 (times count from it)
    timed_by_rate: bool = False  # timestamps unusable: a frame's time is its index / fps
    pixel_aspect: float = 1.0  # a pixel's width over its height, upright (the stream's sample aspect ratio)
    declared_s: float = 0.0  # the span the container declares, where its frame count is not known (0: known)


@dataclass(frozen=True)
class Decoded:
    """One decoded frame, pixels not yet converted."""

    index: int
    ts: float  # seconds from the start of the stream
    pts: int | None
    key: bool
    frame: av.VideoFrame

    def bgr(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The upright picture in BGR; with ``size`` (width, height), scaled to it when the frame
        has another size (one conversion pass: FFmpeg scales while it converts)."""
        turns = quarter_turns(self.frame)
        if size is None or upright_size(self.frame) == tuple(size):
            return turned(self.frame.to_ndarray(format="bgr24"), turns)
        w, h = (size[1], size[0]) if turns % 2 else size  # the stored picture is the other way round
        return turned(self.frame.to_ndarray(format="bgr24", width=int(w), height=int(h)), turns)


def upright_size(frame: av.VideoFrame) -> tuple[int, int]:
    """(width, height) of a decoded frame once shown upright (a sideways recording's are swapped)."""
    w, h = frame.width, frame.height
    return (h, w) if quarter_turns(frame) % 2 else (w, h)


def open_video(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        if missing_index(path):
            raise VideoError(
                f"{path}: an unfinished recording: its frames are there but not the index an MP4 file "
                "gets when its recording is closed (the recorder stopped, or the copy was cut); a repair "
                "tool (untrunc, recover_mp4) can rebuild it with a complete file of the same camera"
            ) from e
        raise VideoError(f"{path}: not a video FFmpeg can read ({ffmpeg_reason(e)})") from e
    stream = main_video_stream(container)
    if stream is None:
        container.close()
        raise VideoError(f"{path}: no video stream (not a video)")
    stream.thread_type = "AUTO"
    return container, stream


_NOT_FOOTAGE = ("attached_pic", "still_image", "timed_thumbnails")  # stream dispositions


def main_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The footage of a file: its video stream with the most pixels (a recorder's main stream, not
    the low-resolution sub-stream some export beside it), never a cover picture or thumbnails."""
    footage = []
    for stream in container.streams.video:
        flags = int(getattr(stream, "disposition", 0) or 0)
        if not any(flags & int(getattr(av.stream.Disposition, d, 0)) for d in _NOT_FOOTAGE):
            footage.append(stream)
    if len(footage) < 2:
        return footage[0] if footage else None
    return max(footage, key=lambda s: (_pixels(s), -s.index))


def _pixels(stream: av.video.stream.VideoStream) -> int:
    """Width x height a stream declares (0 where a damaged file declares none)."""
    ctx = getattr(stream, "codec_context", None)
    return int(getattr(ctx, "width", 0) or 0) * int(getattr(ctx, "height", 0) or 0)


def probe_stream(path: Path) -> StreamInfo:
    """Check that ``path`` decodes and read its properties; the frame rate is checked against the
    timestamps of its first frames, and what had to be assumed is said in ``note``."""
    container, stream = open_video(path)
    try:
        pts, size, decoded, origin, aspect = [], None, 0, None, 1.0
        try:
            for d in _frames(container, stream):
                if size is None:  # the picture size of the whole video (later frames are scaled to it)
                    size, aspect = upright_size(d.frame), pixel_aspect(stream, d.frame)
                origin = d.pts if origin is None else origin
                decoded += 1
                if d.pts is not None:
                    pts.append(d.pts)
                if decoded >= PROBE_FRAMES:
                    break
        except av.error.FFmpegError as e:
            raise VideoError(f"{path}: frames do not decode ({ffmpeg_reason(e)})") from e
        if size is None:
            raise VideoError(f"{path}: no decodable frame (not a video, or damaged)")
        if decoded < MIN_FRAMES:
            raise VideoError(f"{path}: a still image or a single frame, not a video")
        fps, note, timed_by_rate = stream_timing(container, stream, pts)
        unshown = _unshown(path, origin) if origin is not None else Unshown()
        note = "; ".join(n for n in (note, unshown.note) if n)
        count, declared = int(stream.frames or 0), 0.0
        if count > 0:  # MP4, AVI: samples stored, those never shown are no frames of the video
            count = max(count - unshown.total, 1)
        if count <= 0 and container.duration:  # Matroska, MPEG-TS: a count from the duration, a guess
            first_s = float(origin * stream.time_base) if origin is not None and stream.time_base else 0.0
            declared = declared_span(container, stream, first_s)
            count = round(declared * fps)
        if count <= 0:  # a raw stream (.264, .h265, .mjpeg): no count, no duration; one per packet
            count = _count_packets(path)
        return StreamInfo(
            fps,
            max(count, decoded),
            int(size[0]),
            int(size[1]),
            note,
            origin,
            timed_by_rate,
            aspect,
            declared,
        )
    finally:
        container.close()


def _unshown(path: Path, first_pts: int) -> Unshown:
    """The frames ``path`` stores before its first frame shown (see :mod:`pipeline.unshown_frames`);
    none where its packets cannot be read again."""
    try:
        container, stream = open_video(path)
    except VideoError:
        return Unshown()
    try:
        return unshown_frames(container, stream, first_pts)
    except (av.error.FFmpegError, OSError, ValueError):
        return Unshown()
    finally:
        container.close()


def _count_packets(path: Path) -> int:
    """Frames in a file that says neither how many nor how long, by reading its packets (without
    decoding them); 0 if it cannot be read."""
    try:
        container, stream = open_video(path)
    except VideoError:
        return 0
    try:
        return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, OSError, ValueError):
        return 0
    finally:
        container.close()


def _frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    first_index: int = 0,
    origin_pts: int | None = None,
    damage: list[int] | None = None,
    rate: float | None = None,
) -> Iterator[Decoded]:
    """Decoded frames of the stream in presentation order, numbered from ``first_index``; times count
    from ``origin_pts`` (default: the first frame's). Packets that fail to decode are skipped (up to
    ``MAX_BAD_PACKETS`` in a row) and counted in ``damage[0]``. With ``rate`` the timestamps are not
    used: a frame's time is its index / rate (a file whose timestamps do not advance)."""
    tb = float(stream.time_base) if stream.time_base else 0.0
    fps = sane_rate(stream.average_rate) or sane_rate(stream.guessed_rate) or DEFAULT_FPS
    origin = origin_pts
    index, bad, prev_ts = first_index, 0, None
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError as e:
            bad += 1
            if damage is not None:
                damage[0] += 1
            log.debug("packet at %s does not decode: %s", packet.pts, e)
            if bad > MAX_BAD_PACKETS:
                log.warning("%s: too many packets fail to decode; stopping", container.name)
                return
            continue
        bad = 0
        for frame in frames:
            pts = frame.pts
            if origin is None and pts is not None and tb:
                origin = pts - round(first_index / fps / tb)
            ts = (pts - origin) * tb if pts is not None and origin is not None and tb else None
            if rate:
                ts = index / rate
            if ts is None or (prev_ts is not None and ts <= prev_ts):
                ts = prev_ts + 1.0 / fps if prev_ts is not None else first_index / fps
            prev_ts = ts
            yield Decoded(index, ts, pts, bool(frame.key_frame), frame)
            index += 1


class ThreadedDecoder:
    """Decodes a video, from the key frame at or before ``start_frame`` when the seek table has one
    (else from the start), yielding :class:`Decoded` frames in order.

    With ``threaded`` (the default) decoding runs on a background thread, ahead of the consumer by at
    most ``QUEUE_BYTES`` of decoded frames; closing the iterator stops and joins the thread.
    """

    def __init__(
        self,
        path: Path,
        start_frame: int = 0,
        seek_table: Sequence[tuple[int, int]] = (),
        origin_pts: int | None = None,
        frame_bytes: int = 1 << 20,
        threaded: bool = True,
        rate: float | None = None,
    ):
        self.path = path
        self.threaded = threaded
        self.rate = rate
        self.start_frame = start_frame
        self.seek_table = sorted((int(i), int(p)) for i, p in seek_table)
        self.origin_pts = origin_pts
        self.depth = max(2, min(64, QUEUE_BYTES // max(frame_bytes, 1)))
        self.seeked_to: int | None = None  # frame index decoding started at after a seek
        self.damage = [0]  # packets that did not decode
        self.deinterlaced = [0]  # interlaced frames deinterlaced (pipeline.deinterlace)

    def _seek_point(self) -> tuple[int, int] | None:
        i = bisect.bisect_right(self.seek_table, (self.start_frame, math.inf)) - 1
        return self.seek_table[i] if i >= 0 and self.seek_table[i][0] > 0 else None

    def _open(self) -> tuple[av.container.InputContainer, Iterator[Decoded]]:
        container, stream = open_video(self.path)
        point = self._seek_point() if self.origin_pts is not None else None
        if point is not None:
            index, pts = point
            try:
                container.seek(pts, stream=stream, backward=True, any_frame=False)
                frames = _frames(container, stream, index, self.origin_pts, self.damage, self.rate)
                first = next(frames, None)
                if first is not None and first.pts == pts:
                    self.seeked_to = index
                    return container, deinterlaced(_chain(first, frames), self.deinterlaced)
                log.info("%s: seek to frame %d landed elsewhere; decoding from the start", self.path, index)
            except av.error.FFmpegError as e:
                log.info("%s: cannot seek (%s); decoding from the start", self.path, ffmpeg_reason(e))
            container.close()
            container, stream = open_video(self.path)
        frames = _frames(container, stream, 0, self.origin_pts, self.damage, self.rate)
        return container, deinterlaced(frames, self.deinterlaced)

    def __iter__(self) -> Iterator[Decoded]:
        container, frames = self._open()
        if not self.threaded:  # e.g. a player stepping frame by frame: no thread to look after
            try:
                yield from frames
            finally:
                container.close()
            return
        q: queue.Queue = queue.Queue(maxsize=self.depth)
        stop = threading.Event()

        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for d in frames:
                    if not put(d):
                        return
            except Exception as e:  # handed to the consumer, which raises it
                put(e)
            put(None)

        thread = threading.Thread(target=produce, name="spotter-decode", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is None:
                    return
                if isinstance(item, av.error.FFmpegError):
                    log.warning("%s: decoding stopped: %s", self.path, ffmpeg_reason(item))
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join()
            container.close()


def _chain(first: Decoded, rest: Iterator[Decoded]) -> Iterator[Decoded]:
    yield first
    yield from rest
