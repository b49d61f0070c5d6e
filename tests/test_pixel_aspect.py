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

from pipeline.appearance import AppearanceConfig, TrackBuilder, thumbnail
from pipeline.export import export_track
from pipeline.index_run import IndexRun
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library
from pipeline.tracking import EndedTrack, TrackerStep
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


@pytest.fixture(scope="module")
def d1_library(tmp_path_factory: pytest.TempPathFactory, d1_video: Path, models) -> Library:
    library = Library(tmp_path_factory.mktemp("d1lib") / "library.db")
    events = list(index_video(d1_video, library, models))
    assert "pixels 12:11, not square: shown at 768x576" in events[-1].message
    return library


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


def test_boxes_stay_in_stored_pixels(d1_library: Library) -> None:
    (v,) = d1_library.videos()
    tracks = d1_library.video_tracks(v.video_id)
    assert len(tracks) >= 4  # TUD-Campus's people
    boxes = np.vstack([t.path[:, PATH_X1 : PATH_X1 + 4] for t in tracks])
    assert boxes[:, [0, 2]].max() <= D1[0] + 1  # 704 wide, not 768
    thumbs = d1_library.thumbnails([t.pk for t in tracks])
    assert all(cv2.imdecode(np.frombuffer(thumbs[t.pk], np.uint8), 1).shape[0] == 128 for t in tracks)


def test_track_thumbnails_are_in_square_pixels(d1_video: Path, models) -> None:
    """The same person's crops, kept by a builder for 12:11 pixels and one for square pixels: the same
    thumbnail height, 12/11 as wide (and the indexer gives its builder the video's pixel shape)."""
    info = probe(d1_video)
    assert IndexRun(info, models, IndexConfig()).builder.pixel_aspect == pytest.approx(12 / 11)
    frames = [f.image for f in VideoReader(info)][:12]
    found = [models.detector.detect([img])[0] for img in frames]
    wide, square = (
        TrackBuilder(AppearanceConfig(), info.fps, 12 / 11),
        TrackBuilder(AppearanceConfig(), info.fps),
    )
    for k, (img, dets) in enumerate(zip(frames, found)):
        people = np.arange(len(dets))[dets.score > 0.5][:1]  # one person, one "track" 1
        step = TrackerStep(k, np.ones(len(people), int), people)
        wide.observe(k, k / info.fps, img, dets, step)
        square.observe(k, k / info.fps, img, dets, step)
    ended = [EndedTrack(1, True, 0, len(frames) - 1)]
    (a,), (b,) = wide.finish(ended, models.reid), square.finish(ended, models.reid)
    a_img = cv2.imdecode(np.frombuffer(a.thumbnail_jpeg, np.uint8), cv2.IMREAD_COLOR)
    b_img = cv2.imdecode(np.frombuffer(b.thumbnail_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert a_img.shape[0] == b_img.shape[0] == 128
    assert abs(a_img.shape[1] - b_img.shape[1] * 12 / 11) <= 1


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
