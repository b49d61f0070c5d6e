"""A recorder that lowers its frame rate while the scene is quiet (a "smart" codec, a recorder short of
disk) writes frames further apart than the first frames say: the tracker counts the recording's
time, not frame numbers, so its gates, velocities and lost buffer fit the frames as they come."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from bench.sequences import base_sequences, frames_of, read_gt, write_gt, write_video
from bench.tracking_quality import mot_metrics
from bench.variable_rate import SLOWER, kept_frames
from pipeline.index_run import IndexRun
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library
from pipeline.video import Frame, probe

SOURCE_FRAMES = 450  # PETS09-S2L1's first 45 s: 15 s at 10 fps, 15 s at 2 fps, 15 s at 10 fps


@pytest.fixture(scope="module")
def slowed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pets = base_sequences()["pets"]
    folder = tmp_path_factory.mktemp("vfr")
    video, gt = folder / "smart_codec.mp4", folder / "gt.txt"
    keep = kept_frames(SOURCE_FRAMES)
    images = list(itertools.islice(frames_of(pets.video), SOURCE_FRAMES))
    write_video(video, (images[f] for f in keep), pets.fps, times=[f / pets.fps for f in keep])
    rows = read_gt(pets)
    rows = rows[np.isin(rows[:, 0], keep)]
    renumbered = {f: k for k, f in enumerate(keep)}
    rows[:, 0] = [renumbered[int(f)] for f in rows[:, 0]]
    write_gt(rows, gt)
    return video, gt


def test_the_tracker_counts_the_recordings_time(slowed, models) -> None:
    video, _ = slowed
    info = probe(video)
    assert info.fps == pytest.approx(10.0)
    run = IndexRun(info, models, IndexConfig())
    third = SOURCE_FRAMES // 3
    frames = [
        Frame(k, t, np.zeros((8, 8, 3), np.uint8)) for k, t in [(0, 0.0), (third, 15.0), (third + 1, 15.5)]
    ]
    run.set_clock(frames)
    # frame numbers say 0.1 s between the last two; the recording says half a second
    assert [run.clock[f.index] for f in frames] == [0, 150, 150 + SLOWER]


def test_people_keep_their_tracks_when_the_rate_drops(slowed, models, tmp_path: Path) -> None:
    """Counted in frame numbers (before), the slow third's people seemed to move five times slower
    and stay lost five times longer: IDF1 0.71 with 12 identity switches; now 0.88 with 5."""
    video, gt = slowed
    library = Library(tmp_path / "library.db")
    for _ in index_video(video, library, models):
        pass
    m = mot_metrics(library, video, gt, 1.0)
    assert m["idf1"] > 0.8 and m["num_switches"] <= 8, m


def test_an_exported_clip_plays_its_frames_at_their_recorded_times(slowed, tmp_path: Path) -> None:
    """Two seconds each side of the drop to 2 fps: the clip's frames are as far apart as they were
    recorded (0.1 s, then 0.5 s), not all at 10 fps (the slow half played five times too fast)."""
    import av

    from pipeline.export import ExportConfig, drain, iter_export_clip

    video, _ = slowed
    third = SOURCE_FRAMES // 3
    clip = drain(iter_export_clip(video, third - 20, third + 4, tmp_path / "c.mp4", config=ExportConfig(0.0)))
    recorded = [f / 10 for f in kept_frames(SOURCE_FRAMES)[third - 20 : third + 5]]
    with av.open(str(clip.path)) as c:
        stream = c.streams.video[0]
        played = [float(f.pts * f.time_base) for f in c.decode(stream)]
        length = float(stream.duration * stream.time_base)
    assert played == pytest.approx([t - recorded[0] for t in recorded], abs=1e-3)
    assert length == pytest.approx(recorded[-1] - recorded[0] + 0.1, abs=1e-3)


def test_margins_count_the_rate_the_person_was_recorded_at(tmp_path: Path) -> None:
    """A recorder at 2 fps while the scene is quiet and 10 fps on motion: a hit in the motion is
    given its two seconds each side (the rate of its own frames), not the 0.4 s that the 2 fps of
    the file's first frames would count (four frames)."""
    from pipeline.export import ExportConfig, drain, iter_export_clip
    from pipeline.types import PATH_COLUMNS, PATH_FRAME, PATH_TS

    quiet, motion = list(range(0, 400, 5)), list(range(400, 600))  # PETS frames kept, 10 fps source
    keep = quiet + motion
    images = list(itertools.islice(frames_of(base_sequences()["pets"].video), 600))
    video = tmp_path / "event_rate.mp4"
    write_video(video, (images[f] for f in keep), 10.0, times=[f / 10 for f in keep])
    assert probe(video).fps == pytest.approx(2.0, abs=0.01)
    start, end = len(quiet) + 100, len(quiet) + 110  # source frames 500-510: 50.0-51.0 s
    path = np.zeros((11, PATH_COLUMNS))
    path[:, PATH_FRAME] = np.arange(start, end + 1)
    path[:, PATH_TS] = [keep[f] / 10 for f in range(start, end + 1)]
    clip = drain(iter_export_clip(video, start, end, tmp_path / "c.mp4", path, config=ExportConfig(2.0)))
    assert (clip.start_frame, clip.end_frame) == (start - 20, end + 20)  # 48.0-53.0 s


def test_one_glitched_timestamp_does_not_set_the_margins_rate() -> None:
    """A step of a nanosecond in a track's times (a recorder's clock glitch) made the margins 240 fps:
    480 frames read each side of a 2 fps folder's hit, minutes of decoding for a clip cut by time."""
    from pipeline.export import rate_around
    from pipeline.types import PATH_COLUMNS, PATH_FRAME, PATH_TS

    path = np.zeros((6, PATH_COLUMNS))
    path[:, PATH_FRAME] = np.arange(6)
    path[:, PATH_TS] = [0.0, 0.5, 1.0, 1.0 + 1e-9, 2.0, 2.5]  # 2 fps, one glitch
    assert rate_around(path, 2.0) == 2.0
    path[:, PATH_TS] = np.arange(6) / 10  # the person recorded at 10 fps in a "2 fps" file
    assert rate_around(path, 2.0) == pytest.approx(10.0)
    assert rate_around(path[:1], 2.0) == 2.0 and rate_around(None, 2.0) == 2.0
