"""Frame times of files whose container gives no usable timestamps: a raw Motion-JPEG stream (no rate,
no times at all) and H.264 with B-frames in AVI (timestamps in decode order)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pipeline.video import VideoReader, probe
from tests.conftest import pets


def _encoded(
    path: Path, codec: str, pix_fmt: str, frames: int, fmt: str | None = None, **options: str
) -> Path:
    """The first ``frames`` of PETS09-S2L1 (10 fps), scaled to 160x120, encoded into ``path``."""
    import av
    import cv2

    from bench.sequences import frames_of

    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=10, options=options)
        stream.width, stream.height, stream.pix_fmt = 160, 120, pix_fmt
        for img in itertools.islice(frames_of(pets().video), frames):
            frame = av.VideoFrame.from_ndarray(cv2.resize(img, (160, 120)), format="bgr24")
            for packet in stream.encode(frame.reformat(format=pix_fmt)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("suffix", [".mjpeg", ".mjpg"])
def test_a_raw_motion_jpeg_stream_says_its_rate_was_assumed(tmp_path: Path, suffix: str) -> None:
    """A raw Motion-JPEG export carries no rate and no timestamps: FFmpeg's demuxer invents 25 fps and
    times at it, so a 10 fps export was timed 2.5 times too fast without a word (an AVI declaring no
    usable rate said it). The rate is assumed, and said, as for any file without one."""
    path = _encoded(tmp_path / f"export{suffix}", "mjpeg", "yuvj420p", 20, fmt="mjpeg")
    info = probe(path)
    assert info.fps == pytest.approx(25.0) and info.frame_count == 20
    assert "no frame rate or timestamps: assumed 25 fps" in info.note
    ts = [f.ts for f in VideoReader(info)]
    assert np.allclose(ts, np.arange(20) / 25.0)
