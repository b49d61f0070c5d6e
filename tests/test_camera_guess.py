"""Where a video's camera and start come from: its file name, its folder (a day's folder is not a
camera), its container, its snapshots; and a camera name that better guesses split."""

from __future__ import annotations

import json
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.cameras import (
    FROM_CONTAINER,
    FROM_FOLDER,
    FROM_NAME,
    FROM_SNAPSHOTS,
    guess_camera,
    guess_start,
    parse_clock,
)
from pipeline.storage import Library
from tests.test_search import DIM, add_video

T0 = datetime(2026, 11, 21, 14, 30, 0)


@pytest.mark.parametrize(
    ("path", "camera", "start"),
    [
        ("/nvr/Cam03_20261121_143000.mp4", ("Cam03", FROM_NAME), (T0, FROM_NAME)),
        ("/nvr/2026-11-21 14-30-00 Entrance.mp4", ("Entrance", FROM_NAME), (T0, FROM_NAME)),
        ("/footage/Lobby/20261121_143000.mp4", ("Lobby", FROM_FOLDER), (T0, FROM_NAME)),
        ("/footage/Lobby/clip0001.mp4", ("Lobby", FROM_FOLDER), (None, "")),
        ("/nvr/NVR_ch2_main_20261121143000_20261121150000.mp4", ("NVR_ch2_main", FROM_NAME), (T0, FROM_NAME)),
        ("/nvr/Camera12345_20261121_143000.mp4", ("Camera12345", FROM_NAME), (T0, FROM_NAME)),
        ("/proc/1/root/x/Cam03_20261121_143000.mp4", ("Cam03", FROM_NAME), (T0, FROM_NAME)),  # unreadable
        # a number right after the time is a burst's or a copy's counter, not the camera's name: a
        # snapshot folder's burst was "5 cameras (cam1_1, cam1_2, ...)", a copy a camera "Entrance (2"
        ("/snaps/cam1_20261121_143000_3.jpg", ("cam1", FROM_NAME), (T0, FROM_NAME)),
        ("/nvr/Entrance 2026-11-21 14-30-00 (2).mp4", ("Entrance", FROM_NAME), (T0, FROM_NAME)),
        ("/nvr/Cam03_20261121_143000_1.mp4", ("Cam03", FROM_NAME), (T0, FROM_NAME)),
        ("/nvr/NVR_20261121_143000_5_main.mp4", ("NVR_5_main", FROM_NAME), (T0, FROM_NAME)),  # a channel
        (
            "/nvr/Cam_2_20261121_143000.mp4",
            ("Cam_2", FROM_NAME),
            (T0, FROM_NAME),
        ),  # before the time: its name
    ],
)
def test_camera_and_start_from_the_path(path: str, camera: tuple, start: tuple) -> None:
    assert guess_camera(path) == camera
    assert guess_start(path, container=False) == start


def test_start_from_the_container_when_the_name_has_none(tmp_path: Path) -> None:
    video = tmp_path / "Gate" / "clip.mp4"
    video.parent.mkdir()
    with av.open(str(video), "w") as out:
        out.metadata["creation_time"] = "2026-11-21T14:30:00.000000Z"
        stream = out.add_stream("mpeg4", rate=Fraction(10))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * k, np.uint8), format="bgr24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    when, source = guess_start(video)
    assert source == FROM_CONTAINER
    assert when == parse_clock("2026-11-21T14:30:00Z")  # UTC, as local time here
    assert guess_camera(video) == ("Gate", FROM_FOLDER)


def test_a_camera_name_split_by_better_guesses_keeps_every_camera_in_a_case(library_db: str) -> None:
    """One wrong name for two cameras ('snapshot', CamA and CamB's day folders) guessed better video
    by video: a case filtered to it kept only the camera renamed last (a review)."""
    library = Library(library_db)
    ids = [add_video(library, name, [np.ones(DIM)]) for name in ("a", "b")]
    paths = {v.video_id: v.path for v in library.videos()}
    for vid in ids:
        library.record_clock_guess(vid, paths[vid], ("snapshot", FROM_FOLDER), (None, ""))
    library.create_case("c", [], "")
    library.update_case("c", filter_json=json.dumps({"cameras": ["snapshot", "Yard"]}))
    for vid, camera in zip(ids, ("CamA", "CamB")):
        library.record_clock_guess(vid, paths[vid], (camera, FROM_SNAPSHOTS), (None, ""))
    assert sorted(json.loads(library.case("c").filter_json)["cameras"]) == ["CamA", "CamB", "Yard"]
    library.close()


def test_a_folder_named_by_a_day_takes_its_camera_from_its_images(tmp_path: Path, models) -> None:
    """A recorder's export of a day (``2026-11-25/Cam03_20261125_100000.jpg``) was camera
    "2026-11-25", a new camera every day, and ``--camera Cam03`` found none of it (a sweep). A folder
    named by a day alone is no camera: the one camera its images all name is, else the folder above."""
    from pipeline.indexer import index_video
    from tests.test_image_sequence import tud_frames, write_named

    day = tmp_path / "export" / "2026-11-25"
    write_named(day, tud_frames(20))  # cam1_20261121_...jpg
    files = sorted(day.iterdir())
    assert guess_camera(day, images=files) == ("cam1", FROM_SNAPSHOTS)
    unnamed = tmp_path / "Lobby" / "20261126"
    unnamed.mkdir(parents=True)
    plain = [unnamed / f"20261126_1000{k:02d}.jpg" for k in range(3)]
    for p in plain:
        p.write_bytes(b"")
    assert guess_camera(unnamed, images=plain) == ("Lobby", FROM_FOLDER)
    two = tmp_path / "2026-11-27"
    two.mkdir()
    both = [two / "CamA_20261127_100000.jpg", two / "CamB_20261127_100001.jpg"]
    assert guess_camera(two, images=both) == (tmp_path.name, FROM_FOLDER)
    generic = tmp_path / "CamB" / "2026-11-25"  # "snapshot" names any image, not a camera
    generic.mkdir(parents=True)
    shots = [generic / f"snapshot_20261125_1000{k:02d}.jpg" for k in range(3)]
    assert guess_camera(generic, images=shots) == ("CamB", FROM_FOLDER)
    named = tmp_path / "Gate_20261125"  # its own name (with a date, no time: not a day alone)
    assert guess_camera(named, True, plain) == ("Gate_20261125", FROM_FOLDER)

    library = Library(tmp_path / "lib.db")
    for _ in index_video(day, library, models):
        pass
    assert [v.camera for v in library.videos()] == ["cam1"]
    # a library indexed before named the camera "2026-11-25", and a case was filtered to it: the
    # better guess of the next run renames the camera, and the case follows (a review)
    (video,) = library.videos()
    library.record_clock_guess(video.video_id, video.path, ("2026-11-25", FROM_FOLDER), (None, ""))
    library.create_case("day", [], "")
    library.update_case("day", filter_json=json.dumps({"cameras": ["2026-11-25"]}))
    for _ in index_video(day, library, models):  # nothing to index: the guess is made again
        pass
    assert [v.camera for v in library.videos()] == ["cam1"]
    assert json.loads(library.case("day").filter_json)["cameras"] == ["cam1"]
    library.close()
