"""The MP4 an exported clip is written to: H.264, square pixels or the source's, each frame at its own
time in the recording (a recorder that lowers its rate, snapshots taken unevenly play as they were
taken, not at one rate); begun again, empty, when what was written must go (an export that met a gap
in the recording before its person appeared)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from pipeline.video import VideoInfo

TIME_BASE = Fraction(1, 90_000)  # the clip's clock (MPEG's 90 kHz): frame times to 11 microseconds


class ClipWriter:
    """An MP4 at ``path`` for frames of ``info``'s footage (cropped to even sides, as H.264 needs).

    A frame's duration is the time to the next frame, so each frame is written when the next one
    comes (or at :meth:`finish`); the last one lasts one frame at the footage's rate."""

    def __init__(self, path: Path, info: VideoInfo, crf: int, preset: str):
        self.path, self.info, self.crf, self.preset = path, info, crf, preset
        self.width, self.height = info.width - info.width % 2, info.height - info.height % 2
        self._open()

    def _open(self) -> None:
        info = self.info
        self.container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        self.stream = self.container.add_stream("libx264", rate=Fraction(info.fps).limit_denominator(1001))
        self.stream.codec_context.time_base = TIME_BASE
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        if info.pixel_aspect != 1.0:  # stored pixels are not square: players stretch them as the source's
            self.stream.codec_context.sample_aspect_ratio = Fraction(info.pixel_aspect).limit_denominator(
                1000
            )
        # no B-frames: MP4 keeps a frame's duration as the step to the next frame's decoding time,
        # which with reordered frames is not the step to the next picture's
        self.stream.options = {"crf": str(self.crf), "preset": self.preset, "bf": "0"}
        self._t0: float | None = None
        self._pending: av.VideoFrame | None = None
        self._durations: dict[int, int] = {}  # pts -> duration of the frames given to the encoder

    def write(self, image: np.ndarray, ts: float) -> None:
        """Add a BGR frame (``height`` x ``width`` at least; cut to them) taken at ``ts`` seconds of
        the recording."""
        if self._t0 is None:
            self._t0 = ts
        pts = round((ts - self._t0) / TIME_BASE)
        if self._pending is not None:
            pts = max(pts, self._pending.pts + 1)  # (times that round alike keep their order)
            self._encode(self._pending, pts - self._pending.pts)
        vf = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image[: self.height, : self.width]), format="bgr24"
        )
        vf.pts, vf.time_base = pts, TIME_BASE
        self._pending = vf

    def _encode(self, frame: av.VideoFrame | None, duration: int = 0) -> None:
        if frame is not None:
            self._durations[frame.pts] = duration
        self._mux(self.stream.encode(frame))

    def _mux(self, packets: Iterable[av.Packet]) -> None:
        for packet in packets:
            if packet.pts in self._durations:
                packet.duration = self._durations.pop(packet.pts)
            self.container.mux(packet)

    def restart(self) -> None:
        """Drop what was written: the file begins again, empty."""
        self.container.close()
        self._open()

    def finish(self) -> None:
        """Write out the last frame and what the encoder still holds (before :meth:`close`, when all
        went well)."""
        if self._pending is not None:
            self._encode(self._pending, max(1, round(1 / (self.info.fps * TIME_BASE))))
            self._pending = None
        self._encode(None)

    def close(self) -> None:
        self.container.close()
