"""Library storage when a video is indexed again (changed, copied in, grown, on a worker): the tracks it
finds again keep their keys and review marks, and the rest are replaced only when the new run is whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.storage import Library
from tests.test_storage import count, record, video_info


def test_a_changed_video_indexed_again_says_which_review_marks_it_drops(library: Library) -> None:
    """A file whose content changed is another recording: its old tracks go when the new run starts,
    and the cases' marks on them with them: said in the reason, not done in silence."""
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1), record(2, seed=1)], 100, None, "reid")
    library.finish_video(d.video_id, "done", 100)
    pks = sorted(t.pk for t in library.video_tracks(d.video_id))
    library.create_case("gate 3", [])
    library.mark("gate 3", pks[0], "confirmed")
    library.mark("gate 3", pks[1], "rejected")
    redo = library.start_video(video_info(fingerprint="b" * 64), "det", "reid", {})
    assert redo.reason == (
        "file changed: its content differs from what was indexed; "
        "the 2 review mark(s) on its tracks in case(s) 'gate 3' are dropped"
    )
    assert library.case("gate 3").marks == () and count(library, "tracks") == 0


def test_indexing_a_video_again_keeps_its_tracks_until_replaced_and_the_marks_on_those_found_again(
    library: Library,
) -> None:
    """`index --force` (or other models or settings) on the same file: the old tracks stay searchable
    while the new run goes (a Ctrl-C part-way loses none); a new track that begins as an old one did
    takes its place, key and marks; one that begins elsewhere under an old number is another person;
    the old tracks not found again go at the end, their marks named."""
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1), record(2), record(3, first=50)], 100, None, "reid")
    library.finish_video(d.video_id, "done", 100)
    pks = {t.track_id: t.pk for t in library.video_tracks(d.video_id)}
    library.create_case("gate 3", [])
    library.mark("gate 3", pks[1], "confirmed")
    library.mark("gate 3", pks[2], "rejected")
    library.mark("gate 3", pks[3], "confirmed")

    redo = library.start_video(video_info(), "det", "reid", {}, force=True)
    assert redo.action == "fresh" and redo.reason == (
        "forced; what was indexed stays searchable until this run replaces it, and the 3 review "
        "mark(s) in case(s) 'gate 3' stay on the tracks it finds again"
    )
    assert library.track_count(d.video_id) == 0 and len(library.load_embeddings("reid", "track")[0]) == 3
    again, other = record(1, seed=5), record(2, first=3)  # 1 found again; 2 is someone else
    assert library.commit_chunk(d.video_id, [again, other], 40, {"next_frame": 40}, "reid") == 2
    library.finish_video(d.video_id, "partial", 40, "cancelled; index again to resume")  # Ctrl-C

    tracks = {t.track_id: t for t in library.video_tracks(d.video_id)}
    assert tracks[1].pk == pks[1] and tracks[2].first_frame == 3
    assert tracks[3].pk == pks[3] and tracks[3].person < 0  # still searchable, kept off new chains
    (parked,) = [n for n, t in tracks.items() if t.pk == pks[2]]  # the old 2, out of the new 2's way
    assert parked > 3
    assert library.case("gate 3").marked("confirmed") == (pks[1], pks[3])
    assert library.case("gate 3").marked("rejected") == (pks[2],)
    _, keys, vectors = library.load_embeddings("reid", "track")
    assert len(keys) == 4 and np.allclose(vectors[list(keys).index(pks[1])], again.embedding)

    resume = library.start_video(video_info(), "det", "reid", {})
    assert resume.action == "resume" and library.track_count(d.video_id) == 2
    # the old 3 found again under another number (an earlier track split otherwise this time); the
    # new 4 moves the old 2 on again; a piece of the old 2's length (its start, 2 of its 5 frames)
    # is not the old 2 found again
    found = [record(5, first=50), record(4, first=60), record(6, n=2)]
    assert library.commit_chunk(d.video_id, found, 100, None, "reid") == 3
    assert library.drop_stale(d.video_id) == (
        "1 review mark(s) in case(s) 'gate 3' dropped: their tracks were not found again"
    )
    after = {t.track_id: t.pk for t in library.video_tracks(d.video_id)}
    assert sorted(after) == [1, 2, 4, 5, 6] and after[1] == pks[1] and after[5] == pks[3]
    assert library.case("gate 3").marked("confirmed") == (pks[1], pks[3])
    assert library.case("gate 3").marked("rejected") == ()
    assert library.drop_stale(d.video_id) == "" and library.track_count(d.video_id) == 5


def test_a_video_copied_in_again_keeps_the_keys_and_marks_of_the_tracks_it_continues(tmp_path: Path) -> None:
    """A Ray worker's private library comes back whole; a track the library already had (a resumed
    run, a folder that gained images) keeps its key and the review marks on it, its path and vectors
    replaced; a stored number that now begins elsewhere is another person, and is replaced."""
    library, worker = Library(tmp_path / "lib.db"), Library(tmp_path / "worker.db")
    info = video_info()
    v = library.start_video(info, "det", "reid", {}).video_id
    library.commit_chunk(v, [record(1), record(2, first=3)], 10, None, "reid")
    pks = {t.track_id: t.pk for t in library.video_tracks(v)}
    library.create_case("gate", [("/p/a.jpg", "reid", np.ones(8, np.float32) / np.sqrt(8))])
    library.mark("gate", pks[1], "confirmed")
    library.mark("gate", pks[2], "rejected")

    w = worker.start_video(info, "det", "reid", {}).video_id
    worker.commit_chunk(w, [record(1, n=9, seed=5), record(2, first=6), record(3, first=8)], 20, None, "reid")
    assert library.copy_video_from(worker, str(info.path)) == v

    after = {t.track_id: t for t in library.video_tracks(v)}
    assert after[1].pk == pks[1] and (after[1].first_frame, after[1].last_frame) == (0, 8)
    assert after[2].first_frame == 6 and 3 in after
    assert library.case("gate").marked("confirmed") == (pks[1],)
    assert library.case("gate").marked("rejected") == ()
    assert count(library, "embeddings") == count(worker, "embeddings") == 12


def test_a_hit_whose_track_went_is_told_from_one_never_given(library: Library, tmp_path: Path) -> None:
    """A script holding hit ids from before its video was indexed again (or removed) is told the hit
    is gone, not to run a search it did run."""
    from pipeline.errors import ExportError
    from pipeline.export import export_hit

    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1)], 100, None, "reid")
    (pk,) = [t.pk for t in library.video_tracks(d.video_id)]
    _, (hit,) = library.save_search("/q.jpg", None, "reid", {}, np.ones(8), [(pk, 0.9)])
    library.remove_video(d.video_id)
    with pytest.raises(ExportError, match=rf"^hit {hit} is gone: the track it showed went when its video"):
        export_hit(library, hit, tmp_path / "clip.mp4")
    with pytest.raises(ExportError, match=rf"^no hit {hit + 1} in .*run a search first"):
        export_hit(library, hit + 1, tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()


def test_a_video_indexed_again_on_a_worker_keeps_the_keys_of_the_tracks_found_again(
    library: Library, tmp_path: Path
) -> None:
    """Indexed again on Ray (a worker's private library, copied in): the old tracks the worker found
    again keep their keys and marks, whatever numbers they have now (here 2 and 3 swap theirs)."""
    info = video_info()
    v = library.start_video(info, "det", "reid", {}).video_id
    old = [record(1), record(2, first=3), record(3, first=6)]
    library.commit_chunk(v, old, 10, None, "reid")
    library.finish_video(v, "done", 10)
    pks = {t.track_id: t.pk for t in library.video_tracks(v)}
    library.create_case("gate", [])
    library.mark("gate", pks[2], "confirmed")
    library.start_video(info, "det", "reid", {}, force=True)  # the driver's decision: set aside

    worker = Library(tmp_path / "worker.db")
    w = worker.start_video(info, "det", "reid", {}).video_id
    new = [record(1, first=9), record(2, first=6, seed=4), record(3, first=3, seed=4)]
    worker.commit_chunk(w, new, 20, None, "reid")
    worker.finish_video(w, "done", 20)
    assert library.copy_video_from(worker, str(info.path)) == v
    after = {t.track_id: t.pk for t in library.video_tracks(v)}
    assert after[3] == pks[2] and after[2] == pks[3] and after[1] not in pks.values()
    assert library.case("gate").marked("confirmed") == (pks[2],) and library.track_count(v) == 3


def test_a_folder_that_only_grew_indexed_again_keeps_its_tracks_until_replaced(library: Library) -> None:
    """A folder of snapshots that gained images is not another recording: `index --force` (or
    another model) on it sets its tracks aside as for an unchanged file, not deleted at the start."""
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1), record(2, first=3)], 10, {"next_frame": 10}, "reid")
    library.finish_video(d.video_id, "done", 10, keep_checkpoint=True)
    library.create_case("gate", [])
    library.mark("gate", library.video_tracks(d.video_id)[0].pk, "confirmed")
    grown = video_info(fingerprint="b" * 64)
    for force, reid, said in ((True, "reid", "forced"), (False, "reid-b", "models or settings changed")):
        redo = library.start_video(grown, "det", reid, {}, force, lambda: "c" * 64, lambda c, st: True)
        assert redo.action == "fresh" and redo.reason.startswith(f"{said}; what was indexed stays searchable")
        assert count(library, "tracks") == 2 and len(library.case("gate").marks) == 1
        library.commit_chunk(d.video_id, [], 10, {"next_frame": 10}, reid)  # a checkpoint, as a run leaves
    other = video_info(fingerprint="d" * 64)  # images changed among those indexed: another recording
    changed = library.start_video(other, "det", "reid", {}, True, lambda: "d" * 64, lambda c, st: False)
    assert changed.reason.startswith(
        "forced; the 1 review mark(s) on its tracks in case(s) 'gate' are dropped"
    )
    assert count(library, "tracks") == 0


def test_runs_indexing_a_video_again_twice_keep_their_person_chains_apart(library: Library) -> None:
    """A forced run cancelled, then another: the first run's tracks and the second's, both set
    aside, never share a person chain (a search part-way would join them)."""
    d = library.start_video(video_info(), "det", "reid", {})
    library.commit_chunk(d.video_id, [record(1), record(2, first=3)], 10, None, "reid")
    library.start_video(video_info(), "det", "reid", {}, force=True)
    library.commit_chunk(
        d.video_id, [record(1, first=20), record(2, first=25)], 30, {"next_frame": 30}, "reid"
    )
    library.start_video(video_info(), "det", "reid", {}, force=True)
    people = [t.person for t in library.video_tracks(d.video_id)]
    assert len(people) == 4 and len(set(people)) == 4 and max(people) < 0
