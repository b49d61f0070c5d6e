"""Frame times of files whose container gives no usable timestamps: a raw Motion-JPEG stream (no rate,
no times at all) and H.264 with B-frames in AVI (timestamps in decode order)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pipeline.keyframes import scan_keyframes
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


def test_h264_with_b_frames_in_avi_is_evenly_timed(tmp_path: Path) -> None:
    """AVI stores no presentation times: FFmpeg numbers an H.264 stream's packets in decode order, so
    with B-frames the decoded frames' timestamps ran 1, 2, 3, 5, 6, 4, ... and were pushed forward
    one by one (0.0, 0.1, 0.2, 0.4, ... 4.1 s for 40 frames at 10 fps). They are timed by their index,
    from the start and after a seek to a key frame part-way."""
    path = _encoded(tmp_path / "b.avi", "libx264", "yuv420p", 40, bf="3", g="10")
    info = probe(path)
    assert info.fps == pytest.approx(10.0) and info.frame_count == 40 and not info.note
    frames = list(VideoReader(info))
    assert np.allclose([f.ts for f in frames], np.arange(40) / 10.0)
    part = list(VideoReader(info, start_frame=25, seek_table=scan_keyframes(path)))
    assert part[0].index == 25 and part[0].ts == pytest.approx(2.5)
    assert np.array_equal(part[0].image, frames[25].image)
