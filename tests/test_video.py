"""Video reading: properties, timestamps, strides, and every kind of bad file."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.errors import VideoError
from pipeline.video import VideoReader, fingerprint, probe
from tests.conftest import pets


def make_video(
    path: Path, frames: int = 30, size: tuple[int, int] = (160, 120), faststart: bool = True
) -> Path:
    """A small real H.264 MP4 with a moving square (moov atom first or last)."""
    import av

    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for k in range(frames):
            img = np.full((size[1], size[0], 3), 60, np.uint8)
            cv2.rectangle(img, (5 + 3 * k, 40), (25 + 3 * k, 80), (255, 255, 255), -1)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_probe_real_video() -> None:
    info = probe(pets().video)
    assert (info.width, info.height, info.fps, info.frame_count) == (480, 360, 10.0, 795)
    assert abs(info.duration_s - 79.5) < 1e-6
    assert info.path.is_absolute() and len(info.fingerprint) == 64


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    a = make_video(tmp_path / "a.mp4")
    before = fingerprint(a)
    data = bytearray(a.read_bytes())
    data[-10] ^= 0xFF
    a.write_bytes(bytes(data))
    assert fingerprint(a) != before


def test_reader_timestamps_stride_and_start() -> None:
    info = probe(pets().video)
    frames = []
    for f in VideoReader(info, stride=3):
        frames.append((f.index, f.ts))
        if len(frames) == 5:
            break
    assert [i for i, _ in frames] == [0, 3, 6, 9, 12]
    assert np.allclose([t for _, t in frames], [0.0, 0.3, 0.6, 0.9, 1.2])
    resumed = next(iter(VideoReader(info, start_frame=100, stride=2)))
    assert resumed.index == 100 and abs(resumed.ts - 10.0) < 1e-6
    sequential = None
    for f in VideoReader(info):
        if f.index == 100:
            sequential = f.image
            break
    assert np.array_equal(sequential, resumed.image)  # skipping frames loses no exactness


def test_reader_counts_all_frames() -> None:
    reader = VideoReader(probe(pets().video), stride=50)
    assert len(list(reader)) == 16 and reader.frames_read == 795 and not reader.truncated


def test_missing_file() -> None:
    with pytest.raises(VideoError, match="no such file"):
        probe("/nonexistent/clip.mp4")


def test_folder_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="not an image sequence"):
        probe(tmp_path)


def test_zero_length_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(VideoError, match="empty file"):
        probe(empty)


def test_text_file_named_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("meeting notes, not a video\n" * 100)
    with pytest.raises(VideoError, match=r"not a video|no decodable frame") as e:
        probe(fake)
    assert "[Errno" not in str(e.value)  # FFmpeg's error number means nothing to an operator


def test_still_image_is_not_a_video(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), np.full((120, 160, 3), 128, np.uint8))
    with pytest.raises(VideoError, match=r"still image|not a video"):
        probe(photo)


def test_truncated_faststart_video_keeps_what_decodes(tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    data = pets().video.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    info = probe(cut)
    reader = VideoReader(info)
    n = sum(1 for _ in reader)
    assert 300 < n < 795 and reader.truncated and reader.frames_read == n


def test_truncated_video_without_index_is_an_error(tmp_path: Path) -> None:
    full = make_video(tmp_path / "full.mp4", frames=60, faststart=False)
    cut = tmp_path / "cut.mp4"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the moov atom at the end is lost
    # said for what it is (FFmpeg says only "Invalid data found when processing input")
    with pytest.raises(VideoError, match=r"cut\.mp4: an unfinished recording: .* a repair tool"):
        probe(cut)
    text = tmp_path / "notes.mp4"
    text.write_bytes(b"\x00\x00\x00\x10ftypisom" + b"not a video" * 10)  # an MP4 head, no frames
    with pytest.raises(VideoError, match="not a video FFmpeg can read"):
        probe(text)


def test_unicode_path(tmp_path: Path) -> None:
    target = tmp_path / "caméra 1 – entrée.mp4"
    shutil.copy(make_video(tmp_path / "x.mp4"), target)
    assert probe(target).frame_count == 30


def test_reader_stride_can_change_between_frames() -> None:
    reader = VideoReader(probe(pets().video), stride=1)
    seen = []
    for f in reader:
        seen.append(f.index)
        if f.index == 2:
            reader.stride = 5
        if len(seen) == 6:
            break
    assert seen == [0, 1, 2, 7, 12, 17]


@pytest.mark.parametrize(
    ("name", "fmt", "codec"),
    [("cam1.264", "h264", "libx264"), ("cam2.h265", "hevc", "libx265"), ("cam3.mts", "mpegts", "libx264"),
     ("cam4.asf", "asf", "msmpeg4")],
)  # fmt: skip
def test_what_recorders_export_is_found_and_read_to_the_end(
    tmp_path: Path, name: str, fmt: str, codec: str
) -> None:
    """NVR and DVR exports: a raw H.264/H.265 stream (no container: neither a frame count nor a
    duration), MPEG-TS, ASF. A folder finds them, and every frame is counted and read."""
    import av

    from pipeline.media_scan import media_in

    cap, frames = cv2.VideoCapture(str(pets().video)), []
    while len(frames) < 30 and (got := cap.read())[0]:
        frames.append(got[1])
    (tmp_path / "notes.txt").write_text("not a video")
    with av.open(str(tmp_path / name), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=Fraction(6))
        s.width, s.height, s.pix_fmt = 480, 360, "yuv420p"
        for img in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    assert media_in(tmp_path) == [tmp_path / name]
    info = probe(tmp_path / name)
    assert info.frame_count == 30 and info.fps == pytest.approx(6.0)
    assert sum(1 for _ in VideoReader(info)) == 30


def test_the_main_stream_is_read_not_the_sub_stream_beside_it(tmp_path: Path) -> None:
    """Some recorders export their low-resolution sub-stream in the same file as the main one, and
    first: the footage is the stream with the most pixels."""
    import av

    cap, frames = cv2.VideoCapture(str(pets().video)), []
    while len(frames) < 20 and (got := cap.read())[0]:
        frames.append(got[1])
    path = tmp_path / "nvr_export.mkv"
    with av.open(str(path), "w") as c:
        sub = c.add_stream("libx264", rate=Fraction(10))
        main = c.add_stream("libx264", rate=Fraction(10))
        sub.width, sub.height, sub.pix_fmt = 160, 120, "yuv420p"
        main.width, main.height, main.pix_fmt = 480, 360, "yuv420p"
        for img in frames:
            for s, picture in ((sub, cv2.resize(img, (160, 120))), (main, img)):
                for p in s.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")):
                    c.mux(p)
        for s in (sub, main):
            for p in s.encode():
                c.mux(p)
    info = probe(path)
    assert (info.width, info.height) == (480, 360)
    got = [f.image for f in VideoReader(info)]
    assert len(got) == 20 and np.abs(got[5].astype(int) - frames[5].astype(int)).mean() < 6
