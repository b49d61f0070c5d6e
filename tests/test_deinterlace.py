"""Interlaced footage (two fields woven into each frame, as an analogue camera behind a DVR records)
is deinterlaced as it is decoded: the indexer, the player and clips see whole pictures; progressive
footage passes untouched."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import pipeline.deinterlace
from pipeline.frames import FrameSource
from pipeline.indexer import index_video
from pipeline.storage import Library
from pipeline.video import VideoReader, probe
from tests.test_image_sequence import tud_frames


def write_frames(path: Path, frames: list[np.ndarray], fps: float, interlaced: bool) -> Path:
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"crf": "18", "bf": "0", "g": "12"} | (
            {"x264-params": "interlaced=1"} if interlaced else {}
        )
        for img in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def fields() -> list[np.ndarray]:
    """TUD-Campus at 25 fps: consecutive frames stand for the two fields of one interlaced frame."""
    return tud_frames(every=1)


def weave(fields: list[np.ndarray]) -> list[np.ndarray]:
    """Frame i: the even lines of frame 2i and the odd lines of frame 2i + 1."""
    frames = []
    for i in range(len(fields) // 2):
        w = fields[2 * i].copy()
        w[1::2] = fields[2 * i + 1][1::2]
        frames.append(w)
    return frames


@pytest.fixture(scope="module")
def woven(tmp_path_factory: pytest.TempPathFactory, fields: list[np.ndarray]) -> Path:
    """Woven frames in a stream flagged interlaced."""
    return write_frames(tmp_path_factory.mktemp("woven") / "dvr.mp4", weave(fields), 12.5, True)


def decoded_as_is(video: Path) -> list[np.ndarray]:
    with av.open(str(video)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def combing(image: np.ndarray, fields: list[np.ndarray], i: int) -> float:
    """How far a picture of frame ``i`` is from a whole picture, where people move: the mean
    difference to the nearer of its two fields' moments (frames 2i and 2i + 1)."""
    a, b = fields[2 * i].astype(int), fields[2 * i + 1].astype(int)
    moving = np.abs(a - b).max(axis=2) > 25
    return min(float(np.abs(image.astype(int) - x)[moving].mean()) for x in (a, b))


def test_interlaced_frames_come_whole(woven: Path, fields: list[np.ndarray]) -> None:
    raw = decoded_as_is(woven)
    reader = VideoReader(probe(woven))
    got = [f.image for f in reader]
    assert len(got) == len(raw) == len(fields) // 2  # one picture per frame: indices and times kept
    assert reader.deinterlaced_frames == len(raw)
    for i in range(3, len(got) - 1, 5):
        assert combing(got[i], fields, i) < 0.4 * combing(raw[i], fields, i)
    with FrameSource(woven) as source:  # the player, after a jump (a seek) and stepping
        for i in (30, 4, 5):
            assert combing(source.frame(i), fields, i) < 0.4 * combing(raw[i], fields, i)


def test_woven_frames_of_a_stream_that_does_not_say_so_come_whole(
    tmp_path: Path, fields: list[np.ndarray]
) -> None:
    """A DVR that encodes its analogue camera's woven picture as progressive: the combing is found."""
    video = write_frames(tmp_path / "cheap_dvr.mp4", weave(fields), 12.5, False)
    raw = decoded_as_is(video)
    with av.open(str(video)) as c:
        assert not any(f.interlaced_frame for f in c.decode(video=0))  # the stream does not say so
    reader = VideoReader(probe(video))
    got = [f.image for f in reader]
    assert len(got) == len(raw) and reader.deinterlaced_frames >= len(raw) - 3
    for i in range(3, len(got) - 1, 5):
        assert combing(got[i], fields, i) < 0.4 * combing(raw[i], fields, i)


def test_progressive_frames_pass_untouched(tmp_path: Path, fields: list[np.ndarray]) -> None:
    video = write_frames(tmp_path / "cam.mp4", fields[:20], 25, False)
    reader = VideoReader(probe(video))
    got = [f.image for f in reader]
    assert reader.deinterlaced_frames == 0
    assert all(np.array_equal(g, r) for g, r in zip(got, decoded_as_is(video), strict=True))


def test_indexing_says_it_deinterlaced(tmp_path: Path, woven: Path, models) -> None:
    library = Library(tmp_path / "library.db")
    events = list(index_video(woven, library, models))
    assert "interlaced: 35 frames deinterlaced" in events[-1].message
    (summary,) = library.videos()
    assert len(library.video_tracks(summary.video_id)) >= 4  # TUD-Campus's people


def test_a_filter_ffmpeg_cannot_build_leaves_frames_as_decoded(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, woven: Path
) -> None:
    monkeypatch.setattr(pipeline.deinterlace, "FILTER", "no_such_filter")
    with caplog.at_level(logging.WARNING, logger="pipeline.deinterlace"):
        reader = VideoReader(probe(woven))
        got = [f.image for f in reader]
    raw = decoded_as_is(woven)
    assert len(got) == len(raw) and reader.deinterlaced_frames == 0
    assert all(np.array_equal(g, r) for g, r in zip(got, raw))
    assert sum("cannot check for interlacing" in r.getMessage() for r in caplog.records) == 1


def test_a_picture_of_a_fields_lines_or_fewer_is_not_checked(tmp_path: Path) -> None:
    """idet judged a 16x16 video of noise interlaced in every frame, and indexing said so; no
    interlaced format has so few lines (``FIELD_LINES``)."""
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(20)]
    video = write_frames(tmp_path / "tiny.mp4", noise, 10, False)
    reader = VideoReader(probe(video))
    got = [f.image for f in reader]
    assert reader.deinterlaced_frames == 0
    assert all(np.array_equal(g, r) for g, r in zip(got, decoded_as_is(video), strict=True))
