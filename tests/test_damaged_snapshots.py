"""Snapshots that do not decode (a file that is no image, a PNG cut short, a video named .jpg, a
decompression bomb) among a camera's images: skipped, said once in words, the others read."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import pytest

from pipeline.image_files import read_image, truncated_png
from pipeline.indexer import index_video
from pipeline.storage import Library
from pipeline.video import VideoReader, probe
from tests.test_image_sequence import tud_frames, write_named


def test_odd_sizes_are_scaled_and_broken_images_skipped(tmp_path: Path) -> None:
    frames = tud_frames()[:6]
    paths = write_named(tmp_path / "cam", frames)
    cv2.imwrite(str(paths[2]), cv2.resize(frames[2], (320, 240)))
    paths[4].write_bytes(b"not a jpeg at all")
    info = probe(tmp_path / "cam")
    assert "differ in size" in info.note
    reader = VideoReader(info)
    got = list(reader)
    assert [f.index for f in got] == [0, 1, 2, 3, 5] and got[2].image.shape == (480, 640, 3)
    assert reader.damaged_packets == 1 and reader.frames_read == 6


def test_a_png_snapshot_cut_short_is_skipped_without_a_word_on_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """A snapshot still being written (a PNG whose closing chunk has not arrived) is skipped with a
    logged warning; libpng, which writes past any logging, is not given it."""
    frames = tud_frames()[:4]
    paths = [tmp_path / "cam" / f"20240101_1200{i:02d}.png" for i in range(4)]
    paths[0].parent.mkdir()
    for path, frame in zip(paths, frames):
        cv2.imwrite(str(path), frame)
    whole = paths[3].read_bytes()
    paths[3].write_bytes(whole[: len(whole) // 2])
    assert truncated_png(whole[: len(whole) // 2]) and not truncated_png(whole)
    assert not truncated_png(whole + b"trailing bytes a tool appended") and not truncated_png(b"\xff\xd8jpeg")
    with caplog.at_level(logging.WARNING, logger="pipeline.image_files"):
        got = list(VideoReader(probe(tmp_path / "cam")))
    assert [f.index for f in got] == [0, 1, 2]
    assert "truncated PNG" in caplog.text and "libpng" not in capfd.readouterr().err


def test_a_video_named_jpg_and_a_decompression_bomb_among_snapshots(tmp_path: Path, caplog) -> None:
    """A 3 GB file named as a snapshot was read whole into memory (3.6 GB peak) and then OpenCV
    raised on it: a traceback, the folder not indexed. A PNG whose header claims 20000x20000 pixels
    made Pillow raise DecompressionBombError while the folder was probed. Both are now skipped and
    named, unread and undecoded; the other snapshots index as before."""
    from PIL import Image

    frames = tud_frames()[:6]
    paths = write_named(tmp_path / "cam", frames)
    with open(paths[1], "r+b") as fh:  # sparse: no disk is used for it
        fh.truncate(3 << 30)
    Image.new("L", (20000, 20000)).save(paths[3].with_suffix(".png"))
    paths[3].unlink()
    info = probe(tmp_path / "cam")
    assert (info.width, info.height) == (640, 480) and info.frame_count == 6
    reader = VideoReader(info)
    got = [f.index for f in reader]
    assert got == [0, 2, 4, 5] and reader.damaged_packets == 2
    said = caplog.text
    assert f"{paths[1].name}: 3072 MB, too large for an image: not read" in said
    assert "20000x20000 px, too large for an image: not decoded" in said


def test_a_snapshot_that_does_not_decode_is_said_when_the_folder_is_indexed(tmp_path: Path, models) -> None:
    """A half-written snapshot (its header whole, its pixels cut) was skipped with a log line only: the
    index's note and the video's message did not say it (a helper's sweep)."""
    paths = write_named(tmp_path / "cam1", tud_frames(5))
    data = paths[6].read_bytes()
    paths[6].write_bytes(data[:400])  # the JPEG's header and tables, no picture
    library = Library(tmp_path / "lib.db")
    events = list(index_video(tmp_path / "cam1", library, models))
    assert events[-1].stage.value == "done"
    (video,) = library.videos()
    assert video.status == "done" and "1 image(s) that do not decode left out" in video.message, video.message


def test_a_skipped_images_name_is_logged_on_one_line(tmp_path: Path, caplog) -> None:
    """The warnings of an image not read logged its name raw: a newline in it wrote a second line."""

    path = tmp_path / "snap\n\x1b[2Jdone.jpg"
    path.write_bytes(b"not an image at all")
    with caplog.at_level(logging.WARNING, logger="pipeline.image_files"):
        assert read_image(path) is None
    assert "snap\\n\\x1b[2Jdone.jpg: not an image" in caplog.text and "\x1b" not in caplog.text
