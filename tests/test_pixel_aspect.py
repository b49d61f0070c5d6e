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

from bench.sequences import frames_of, read_gt
from models.boxes import iou_matrix
from pipeline import index_run
from pipeline.export import export_track
from pipeline.index_run import IndexRun
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library
from pipeline.types import PATH_X1, box_at
from pipeline.video import VideoReader, probe
from tests.conftest import pets
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


def test_boxes_stay_in_stored_pixels(d1_library: Library) -> None:
    (v,) = d1_library.videos()
    tracks = d1_library.video_tracks(v.video_id)
    assert len(tracks) >= 4  # TUD-Campus's people
    boxes = np.vstack([t.path[:, PATH_X1 : PATH_X1 + 4] for t in tracks])
    assert boxes[:, [0, 2]].max() <= D1[0] + 1  # 704 wide, not 768
    thumbs = d1_library.thumbnails([t.pk for t in tracks])
    assert all(cv2.imdecode(np.frombuffer(thumbs[t.pk], np.uint8), 1).shape[0] == 128 for t in tracks)


def test_the_run_works_in_square_pixels(d1_video: Path, models) -> None:
    info = probe(d1_video)
    run = IndexRun(info, models, IndexConfig())
    frame = next(iter(VideoReader(info)))
    assert frame.image.shape == (576, 704, 3)
    assert run.admit(frame).image.shape == (576, 768, 3)  # stretched across, as the picture is shown


def half_width(n: int, out: Path) -> tuple[Path, np.ndarray]:
    """The first ``n`` frames of PETS09-S2L1 stored at half their width, pixels marked 2:1 (an old
    DVR's Half D1), and the ground truth (frame, id, x1, y1, x2, y2) in those stored pixels."""
    import av

    seq = pets()
    with av.open(str(out), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(10))
        s.width, s.height, s.pix_fmt = 240, 360, "yuv420p"
        s.codec_context.sample_aspect_ratio = Fraction(2)
        for _, img in zip(range(n), frames_of(seq.video)):
            half = cv2.resize(img, (240, 360), interpolation=cv2.INTER_AREA)
            for p in s.encode(av.VideoFrame.from_ndarray(half, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    gt = read_gt(seq)
    gt = gt[gt[:, 0] < n]
    gt[:, [2, 4]] *= 0.5
    return out, gt


def found_share(library: Library, gt: np.ndarray) -> float:
    """Share of the ground truth's boxes that a track's box (between its observations) overlaps at
    IoU 0.5 or more."""
    (v,) = library.videos()
    tracks = library.video_tracks(v.video_id)
    found = 0
    for row in gt:
        boxes = [b for t in tracks if (b := box_at(t.path, int(row[0]), 10)) is not None]
        found += bool(boxes) and iou_matrix(row[None, 2:6], np.array(boxes)).max() >= 0.5
    return found / len(gt)


def test_people_are_found_in_half_width_footage(
    tmp_path: Path, models, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half D1 squeezes people to half their width: the detector, trained on square pixels, misses
    many of them unless it is given the picture as it is shown."""
    video, gt = half_width(60, tmp_path / "half_d1.mp4")
    shown = Library(tmp_path / "shown.db")
    for _ in index_video(video, shown, models):
        pass
    boxes = np.vstack(
        [t.path[:, PATH_X1 : PATH_X1 + 4] for t in shown.video_tracks(shown.videos()[0].video_id)]
    )
    assert boxes[:, [0, 2]].max() <= 241  # stored pixels
    monkeypatch.setattr(index_run, "square_scale", lambda aspect: (1.0, 1.0))  # as before: stored pixels
    stored = Library(tmp_path / "stored.db")
    for _ in index_video(video, stored, models):
        pass
    assert found_share(shown, gt) > max(0.75, found_share(stored, gt) + 0.1)  # measured 0.83 against 0.66


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
