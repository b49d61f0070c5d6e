"""A recorder that records on motion or on a schedule writes one file with gaps: its timestamps jump
by minutes or hours between two consecutive frames. Nobody is followed, or linked, across a gap."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import pytest

from bench.sequences import frames_of
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library
from pipeline.types import Stage
from tests.conftest import pets
from tests.test_cli import cli
from tests.test_indexing import snapshot

BEFORE = 60  # frames recorded before the recorder stopped
GAP_S = 3600.0  # then an hour without a frame
FRAMES = 120


def write_with_gap(path: Path) -> Path:
    """PETS09-S2L1's first 12 s at 10 fps, timestamps jumping by an hour after frame ``BEFORE``: the
    same people in the same places on both sides, so only the time tells the gap."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(10))
        s.width, s.height, s.pix_fmt = 480, 360, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for k, img in zip(range(FRAMES), frames_of(pets().video)):
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = round((k * 0.1 + (GAP_S if k >= BEFORE else 0.0)) * 1000)
            frame.time_base = Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def gapped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_with_gap(tmp_path_factory.mktemp("gap") / "motion_recording.mp4")


def test_no_track_or_person_spans_a_gap_in_the_recording(gapped: Path, tmp_path: Path) -> None:
    p = cli("index", str(gapped), "--db", str(tmp_path / "lib.db"))
    assert p.returncode == 0, p.stderr
    assert "1 gap in the recording (longest 1:00:00.0): tracks end at each" in p.stderr, p.stderr
    library = Library(tmp_path / "lib.db")
    (v,) = library.videos()
    report = json.loads(v.report_json)
    assert report["recording_gaps"]["count"] == 1
    assert abs(report["recording_gaps"]["longest_s"] - GAP_S) < 1
    tracks = library.video_tracks(v.video_id)
    before = [t for t in tracks if t.last_frame < BEFORE]
    after = [t for t in tracks if t.first_frame >= BEFORE]
    assert len(before) >= 4 and len(after) >= 4 and len(before) + len(after) == len(tracks)
    assert all(t.start_s >= GAP_S for t in after) and all(t.end_s < 6.0 for t in before)
    assert v.duration_s == pytest.approx(GAP_S + FRAMES * 0.1)  # the span recorded (timeline, `videos`)
    # the same people stand in the same places on both sides: only the time keeps them apart
    assert not {t.person for t in before} & {t.person for t in after}


def test_steady_footage_has_no_gaps(indexed) -> None:
    for v in indexed.videos():
        assert json.loads(v.report_json)["recording_gaps"] == {"count": 0, "longest_s": 0.0}


def test_an_interrupted_run_resumes_to_the_same_tracks_across_a_gap(
    gapped: Path, models, tmp_path: Path
) -> None:
    """The time of the tracker's last frame is part of the checkpoint: a run stopped just before the
    gap and resumed after it still ends every track there."""
    chunks = IndexConfig(chunk_s=1.0)
    reference = Library(tmp_path / "ref.db")
    list(index_video(gapped, reference, models, chunks))
    library = Library(tmp_path / "crash.db")
    gen = index_video(gapped, library, models, chunks)
    for ev in gen:
        if ev.stage == Stage.INDEXING and ev.frames_done >= BEFORE - 5:
            break
    gen.close()
    assert 0 < library.videos()[0].frames_done <= BEFORE
    assert list(index_video(gapped, library, models, chunks))[-1].stage == Stage.DONE
    assert snapshot(library, gapped) == snapshot(reference, gapped)
    assert json.loads(library.videos()[0].report_json)["recording_gaps"]["count"] == 1


def test_a_rate_that_drops_is_not_a_gap(tmp_path: Path, models) -> None:
    """A recorder that drops from 10 fps to 1 fps leaves a second between frames: more than the frame
    numbers say (and, with the detector every third frame, 2.7 s more between two looks), but no
    gap: nobody's track is ended for it (the first rule counted 7 gaps here)."""
    from bench.sequences import write_video
    from bench.variable_rate import kept_frames

    keep = kept_frames(300, slower=10)
    images = list(itertools.islice(frames_of(pets().video), 300))
    video = tmp_path / "slower.mp4"
    write_video(video, (images[f] for f in keep), 10.0, times=[f / 10.0 for f in keep])
    library = Library(tmp_path / "lib.db")
    list(index_video(video, library, models))
    (v,) = library.videos()
    assert json.loads(v.report_json)["recording_gaps"]["count"] == 0


def test_an_exported_clip_stops_its_margins_at_a_gap_in_the_recording(gapped: Path, tmp_path: Path) -> None:
    """The margin is time: a clip of someone seen just after the recorder started again did show,
    as 'context', the frames written an hour before, played as if a moment before."""
    from pipeline.export import drain, iter_export_clip

    after = drain(iter_export_clip(gapped, BEFORE + 2, BEFORE + 10, tmp_path / "after.mp4"))
    assert after.start_frame == BEFORE and after.end_frame == BEFORE + 30  # 2 s after, none before the gap
    assert after.start_s == pytest.approx(GAP_S + BEFORE * 0.1) and after.frames == 31
    before = drain(iter_export_clip(gapped, BEFORE - 10, BEFORE - 2, tmp_path / "before.mp4"))
    assert (before.start_frame, before.end_frame) == (BEFORE - 30, BEFORE - 1)  # none after the gap
    assert before.end_s == pytest.approx((BEFORE - 1) * 0.1)


def test_the_margin_before_a_hit_is_time_where_the_rate_drops(tmp_path: Path) -> None:
    """A recorder at 10 fps that drops to 2 fps: the margin before a hit in the slow part was counted
    in frames (2 s at the nominal 10 fps = 20 frames = 10 s at 2 fps); it is 2 s of time."""
    import numpy as np

    from bench.sequences import write_video
    from pipeline.export import drain, iter_export_clip

    times = [k * 0.1 if k < 30 else 3.0 + (k - 30) * 0.5 for k in range(60)]
    video = tmp_path / "slower.mp4"
    write_video(video, itertools.islice(frames_of(pets().video), 60), 10.0, times=times)
    path = np.array([[50, times[50], 100, 100, 140, 200, 0.9], [52, times[52], 100, 100, 140, 200, 0.9]])
    clip = drain(iter_export_clip(video, 50, 52, tmp_path / "clip.mp4", path))
    assert clip.start_frame == 46 and clip.start_s == pytest.approx(11.0)  # 13.0 - 2 s
    assert clip.end_frame == 56 and clip.end_s == pytest.approx(16.0)  # 14.0 + 2 s, as before
