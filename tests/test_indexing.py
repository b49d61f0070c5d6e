"""Indexing on real footage: completion, skip, crash and resume, cancel, damaged input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from pipeline.errors import VideoError
from pipeline.indexer import IndexConfig, index_video, settings_for
from pipeline.motion import MotionConfig, MotionGate
from pipeline.storage import Library
from pipeline.types import Stage
from pipeline.video import probe
from tests.conftest import ROOT, copy_library, pets, tud

SMALL_CHUNKS = IndexConfig(chunk_s=0.4)  # TUD-Campus (2.8 s) commits every 10 frames


def run_all(video: Path, library: Library, models, config: IndexConfig = SMALL_CHUNKS, **kw) -> list:
    return list(index_video(video, library, models, config, **kw))


def snapshot(library: Library, video: Path) -> list[tuple]:
    out = []
    for t in library.video_tracks(library.video_id(video)):
        out.append((t.track_id, t.first_frame, t.last_frame, t.path.round(3).tobytes()))
    return sorted(out)


def track_vectors(library: Library, models) -> dict[int, np.ndarray]:
    _, pks, vecs = library.load_embeddings(models.reid_id, "track")
    tracks = library.tracks(pks.tolist())
    return {tracks[int(p)].track_id: v for p, v in zip(pks, vecs)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, models):
    """TUD-Campus indexed straight through with small chunks."""
    library = Library(tmp_path_factory.mktemp("ref") / "ref.db")
    events = run_all(tud().video, library, models)
    return library, events


def test_indexing_completes(reference) -> None:
    library, events = reference
    assert events[0].stage == Stage.PROBING and events[-1].stage == Stage.DONE
    assert any(e.stage == Stage.INDEXING for e in events)
    done = [e.frames_done for e in events if e.stage == Stage.INDEXING]
    assert done == sorted(done)
    (video,) = library.videos()
    assert video.status == "done" and video.frames_done == 71 and video.tracks >= 5
    tracks = library.video_tracks(video.video_id)
    jpegs = library.thumbnails([t.pk for t in tracks])
    for t in tracks:
        assert t.path[0, 0] == t.first_frame and t.path[-1, 0] == t.last_frame
        assert jpegs[t.pk][:2] == b"\xff\xd8"  # JPEG


def test_reindex_unchanged_video_is_skipped(reference, models) -> None:
    library, _ = reference
    before = snapshot(library, tud().video)
    events = run_all(tud().video, library, models)
    assert [e.stage for e in events] == [Stage.PROBING, Stage.SKIPPED]
    assert snapshot(library, tud().video) == before


@pytest.mark.parametrize("crash_at", [12, 35, 60])
def test_crash_mid_video_resumes_to_the_same_result(
    crash_at: int, library_db: str, reference, models
) -> None:
    """At any point: the tracker, the appearance memory, the detection plan (TUD-Campus gets close
    looks) and the report resume from the checkpoint exactly (on SQLite and on PostgreSQL)."""
    ref_library, _ = reference
    library = Library(library_db)
    gen = index_video(tud().video, library, models, SMALL_CHUNKS)
    for ev in gen:
        if ev.stage == Stage.INDEXING and ev.frames_done >= crash_at:
            break
    gen.close()  # the process "dies": nothing after the last committed chunk is written
    (video,) = library.videos()
    assert video.status == "indexing" and 0 < video.frames_done < 71
    events = run_all(tud().video, library, models)
    assert events[-1].stage == Stage.DONE
    first = next(e for e in events if e.stage == Stage.INDEXING)
    assert first.frames_done > video.frames_done  # it resumed, not restarted
    assert snapshot(library, tud().video) == snapshot(ref_library, tud().video)
    mine, ref = track_vectors(library, models), track_vectors(ref_library, models)
    assert mine.keys() == ref.keys()
    for k in ref:
        assert np.allclose(mine[k], ref[k], atol=1e-5)
    assert library.videos()[0].report_json == ref_library.videos()[0].report_json


def test_killed_process_leaves_a_consistent_resumable_database(library_db: str, models) -> None:
    db = library_db
    script = textwrap.dedent(f"""
        import os, signal
        from models.loader import ModelSet
        from pipeline.indexer import IndexConfig, index_video, settings_for
        from pipeline.storage import Library
        from pipeline.types import Stage
        lib = Library({db!r})
        for ev in index_video({str(pets().video)!r}, lib, ModelSet(), IndexConfig(chunk_s=5.0)):
            if ev.stage == Stage.INDEXING and ev.frames_done >= 150:
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=os.environ.copy(), capture_output=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    library = Library(db)
    if not library.location.is_server:
        with library.engine.connect() as c:
            assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    (video,) = library.videos()
    assert video.status == "indexing" and video.frames_done >= 100
    kept = video.tracks
    info = probe(pets().video)
    settings = settings_for(IndexConfig(chunk_s=5.0), models, info)
    decision = library.start_video(info, models.detector_id, models.reid_id, settings)
    assert decision.action == "resume" and decision.frames_done == video.frames_done
    assert library.videos()[0].tracks == kept


def test_cancel_keeps_finished_work_and_resumes(library_db: str, reference, models) -> None:
    ref_library, _ = reference
    library = Library(library_db)
    seen = []

    def cancel() -> bool:
        return len(seen) >= 3

    for ev in index_video(tud().video, library, models, SMALL_CHUNKS, cancel=cancel):
        seen.append(ev)
    assert seen[-1].stage == Stage.CANCELLED
    (video,) = library.videos()
    assert video.status == "partial" and 0 < video.frames_done < 71 and "resume" in video.message
    assert seen[-1].tracks == video.tracks  # what is kept (people still being followed are not)
    events = run_all(tud().video, library, models)
    assert events[-1].stage == Stage.DONE
    assert snapshot(library, tud().video) == snapshot(ref_library, tud().video)


def test_indexing_again_cancelled_then_finished_loses_no_track_and_no_mark(
    tmp_path: Path, reference, models
) -> None:
    """`index --force` on a video reviewed in a case, Ctrl-C part-way: every track stays searchable
    and every mark stays; resumed to the end, the same people are found again under the same keys,
    marks on them, and nothing from before is left over."""
    ref_library, _ = reference
    library = Library(copy_library(ref_library.db_path, tmp_path / "lib.db"))
    video = library.video_id(tud().video)
    before = {t.track_id: t.pk for t in library.video_tracks(video)}
    library.create_case("gate", [])
    for k, pk in enumerate(sorted(before.values())):
        library.mark("gate", pk, "confirmed" if k % 2 else "rejected")
    marks = library.case("gate").marks
    seen: list = []
    for ev in index_video(tud().video, library, models, SMALL_CHUNKS, lambda: len(seen) >= 3, True):
        seen.append(ev)
    assert seen[-1].stage == Stage.CANCELLED and any("stays searchable" in e.reason for e in seen)
    assert {t.pk for t in library.video_tracks(video)} == set(before.values())
    assert library.case("gate").marks == marks
    assert len(library.load_embeddings(models.reid_id, "track")[0]) == len(before)

    events = run_all(tud().video, library, models)
    assert events[-1].stage == Stage.DONE and events[-1].message == ""
    assert snapshot(library, tud().video) == snapshot(ref_library, tud().video)
    assert {t.track_id: t.pk for t in library.video_tracks(video)} == before
    assert library.case("gate").marks == marks
    assert library.video_tracks(video)[0].person > 0


def test_bad_videos_fail_clearly_and_lose_nothing(tmp_path: Path, reference, models) -> None:
    library, _ = reference
    before = snapshot(library, tud().video)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(50_000))
    empty = tmp_path / "empty.avi"
    empty.touch()
    for bad in (junk, empty, tmp_path / "missing.mp4"):
        with pytest.raises(VideoError) as info:
            run_all(bad, library, models)
        assert str(bad.name) in str(info.value) and "\n" not in str(info.value)
    assert snapshot(library, tud().video) == before
    assert [v.status for v in library.videos()] == ["done"]


def test_truncated_video_indexes_what_decodes(tmp_path: Path, models) -> None:
    cut = tmp_path / "cut.mp4"
    data = pets().video.read_bytes()
    cut.write_bytes(data[: len(data) // 4])
    library = Library(tmp_path / "cut.db")
    events = run_all(cut, library, models, IndexConfig())
    assert events[-1].stage == Stage.DONE and "truncated" in events[-1].message
    (video,) = library.videos()
    assert video.status == "done" and 100 < video.frames_done < 795 and video.tracks > 0
    assert "truncated" in video.message


def test_motion_gate_skips_still_frames_only() -> None:
    gate = MotionGate(MotionConfig(max_skip_s=1.0), fps=10.0)
    still = np.full((360, 480, 3), 90, np.uint8)
    noise = np.random.default_rng(0).integers(-3, 4, still.shape)
    decisions = [
        gate.should_detect(k, np.clip(still + noise * (k % 2), 0, 255).astype(np.uint8)) for k in range(25)
    ]
    assert decisions[0] and sum(decisions) == 3  # frames 0, 10, 20: the periodic look
    walker = still.copy()
    walker[150:200, 300:320] = 200  # a 20x50 px person appears
    assert gate.should_detect(25, walker)
    disabled = MotionGate(replace(MotionConfig(), enabled=False), fps=10.0)
    assert all(disabled.should_detect(k, still) for k in range(5))


def test_stored_embeddings_are_unit_vectors(indexed, models) -> None:
    """Scores are dot products: a track's mean vector and its crops must be L2-normalised."""
    for kind in ("track", "crop"):
        _, _, vectors = indexed.load_embeddings(models.reid_id, kind)
        assert len(vectors) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4), kind


def test_indexing_links_the_fragments_of_a_walk(models, tmp_path: Path) -> None:
    """People in PETS09-S2L1 are lost behind others and found again; with a tracker that gives up on
    a lost person at once (0.1 s), each such walk is cut into tracks, and linking joins them into one
    person again: some tracks are one person, each linked to a track of the same video that ends
    before it starts."""
    from bench.sequences import cut

    clip = cut(pets().video, tmp_path / "pets30s.mp4", 0, 300)
    config = IndexConfig(tracker=replace(IndexConfig().tracker, lost_buffer_s=0.1))
    library = Library(tmp_path / "library.db")
    for _ in index_video(clip, library, models, config):
        pass
    tracks = {t.track_id: t for t in library.video_tracks(library.video_id(clip))}
    linked = [t for t in tracks.values() if t.person != t.track_id]
    assert linked and len({t.person for t in tracks.values()}) < len(tracks)
    for t in linked:
        head = tracks[t.person]
        assert head.person == head.track_id and head.start_s < t.start_s
