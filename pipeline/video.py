"""Video files as the indexer, export and player see them: probing, fingerprints, frames with true
timestamps, strides, and starting part-way through a file without decoding what comes before.

Decoding is PyAV's (FFmpeg), threaded and seekable (:mod:`pipeline.decoding`). A file that is not a
video, is empty, or has no decodable frame raises :class:`VideoError` at :func:`probe`. A file damaged
part-way is read past the damage where FFmpeg can, else up to it: :class:`VideoReader` reports
``truncated`` and ``damaged_packets``, and what was decoded is kept.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.weights import MarkedDigest, sha256_marked, sha256_of
from pipeline.decoding import ThreadedDecoder, probe_stream, upright_size
from pipeline.errors import VideoError
from pipeline.file_names import is_text, resolved, shown
from pipeline.image_sequence import (
    ASSUMED_INTERVAL_S,
    image_at,
    read_sequence,
    sequence_content,
    sequence_fingerprint,
)
from pipeline.image_sequence import (
    Sequence as ImageSequence,
)
from pipeline.keyframes import SEEK_SPACING_S, scan_keyframes
from pipeline.types import fmt_time

log = logging.getLogger(__name__)

FINGERPRINT_BYTES = 1 << 20  # bytes hashed at each end of the file
SAMPLED_BLOCKS, SAMPLED_BLOCK_BYTES = 64, 4096  # blocks hashed between the ends
TRUNCATION_TOLERANCE = 0.98  # ending before this fraction of the reported frame count is "truncated"
# a stream without a frame count (Matroska, MPEG-TS) is truncated where its frames end more than this
# (or two of its last steps between frames) before the span its container declares for it
TRUNCATION_SHORT_S = 1.0


@dataclass(frozen=True)
class VideoInfo:
    """What Spotter knows about a video file before indexing it."""

    path: Path
    size: int
    mtime: float
    fingerprint: str
    fps: float
    frame_count: int  # as the container reports it; the reader finds the true count
    width: int
    height: int
    note: str = ""  # what had to be assumed about the file (frame rate, timestamps)
    origin_pts: int | None = None  # presentation timestamp of frame 0
    images: ImageSequence | None = None  # set when the "video" is a folder of images
    timed_by_rate: bool = False  # the file's timestamps are unusable: times are index / fps
    pixel_aspect: float = 1.0  # a pixel's width over its height (see pipeline.upright): 12/11 on PAL D1
    declared_s: float = 0.0  # the span the container declares where it does not say how many frames

    @property
    def duration_s(self) -> float:
        """How long the footage lasts: frames / rate, or for a folder of images the span of their
        capture times (snapshots taken on motion may be hours apart) and one image's time."""
        if not self.fps:
            return 0.0
        if self.images is not None and self.images.times:
            return max(self.images.times[-1] + 1.0 / self.fps, self.frame_count / self.fps)
        return self.frame_count / self.fps

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) the picture is shown at: stored pixels made square (players do this)."""
        return display_width(self.width, self.pixel_aspect), self.height


def display_width(width: float, pixel_aspect: float) -> int:
    """The width, in square pixels, of a picture ``width`` stored pixels wide (at least 1)."""
    return max(1, round(width * pixel_aspect))


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based position in the decoded stream
    ts: float  # presentation time in seconds
    image: np.ndarray  # BGR
    # the longest wait between two consecutive frames up to this one (since the frame yielded before
    # it) beyond the footage's frame interval: a recorder that stopped; None where not all were seen
    late_s: float | None = None


def fingerprint(path: Path, size: int | None = None) -> str:
    """Fast identity of a file's content: sha256 of its size, its first and last MiB and 64 blocks of
    4 KiB spread through it (reads at most 2.3 MiB, whatever the size). A change in the middle that
    misses the samples is caught by the size and modification time, and then the whole content's
    hash (see ``Library.start_video``)."""
    size = path.stat().st_size if size is None else size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:  # never past ``size``: a file that grew since has the same (the player)
        digest.update(f.read(min(FINGERPRINT_BYTES, size)))
        if size > 2 * FINGERPRINT_BYTES:
            for k in range(1, SAMPLED_BLOCKS + 1):
                f.seek(FINGERPRINT_BYTES + (size - 2 * FINGERPRINT_BYTES) * k // (SAMPLED_BLOCKS + 1))
                digest.update(f.read(SAMPLED_BLOCK_BYTES))
            f.seek(size - FINGERPRINT_BYTES)
        digest.update(f.read(min(FINGERPRINT_BYTES, max(0, size - f.tell()))))
    return digest.hexdigest()


def content_sha256(info: VideoInfo) -> str:
    """The whole content's SHA-256 (a folder of images: every image's name, size and bytes,
    :func:`pipeline.image_sequence.sequence_content`); read in 1 MiB blocks, a few seconds per GB."""
    if info.images is not None:
        try:
            return sequence_content(info.images)
        except OSError as e:
            raise VideoError(f"{info.path}: cannot read ({e.strerror or e})") from e
    return file_content(info).hexdigest


def file_content(info: VideoInfo) -> MarkedDigest:
    """A video file's whole content's SHA-256 (:func:`content_sha256`), marked so that
    :func:`only_appended` hashes its first bytes without reading the file again."""
    try:  # the bytes probed: a recording still being written has more by now (see only_appended)
        return sha256_marked(info.path, limit=info.size)
    except OSError as e:
        raise VideoError(f"{info.path}: cannot read ({e.strerror or e})") from e


def only_appended(info: VideoInfo, size: int, indexed: str, content: MarkedDigest | None = None) -> bool:
    """Whether a video file is the one indexed with bytes added at its end (a recording still being
    written when it was indexed, an MPEG-TS a recorder appends to): its first ``size`` bytes hash to
    the content indexed (which was hashed over those bytes: see ``content_sha256``). Read only when
    it is larger than it was; ``content``, the file's :func:`file_content` where it was just read,
    saves reading it again."""
    if info.images is not None or not indexed or not 0 < size < info.size:
        return False
    try:
        if content is not None and content.path == info.path:
            return content.prefix(size) == indexed
        return sha256_of(info.path, limit=size) == indexed
    except OSError:
        return False


def probe(path: str | Path) -> VideoInfo:
    """Check a file is a decodable video and read its properties; raises :class:`VideoError`."""
    path = resolved(path, VideoError)
    if not is_text(str(path)):  # it could never be stored in the library
        raise VideoError(
            f"{shown(path)}: the name is not valid UTF-8 (written by another system): rename it to index it"
        )
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if path.is_dir():
        return probe_folder(path)
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    try:
        st = path.stat()
        if st.st_size == 0:
            raise VideoError(f"{path}: empty file (0 bytes)")
        fp = fingerprint(path, st.st_size)
    except OSError as e:
        raise VideoError(f"{path}: cannot read ({e.strerror})") from e
    s = probe_stream(path)
    if s.note:
        log.warning("%s: %s", path, s.note)
    return VideoInfo(
        path,
        st.st_size,
        st.st_mtime,
        fp,
        s.fps,
        s.frame_count,
        s.width,
        s.height,
        s.note,
        s.origin_pts,
        timed_by_rate=s.timed_by_rate,
        pixel_aspect=s.pixel_aspect,
        declared_s=s.declared_s,
    )


def probe_folder(path: Path) -> VideoInfo:
    """A folder of images as a video (see :mod:`pipeline.image_sequence`); :class:`VideoError` if it
    holds too few images or none decodes."""
    seq = read_sequence(path)
    sizes = Counter(wh for wh in seq.sizes if wh is not None)  # upright, as decoding turns a photo
    if not sizes:
        raise VideoError(f"{path}: none of its {len(seq.files)} images can be read")
    # the camera's size is the one most of its images have (a thumbnail or a stray photo first in the
    # folder must not shrink all the others); between equally common sizes, the larger
    size = max(sizes, key=lambda wh: (sizes[wh], wh[0] * wh[1]))
    odd = sum(sizes.values()) - sizes[size]
    steps = np.diff(seq.times)
    steps = steps[steps > 1e-2]
    fps = 1.0 / float(np.median(steps)) if len(steps) else 1.0 / ASSUMED_INTERVAL_S
    notes = [seq.note] if seq.note else []
    if odd:
        notes.append(f"{odd} images differ in size from the others ({size[0]}x{size[1]}): scaled to it")
    st = [f.stat() for f in seq.files]
    return VideoInfo(
        path,
        sum(x.st_size for x in st),
        max(x.st_mtime for x in st),
        sequence_fingerprint(seq),
        fps,
        len(seq.files),
        int(size[0]),
        int(size[1]),
        "; ".join(notes),
        None,
        seq,
    )


class VideoReader:
    """Iterates the frames of a video from ``start_frame``, yielding every ``stride``-th one.

    ``stride`` may be changed between two frames (adaptive sampling): the next frame yielded is the
    one ``stride`` frames after the last. Skipped frames are decoded (the codec needs them) but never
    converted to pixels. With a ``seek_table`` (``(frame index, pts)`` of key frames, as recorded in
    ``seek_table`` by an earlier read) a start part-way seeks instead of decoding from frame 0.
    Every frame has the video's size (``info.width`` x ``info.height``): those the stream holds at
    another size are scaled to it and counted in ``rescaled_frames``.
    After iteration ``frames_read`` is the number of frames the stream held (up to any damage),
    ``end_s`` the time just after its last frame (its timestamp and one frame's time: a recording
    with gaps lasts longer than its frames at its rate), ``truncated`` says whether it ended well
    before the container's frame count, and ``seek_table`` holds the key frames met (one about
    every ``SEEK_SPACING_S`` seconds).
    """

    def __init__(
        self,
        info: VideoInfo,
        start_frame: int = 0,
        stride: int = 1,
        seek_table: Sequence[tuple[int, int]] = (),
    ):
        self.info = info
        self.start_frame = max(int(start_frame), 0)
        self.stride = max(int(stride), 1)
        self.frames_read = 0
        self.truncated = False
        self.damaged_packets = 0
        self.seek_table: list[tuple[int, int]] = sorted((int(i), int(p)) for i, p in seek_table)
        self.decoded_from = 0  # first frame decoded (> 0 after a seek)
        self.rescaled_frames = 0  # frames of another size than the video's, scaled to it
        self.deinterlaced_frames = 0  # interlaced frames made whole (pipeline.deinterlace)
        self.end_s = 0.0

    def _remember_key(self, index: int, pts: int) -> None:
        table = self.seek_table
        spacing = max(1, round(SEEK_SPACING_S * self.info.fps))
        if not table or index >= table[-1][0] + spacing:
            table.append((index, pts))

    def _iter_images(self, seq: ImageSequence) -> Iterator[Frame]:
        """Only the images wanted are read (a skipped image costs nothing, unlike a skipped video
        frame), the next one on a second thread while the caller works on this one (decoding a
        JPEG releases the GIL); a change of ``stride`` in between makes that read wasted, not wrong."""
        info, size, count = self.info, (self.info.width, self.info.height), len(seq.files)
        self.decoded_from = index = self.start_frame
        with ThreadPoolExecutor(1, thread_name_prefix="spotter-images") as reader:
            ahead: tuple[int, Future] | None = None  # (image index, its read under way)
            while index < count:
                if ahead is not None and ahead[0] == index:
                    image = ahead[1].result()
                else:
                    image = image_at(seq, index, size)
                guess = index + max(int(self.stride), 1)
                ahead = (guess, reader.submit(image_at, seq, guess, size)) if guess < count else None
                if image is None:  # an unreadable image is skipped, the sequence goes on
                    log.warning("%s: image %s does not decode; skipped", info.path, seq.files[index].name)
                    self.damaged_packets += 1
                    index += 1
                    continue
                yield Frame(index, seq.times[index], image)
                index += max(int(self.stride), 1)
        self.frames_read = max(count, self.start_frame)
        self.end_s = info.duration_s

    def __iter__(self) -> Iterator[Frame]:
        info = self.info
        if info.images is not None:
            yield from self._iter_images(info.images)
            return
        decoder = ThreadedDecoder(
            info.path,
            self.start_frame,
            self.seek_table,
            info.origin_pts,
            info.width * info.height * 3 // 2,
            rate=info.fps if info.timed_by_rate else None,
        )
        index, wanted, size = -1, self.start_frame, (info.width, info.height)
        step, prev_ts, late = 1.0 / info.fps, 0.0, None  # late: None until the first frame yielded
        last_step = step  # between the last two frames decoded (a recorder slows down when quiet)
        for d in decoder:
            if self.decoded_from == 0 and index < 0:
                self.decoded_from = d.index
            if late is not None:  # decoded frames come one after another: prev_ts is the one before
                late = max(late, d.ts - prev_ts - step)
            last_step = d.ts - prev_ts if index >= 0 else step
            index, prev_ts = d.index, d.ts
            if d.key and d.pts is not None:
                self._remember_key(index, d.pts)
            if upright_size(d.frame) != size:
                self.rescaled_frames += 1
            if index < wanted:
                continue
            try:
                image = d.bgr(size)
            except Exception as e:  # a frame the converter cannot take: stop there, keep what came
                log.warning("%s: frame %d does not convert (%s); stopping there", info.path, index, e)
                break
            yield Frame(index, d.ts, image, late)
            late = 0.0  # every frame up to this one was seen
            wanted = index + max(int(self.stride), 1)  # read after the consumer had its say
        self.frames_read = index + 1
        self.end_s = prev_ts + step if index >= 0 else 0.0
        self.damaged_packets = decoder.damage[0]
        self.deinterlaced_frames = decoder.deinterlaced[0]
        self.truncated = self.frames_read < TRUNCATION_TOLERANCE * info.frame_count
        if info.declared_s:  # no count, a span (Matroska, MPEG-TS): the frames' times against it, as
            # a recorder's gap, its clock's offset or its slower rate when quiet left a count guessed
            # from the span and the first frames' rate far off (7,279 s of a gap: 72,795 "frames")
            short = info.declared_s - self.end_s
            self.truncated = short > max(TRUNCATION_SHORT_S, 2 * last_step, 2 * step)
        if self.truncated:
            log.warning("%s: %s (truncated or damaged); kept what decoded", info.path, self.shortfall)

    @property
    def shortfall(self) -> str:
        """How far short of its end a truncated stream's decoding stopped."""
        if self.info.declared_s:
            return f"decoded {fmt_time(self.end_s)} of {fmt_time(self.info.declared_s)}"
        return f"decoded {self.frames_read} of {self.info.frame_count} frames"


def read_frame(path: Path, frame_index: int) -> np.ndarray:
    """Decode one frame exactly (seeks to the key frame before it; for thumbnails and tests)."""
    info = probe(path)
    seek = scan_keyframes(info.path) if info.images is None else []
    for frame in VideoReader(info, start_frame=frame_index, seek_table=seek):
        return frame.image
    raise VideoError(f"{path}: no frame {frame_index}")
