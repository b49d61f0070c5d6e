"""Footage whose pixels are not square: an analogue camera's DVR stores its 4:3 picture as 704x576
(PAL D1), each pixel 12:11 as wide as high, and says so in the stream. Detection, tracking and the
JSON boxes stay in stored pixels; what a person looks at (clips, thumbnails, the player) is shown at
4:3, as the DVR's own player shows it."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.appearance import thumbnail
from pipeline.export import export_track
from pipeline.indexer import index_video
from pipeline.storage import Library
from pipeline.types import PATH_X1
from pipeline.video import VideoReader, probe
from tests.test_image_sequence import tud_frames

D1 = (704, 576)
SAR = Fraction(12, 11)  # PAL: 704 x 12/11 = 768 = 576 x 4/3


def write_d1(path: Path, frames: list[np.ndarray], sar: Fraction | None = SAR, turn: bool = False) -> Path:
    """4:3 frames stored as D1 (squeezed across, as a DVR digitises an analogue picture), the stream
    marked with ``sar``; ``turn``: stored on its side with a display matrix that turns it upright."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height = (D1[1], D1[0]) if turn else D1
        s.pix_fmt = "yuv420p"
        if sar is not None:
            s.codec_context.sample_aspect_ratio = 1 / sar if turn else sar
        if turn:
            s.set_display_rotation(-90)
        for img in frames:
            stored = cv2.resize(img, D1, interpolation=cv2.INTER_AREA)
            if turn:
                stored = cv2.rotate(stored, cv2.ROTATE_90_COUNTERCLOCKWISE)
            for p in s.encode(av.VideoFrame.from_ndarray(stored, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def d1_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_d1(tmp_path_factory.mktemp("d1") / "dvr.mp4", tud_frames(every=1))


def indexed_library(folder: Path, video: Path, models) -> Library:
    library = Library(folder / "library.db")
    for _ in index_video(video, library, models):
        pass
    return library


@pytest.fixture(scope="module")
def d1_library(tmp_path_factory: pytest.TempPathFactory, d1_video: Path, models) -> Library:
    return indexed_library(tmp_path_factory.mktemp("d1lib"), d1_video, models)


def test_probe_reads_the_pixel_shape(tmp_path: Path, d1_video: Path) -> None:
    info = probe(d1_video)
    assert (info.width, info.height) == D1  # stored pixels: what boxes are measured in
    assert info.pixel_aspect == pytest.approx(12 / 11)
    assert info.display_size == (768, 576)
    square = probe(write_d1(tmp_path / "square.mp4", tud_frames(every=10), sar=None))
    assert square.pixel_aspect == 1.0 and square.display_size == D1
    # recorded on its side: the upright picture's pixels are 12:11, as in the unturned recording
    turned = probe(write_d1(tmp_path / "turned.mp4", tud_frames(every=10), turn=True))
    assert (turned.width, turned.height) == D1
    assert turned.pixel_aspect == pytest.approx(12 / 11) and turned.display_size == (768, 576)
    assert next(iter(VideoReader(turned))).image.shape == (D1[1], D1[0], 3)


def test_thumbnail_of_a_crop() -> None:
    crop = np.zeros((200, 80, 3), np.uint8)
    for aspect, width in ((1.0, 51), (12 / 11, 56), (10 / 11, 47)):
        jpeg = thumbnail(crop, 128, aspect)
        assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (128, width, 3)


def test_tracks_in_stored_pixels_thumbnails_in_square_ones(
    tmp_path: Path, d1_video: Path, d1_library: Library, models
) -> None:
    """The same pixels marked square or 12:11: the same boxes (detection works on stored pixels), and
    every person's thumbnail 12/11 as wide in the second."""
    square = write_d1(tmp_path / "square.mp4", tud_frames(every=1), sar=None)
    plain = indexed_library(tmp_path, square, models)
    (v,), (p,) = d1_library.videos(), plain.videos()
    tracks, control = d1_library.video_tracks(v.video_id), plain.video_tracks(p.video_id)
    assert len(tracks) >= 4 and len(tracks) == len(control)  # TUD-Campus's people
    boxes = np.vstack([t.path[:, PATH_X1 : PATH_X1 + 4] for t in tracks])
    assert boxes[:, [0, 2]].max() <= D1[0] + 1  # 704 wide, not 768
    assert np.allclose(boxes, np.vstack([t.path[:, PATH_X1 : PATH_X1 + 4] for t in control]))
    wide, narrow = d1_library.thumbnails([t.pk for t in tracks]), plain.thumbnails([t.pk for t in control])
    for t, c in zip(tracks, control):
        a = cv2.imdecode(np.frombuffer(wide[t.pk], np.uint8), cv2.IMREAD_COLOR).shape
        b = cv2.imdecode(np.frombuffer(narrow[c.pk], np.uint8), cv2.IMREAD_COLOR).shape
        assert a[0] == b[0] and abs(a[1] - b[1] * 12 / 11) <= 1


def test_a_clip_plays_at_the_pictures_shape(tmp_path: Path, d1_library: Library) -> None:
    import av

    (summary,) = d1_library.videos()
    track = max(d1_library.video_tracks(summary.video_id), key=lambda t: t.last_frame - t.first_frame)
    clip = export_track(track, tmp_path / "clip.mp4", annotate=True, score=0.9)
    with av.open(str(clip.path)) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == D1  # the source's pixels
        assert stream.sample_aspect_ratio == SAR  # played at 768x576, as the original
        assert stream.display_aspect_ratio == Fraction(4, 3)
    thumb = cv2.imread(str(clip.thumbnail))
    assert thumb.shape[:2] == (576, 768)  # a picture with no player to stretch it: square pixels
