"""A camera that changes resolution part-way through a recording (reconfigured, or a recorder that
drops to the camera's sub-stream) stores frames of two sizes in one stream: every frame is seen at
the video's size, so boxes, the player and exported clips all stay in one set of pixels."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.boxes import iou_matrix
from pipeline.export import export_track
from pipeline.frames import FrameSource
from pipeline.indexer import index_video
from pipeline.storage import Library
from pipeline.types import PATH_X1
from pipeline.video import VideoReader, probe
from tests.conftest import tud
from tests.test_export import decode_all
from tests.test_image_sequence import tud_frames

SWITCH = 35  # first frame recorded at the lower resolution
LOW = (320, 240)


def write_segment(path: Path, frames: list[np.ndarray], size: tuple[int, int], first_pts: int) -> None:
    import av

    with av.open(str(path), "w", format="mpegts") as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.codec_context.time_base = Fraction(1, 25)
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(
                cv2.resize(img, size, interpolation=cv2.INTER_AREA), format="bgr24"
            )
            frame.pts, frame.time_base = first_pts + i, Fraction(1, 25)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.fixture(scope="module")
def changing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    """TUD-Campus recorded at 640x480, then from frame ``SWITCH`` at 320x240, in one MPEG-TS stream
    (two recordings of one camera joined, as a recorder writes them)."""
    frames = tud_frames(every=1)
    folder = tmp_path_factory.mktemp("reschange")
    video, tail = folder / "camera.ts", folder / "tail.ts"
    write_segment(video, frames[:SWITCH], (640, 480), 0)
    write_segment(tail, frames[SWITCH:], LOW, SWITCH)
    with open(video, "ab") as out:
        out.write(tail.read_bytes())
    return video, frames


def test_every_frame_has_the_videos_size(changing) -> None:
    video, frames = changing
    info = probe(video)
    assert (info.width, info.height) == (640, 480)
    reader = VideoReader(info)
    got = [f.image for f in reader]
    assert len(got) == len(frames)
    assert {g.shape for g in got} == {(480, 640, 3)}
    assert reader.rescaled_frames == len(frames) - SWITCH
    late = len(frames) - 5  # the lower-resolution picture, scaled up: the same scene, blurrier
    assert np.abs(got[late].astype(int) - frames[late].astype(int)).mean() < 12
    with FrameSource(video) as source:
        assert source.frame(late).shape == (480, 640, 3)
        assert source.frame(3).shape == (480, 640, 3)


def test_boxes_after_the_change_are_in_the_videos_pixels(tmp_path: Path, changing, models, indexed) -> None:
    video, _ = changing
    library = Library(tmp_path / "library.db")
    events = list(index_video(video, library, models))
    (summary,) = library.videos()
    assert "picture size changed part-way" in events[-1].message
    tracks = library.video_tracks(summary.video_id)
    # the same people at the same places as in the original 640x480 recording
    original = [t.path for t in indexed.video_tracks(indexed.video_id(tud().video))]
    later = np.vstack([t.path[t.path[:, 0] >= SWITCH + 5] for t in tracks])
    assert len(later) > 20
    boxes = later[:, PATH_X1 : PATH_X1 + 4]
    assert boxes.min() >= -1 and boxes[:, [0, 2]].max() <= 641 and boxes[:, [1, 3]].max() <= 481
    matched = 0
    for frame, box in zip(later[:, 0].astype(int), boxes):
        there = np.vstack([p[p[:, 0] == frame, PATH_X1 : PATH_X1 + 4] for p in original])
        matched += bool(len(there)) and iou_matrix(box[None], there).max() > 0.5
    assert matched > 0.7 * len(later)
    # someone walking through the change keeps one track
    assert any(t.first_frame < SWITCH - 5 and t.last_frame > SWITCH + 5 for t in tracks)


def test_a_clip_across_the_change_plays_at_one_size(tmp_path: Path, changing, models) -> None:
    video, _ = changing
    library = Library(tmp_path / "library.db")
    for _ in index_video(video, library, models):
        pass
    (summary,) = library.videos()
    track = max(library.video_tracks(summary.video_id), key=lambda t: t.last_frame - t.first_frame)
    assert track.first_frame < SWITCH < track.last_frame
    clip = export_track(track, tmp_path / "clip.mp4", annotate=True, score=0.9)
    frames = decode_all(clip.path)
    assert len(frames) == clip.frames and {f.shape for f in frames} == {(480, 640, 3)}
