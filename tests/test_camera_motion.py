"""A moving camera (a PTZ camera's tour, a hand-held phone): its motion between processed frames is
measured from the background and the tracks are moved by it, so people keep their tracks; a fixed
camera is tracked exactly as before."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.moving_views import in_window
from bench.sequences import Sequence as BenchSequence
from bench.sequences import cut, frames_of, read_gt, write_gt
from bench.tracking_quality import mot_metrics
from models.detections import Detections
from pipeline.camera_motion import CameraMotion, CameraMotionConfig, then
from pipeline.indexer import IndexConfig, index_video
from pipeline.motion import gray_thumbnail
from pipeline.storage import Library
from pipeline.tracking import ByteTracker, TrackerConfig
from pipeline.tracking.kalman import warp, xyah_to_xyxy
from pipeline.types import Stage
from tests.conftest import pets
from tests.test_indexing import snapshot

FIRST_FRAMES = 200  # 20 s of PETS09-S2L1


def thumb(image: np.ndarray) -> np.ndarray:
    return gray_thumbnail(image, 160)


@pytest.fixture(scope="module")
def pets_frames() -> list[np.ndarray]:
    return [f for _, f in zip(range(3), frames_of(pets().video))]


def test_a_moved_view_is_measured_in_frame_pixels(pets_frames) -> None:
    """Two views of one real frame, the second shifted (a pan) or enlarged (a zoom): the estimate is
    the view's motion within a pixel; the same view twice is a still camera (no estimate)."""
    frame = pets_frames[0]
    view = frame[30:330, 40:440]  # 400x300
    camera = CameraMotion(CameraMotionConfig(), 400, 300)
    assert camera.step(thumb(view)) is None  # nothing to compare with yet
    assert camera.step(thumb(view.copy())) is None  # still
    panned = frame[21:321, 57:457]  # the view moved 17 px right and 9 up: the scene moves left, down
    affine = camera.step(thumb(panned))
    assert affine is not None and np.allclose(affine[:, 2], [-17, 9], atol=1.0)
    assert np.allclose(affine[:, :2], np.eye(2), atol=0.01)

    zoom = CameraMotion(CameraMotionConfig(), 400, 300)
    zoom.step(thumb(view))
    centre = np.float32([[1.06, 0, -0.06 * 200], [0, 1.06, -0.06 * 150]])  # 6 % closer, about the centre
    affine = zoom.step(thumb(cv2.warpAffine(view, centre, (400, 300))))
    assert affine is not None and abs(np.sqrt(np.linalg.det(affine[:, :2])) - 1.06) < 0.01
    assert np.allclose(affine[:, 2], centre[:, 2], atol=1.5)


def test_people_walking_past_a_fixed_camera_are_not_camera_motion(pets_frames) -> None:
    camera = CameraMotion(CameraMotionConfig(), 480, 360)
    assert all(camera.step(thumb(f)) is None for f in pets_frames)


def test_the_estimate_resumes_from_a_checkpoint(pets_frames) -> None:
    frame = pets_frames[0]
    a = CameraMotion(CameraMotionConfig(), 400, 300)
    a.step(thumb(frame[30:330, 40:440]), np.array([[10.0, 10, 50, 90]]))
    b = CameraMotion(CameraMotionConfig(), 400, 300)
    b.load_state_dict(a.state_dict())
    moved = thumb(frame[21:321, 57:457])
    assert np.array_equal(a.step(moved), b.step(moved))


def test_motions_compose_and_move_tracks_with_the_view() -> None:
    pan = np.array([[1.0, 0, -30], [0, 1, 5]])
    zoom = np.array([[2.0, 0, 0], [0, 2.0, 0]])
    both = then(pan, zoom)  # pan first, then zoom
    assert np.allclose(both, [[2, 0, -60], [0, 2, 10]]) and then(None, pan) is pan
    mean = np.array([[100.0, 50, 0.5, 80, 3, 0, 0, 1]])  # centre (100, 50), 80 tall, walking right
    moved, cov = warp(mean, np.eye(8)[None] * 4.0, both)
    assert np.allclose(moved[0, :4], [140, 110, 0.5, 160]) and np.allclose(moved[0, 4:], [6, 0, 0, 2])
    assert np.allclose(cov[0, 3, 3], 16.0)  # the height's uncertainty grows with the view


def test_a_camera_jump_does_not_hand_people_new_tracks() -> None:
    """Two people 40 px apart; between two processed frames the camera pans 60 px (a PTZ camera
    moving to its next preset): matched by box overlap the left one's track takes the right one."""

    def people(shift: float) -> Detections:
        boxes = np.array([[100.0, 50, 130, 130], [170.0, 50, 200, 130]]) - [shift, 0, shift, 0]
        return Detections(boxes, np.array([0.9, 0.9]))

    kept, fresh = ByteTracker(TrackerConfig(), 10.0), ByteTracker(TrackerConfig(), 10.0)
    for f in range(3):
        kept.update(people(0), f)
        fresh.update(people(0), f)
    jump = np.array([[1.0, 0, -60], [0, 1, 0]])
    with_camera = kept.update(people(60), 3, camera=jump)
    without = fresh.update(people(60), 3)

    def owners(step) -> dict[int, int]:  # detection -> track
        return dict(zip(step.det_indices.tolist(), step.track_ids.tolist()))

    assert owners(with_camera) == {0: 1, 1: 2}
    assert owners(without) != {0: 1, 1: 2}  # the left track takes the right person, the left one is new
    boxes = xyah_to_xyxy(np.stack([t.mean[:4] for t in kept.tracks]))
    assert np.allclose(boxes[:, 0], [40, 110], atol=1.0)
    assert kept.needs_attention()  # the view is moving: the detector should look often
    kept.update(people(60), 4)
    assert not kept.needs_attention()  # still again, two people apart and followed


@pytest.fixture(scope="module")
def shaking(tmp_path_factory) -> tuple[BenchSequence, BenchSequence]:
    """The first 20 s of PETS09-S2L1 as a fixed camera sees it, and through a hand-held camera's view
    (two thirds of the scene, drifting and trembling: ``bench.sequences.view_path('shake')``)."""
    out = tmp_path_factory.mktemp("shake")
    video = cut(pets().video, out / "pets20.mp4", 0, FIRST_FRAMES)
    rows = read_gt(BenchSequence("pets", pets().video, pets().gt, 10.0, pets().scale))
    write_gt(rows[rows[:, 0] < FIRST_FRAMES], out / "gt" / "gt.txt")
    still = BenchSequence("pets20", video, out / "gt" / "gt.txt", 10.0, 1.0, "pets")
    return still, in_window(still, out, "shake")


def index(
    seq: BenchSequence, db: Path, models, on: bool = True, config: IndexConfig = IndexConfig()
) -> Library:
    library = Library(db)
    config = dataclasses.replace(config, camera_motion=CameraMotionConfig(enabled=on))
    events = list(index_video(seq.video, library, models, config))
    assert events[-1].stage == Stage.DONE
    return library


def test_a_shaking_camera_keeps_people_on_their_tracks(shaking, models, tmp_path: Path) -> None:
    """Measured against the ground truth: with the camera's motion followed, far fewer identity
    switches and a much higher IDF1; the report says the camera moved. The fixed camera's footage
    is not taken for a moving one."""
    still, shaky = shaking
    on = index(shaky, tmp_path / "on.db", models)
    off = index(shaky, tmp_path / "off.db", models, on=False)
    with_motion = mot_metrics(on, shaky.video, shaky.gt, 1.0)
    without = mot_metrics(off, shaky.video, shaky.gt, 1.0)
    assert with_motion["idf1"] >= without["idf1"] + 0.15
    assert with_motion["num_switches"] <= 0.5 * without["num_switches"]
    report = json.loads(on.videos()[0].report_json)
    assert report["camera_moved_frames"] >= 0.8 * report["detector_frames"]
    fixed = index(still, tmp_path / "still.db", models)
    assert json.loads(fixed.videos()[0].report_json)["camera_moved_frames"] == 0


def test_an_interrupted_run_on_a_moving_camera_resumes_to_the_same_result(
    shaking, models, tmp_path: Path
) -> None:
    """The estimate's last frame and the people in it are part of the checkpoint."""
    _, shaky = shaking
    small_chunks = IndexConfig(chunk_s=3.0)
    reference = index(shaky, tmp_path / "ref.db", models, config=small_chunks)
    library = Library(tmp_path / "crash.db")
    gen = index_video(shaky.video, library, models, small_chunks)
    for ev in gen:
        if ev.stage == Stage.INDEXING and ev.frames_done >= FIRST_FRAMES // 2:
            break
    gen.close()
    assert 0 < library.videos()[0].frames_done < FIRST_FRAMES
    assert list(index_video(shaky.video, library, models, small_chunks))[-1].stage == Stage.DONE
    assert snapshot(library, shaky.video) == snapshot(reference, shaky.video)
