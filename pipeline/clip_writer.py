"""The MP4 an exported clip is written to: H.264 at the footage's rate, square pixels or the
source's, frames numbered as written; begun again, empty, when what was written must go (an export
that met a gap in the recording before its person appeared)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from pipeline.video import VideoInfo


class ClipWriter:
    """An MP4 at ``path`` for frames of ``info``'s footage (cropped to even sides, as H.264 needs)."""

    def __init__(self, path: Path, info: VideoInfo, crf: int, preset: str):
        self.path, self.info, self.crf, self.preset = path, info, crf, preset
        self.width, self.height = info.width - info.width % 2, info.height - info.height % 2
        self._open()

    def _open(self) -> None:
        info = self.info
        self.container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        self.stream = self.container.add_stream("libx264", rate=Fraction(info.fps).limit_denominator(1001))
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        if info.pixel_aspect != 1.0:  # stored pixels are not square: players stretch them as the source's
            self.stream.codec_context.sample_aspect_ratio = Fraction(info.pixel_aspect).limit_denominator(
                1000
            )
        self.stream.options = {"crf": str(self.crf), "preset": self.preset}
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        """Add a BGR frame (``height`` x ``width`` at least; cut to them)."""
        vf = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image[: self.height, : self.width]), format="bgr24"
        )
        vf.pts = self.frames
        for packet in self.stream.encode(vf):
            self.container.mux(packet)
        self.frames += 1

    def restart(self) -> None:
        """Drop what was written: the file begins again, empty."""
        self.container.close()
        self._open()

    def finish(self) -> None:
        """Write out what the encoder still holds (before :meth:`close`, when all went well)."""
        for packet in self.stream.encode():
            self.container.mux(packet)

    def close(self) -> None:
        self.container.close()
