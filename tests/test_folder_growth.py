"""A camera's upload folder keeps gaining snapshots: indexing it again indexes only what was added,
keeping its tracks and the cases' review marks on them; its evidence exports in between."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.errors import ExportError
from pipeline.export import export_track
from pipeline.image_sequence import indexed_prefix
from pipeline.index_run import continues_folder
from pipeline.indexer import index_video
from pipeline.source_check import verify_source
from pipeline.storage import Library
from pipeline.video import content_sha256, probe
from tests.test_image_sequence import START, tud_frames, write_named


def uploads(tmp_path: Path, frames: list[np.ndarray]) -> Callable[[int, int], list[Path]]:
    """A camera's uploads into ``tmp_path / "cam"``: ``upload(a, b)`` adds its snapshots a..b-1."""
    shots = write_named(tmp_path / "camera", frames)
    (tmp_path / "cam").mkdir()
    return lambda a, b: [Path(shutil.copy2(p, tmp_path / "cam")) for p in shots[a:b]]


def test_a_folder_that_gained_images_keeps_the_first_ones(tmp_path: Path) -> None:
    frames = tud_frames(10)  # 8 snapshots
    upload = uploads(tmp_path, frames)
    upload(0, 5)
    fp = content_sha256(probe(tmp_path / "cam"))
    later = upload(5, 8)
    assert indexed_prefix(probe(tmp_path / "cam").images, fp) == 5

    for p in later:
        p.unlink()
    early = tmp_path / "cam" / f"cam1_{START:%Y%m%d_%H%M%S}_100.jpg"  # between the first two
    cv2.imwrite(str(early), frames[7])
    assert indexed_prefix(probe(tmp_path / "cam").images, fp) == 0
    early.unlink()
    assert indexed_prefix(probe(tmp_path / "cam").images, fp) == 5  # as it was

    first = sorted((tmp_path / "cam").iterdir())[0]
    st = first.stat()
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched: the same image
    assert indexed_prefix(probe(tmp_path / "cam").images, fp) == 5
    cv2.imwrite(str(first), frames[7])  # rewritten by the camera
    assert indexed_prefix(probe(tmp_path / "cam").images, fp) == 0


def _marked_case(library: Library, track_pk: int) -> None:
    library.create_case("gate", [("/p/a.jpg", "test-reid", np.ones(8, np.float32) / np.sqrt(8))])
    library.mark("gate", track_pk, "confirmed")


def _tracks(library: Library) -> list[tuple[int, int, int]]:
    (video,) = library.videos()
    return sorted((t.track_id, t.first_frame, t.last_frame) for t in library.video_tracks(video.video_id))


def test_indexing_a_grown_folder_indexes_the_new_images_and_keeps_the_marks(tmp_path: Path, models) -> None:
    """What indexing a folder as it grows makes is what indexing it whole makes: tracks that cross
    from the images indexed to those added are continued (stored again in place, their marks with
    them), and people in the last images, seen too briefly to be kept yet, are kept in view."""
    upload = uploads(tmp_path, tud_frames(5))  # TUD-Campus at 5 fps: 15 snapshots
    whole = Library(tmp_path / "whole.db")
    list(index_video(tmp_path / "camera", whole, models))
    upload(0, 9)
    library = Library(tmp_path / "lib.db")
    assert list(index_video(tmp_path / "cam", library, models))[-1].stage.value == "done"
    (video,) = library.videos()
    before = {t.pk: t for t in library.video_tracks(video.video_id)}
    crossing = max(before.values(), key=lambda t: (t.last_frame, -t.first_frame))
    assert crossing.last_frame == 8
    _marked_case(library, crossing.pk)

    upload(9, 15)
    assert verify_source(library, video.video_id) == str((tmp_path / "cam").resolve())  # still exports
    clip = export_track(before[crossing.pk], tmp_path / "clip.mp4")
    # the margin after the track stops at the images indexed: those added since were never checked
    # against what was indexed (a sweep: the clip, and a report's SHA256SUMS, vouched for them)
    assert clip.frames > 0 and clip.end_frame == 8

    events = list(index_video(tmp_path / "cam", library, models))
    assert "6 frame(s) added to it: indexing on from frame 10" in events[1].reason
    assert events[-1].stage.value == "done"
    (video,) = library.videos()
    assert video.status == "done" and video.frame_count == 15 and video.frames_done == 15
    after = {t.pk: t for t in library.video_tracks(video.video_id)}
    assert set(before) <= set(after) and _tracks(library) == _tracks(whole)
    assert after[crossing.pk].last_frame > 8  # continued, in place
    assert library.case("gate").marked("confirmed") == (crossing.pk,)
    report = json.loads(video.report_json)
    assert report["frames"] == 15 and report["people"]["tracks"] == len(after)

    again = list(index_video(tmp_path / "cam", library, models))  # nothing new: nothing to do
    assert again[-1].stage.value == "skipped"


def test_a_folder_growing_an_image_at_a_time_is_indexed_as_a_whole(tmp_path: Path, models) -> None:
    """One snapshot per run never made a track (each run ended its people after one sighting)."""
    upload = uploads(tmp_path, tud_frames(5))
    whole = Library(tmp_path / "whole.db")
    list(index_video(tmp_path / "camera", whole, models))
    library = Library(tmp_path / "lib.db")
    upload(0, 9)
    list(index_video(tmp_path / "cam", library, models))
    for k in range(9, 15):
        upload(k, k + 1)
        assert list(index_video(tmp_path / "cam", library, models))[-1].stage.value == "done"
    assert _tracks(library) == _tracks(whole)


def test_images_without_a_time_are_added_only_where_their_names_put_them(tmp_path: Path) -> None:
    frames = tud_frames(10)
    upload = uploads(tmp_path, frames)
    upload(0, 6)
    fp = content_sha256(probe(tmp_path / "cam"))
    done = {"timed": True, "next_frame": 6}  # the last state of a run over the six
    upload(6, 8)
    assert continues_folder(probe(tmp_path / "cam"), fp, done)
    assert not continues_folder(probe(tmp_path / "cam"), fp, {"next_frame": 6})  # a run before it was said
    jpeg = cv2.imencode(".jpg", frames[7])[1].tobytes()
    (tmp_path / "cam" / "zz.jpg").write_bytes(jpeg)  # no time; by its name, after the others
    grown = probe(tmp_path / "cam")
    assert grown.images.files[-1].name == "zz.jpg" and grown.images.start == START
    assert continues_folder(grown, fp, done)
    (tmp_path / "cam" / "aa.jpg").write_bytes(jpeg)  # by its name, before the first: not added after
    grown = probe(tmp_path / "cam")
    assert indexed_prefix(grown.images, fp) == 0 and not continues_folder(grown, fp, done)
    for k in range(8):  # most without a time: the names are not confirmed, all ordered by name
        (tmp_path / "cam" / f"zz{k}.jpg").write_bytes(jpeg)
    grown = probe(tmp_path / "cam")
    assert grown.images.start is None and not continues_folder(grown, fp, done)


def test_a_folder_changed_among_its_indexed_images_is_indexed_afresh(tmp_path: Path, models) -> None:
    frames = tud_frames(10)
    upload = uploads(tmp_path, frames)
    paths = upload(0, 6)
    library = Library(tmp_path / "lib.db")
    list(index_video(tmp_path / "cam", library, models))
    (video,) = library.videos()
    _marked_case(library, library.video_tracks(video.video_id)[0].pk)
    os.utime(paths[1])  # touched (a backup tool, a copy without its times): the same folder
    assert verify_source(library, video.video_id)
    assert list(index_video(tmp_path / "cam", library, models))[-1].stage.value == "skipped"
    untimed = tmp_path / "cam" / "aa.jpg"
    untimed.write_bytes(cv2.imencode(".jpg", frames[7])[1].tobytes())  # no time, by its name the first
    with pytest.raises(ExportError, match="changed since it was indexed"):
        verify_source(library, video.video_id)  # its clips would begin elsewhere
    untimed.unlink()
    upload(6, 8)
    cv2.imwrite(str(paths[2]), frames[7])  # and one indexed image is not what it was

    with pytest.raises(ExportError, match="changed since it was indexed"):
        verify_source(library, video.video_id)
    events = list(index_video(tmp_path / "cam", library, models))
    assert (
        events[1].reason.startswith("folder changed: images were added before or among")
        and "gate" in events[1].reason
    )
    assert library.case("gate").marks == ()


def test_an_image_altered_in_its_middle_is_a_changed_folder(tmp_path: Path, models) -> None:
    """Evidence is cut only from the images indexed: one altered inside (its size and ends the same,
    as a retouched JPEG's can be) is refused, as a changed video is. Before 2026-12-02 only each
    image's first and last 4 KiB were compared, and such a folder still exported."""
    frames = tud_frames(10)
    paths = uploads(tmp_path, frames)(0, 6)
    library = Library(tmp_path / "lib.db")
    list(index_video(tmp_path / "cam", library, models))
    (video,) = library.videos()
    data = bytearray(paths[2].read_bytes())
    assert len(data) > 3 * 4096
    data[len(data) // 2] ^= 0xFF  # one byte inside, size and ends as they were
    paths[2].write_bytes(bytes(data))
    with pytest.raises(ExportError, match="changed since it was indexed"):
        verify_source(library, video.video_id)


def test_a_folder_content_kept_by_an_older_library_is_not_taken_for_its_images(
    tmp_path: Path, models
) -> None:
    """A library of before 2026-12-02 kept a folder's content as each image's name, size and first
    and last 4 KiB. Taken for the images (as at first), it let an image altered inside export, and
    made a grown folder's altered images its own. It is never taken: an untouched folder still
    exports (nothing changed), a touched one is to be indexed again, and says why."""
    import sqlite3

    paths = uploads(tmp_path, tud_frames(10))(0, 5)
    older = hashlib.sha256()
    for p in sorted(paths):
        data = p.read_bytes()
        older.update(os.fsencode(p.name) + f"\0{len(data)}\0".encode())
        older.update(data[:4096] + (data[-4096:] if len(data) > 8192 else b""))
    assert content_sha256(probe(tmp_path / "cam")) != older.hexdigest()  # whole images now
    assert indexed_prefix(probe(tmp_path / "cam").images, older.hexdigest()) == 0
    library = Library(tmp_path / "lib.db")
    list(index_video(tmp_path / "cam", library, models))
    (video,) = library.videos()
    with sqlite3.connect(library.db_path) as c:  # as the older library kept it
        c.execute("update videos set content_sha256 = ?", (older.hexdigest(),))
    assert verify_source(library, video.video_id)  # nothing changed: size, times and ends agree
    os.utime(paths[1])
    with pytest.raises(ExportError, match="kept only each image's ends"):
        verify_source(library, video.video_id)


def test_a_folder_without_capture_times_that_gained_images_still_exports(tmp_path: Path, models) -> None:
    """Images with neither EXIF nor a time in their names are ordered by name a second apart: one
    added after the others by name leaves those indexed where and when they were, as with times. It
    was refused as changed. A folder indexed with its times, whose added images take them away (all
    then timed by name), is still refused: its frames would no longer be when its hits say."""
    frames = tud_frames(10)
    (tmp_path / "cam").mkdir()
    for k in range(6):
        cv2.imwrite(str(tmp_path / "cam" / f"shot{k:03d}.jpg"), frames[k])
    library = Library(tmp_path / "lib.db")
    list(index_video(tmp_path / "cam", library, models))
    (video,) = library.videos()
    assert library.folder_timing(video.video_id) is False
    cv2.imwrite(str(tmp_path / "cam" / "shot006.jpg"), frames[6])
    assert verify_source(library, video.video_id) == str((tmp_path / "cam").resolve())
    cv2.imwrite(str(tmp_path / "cam" / "aaa.jpg"), frames[7])  # by its name the first: all move on
    with pytest.raises(ExportError, match="changed since it was indexed"):
        verify_source(library, video.video_id)

    upload = uploads(tmp_path / "timed", frames)
    upload(0, 6)
    list(index_video(tmp_path / "timed" / "cam", library, models))
    timed = library.video_id(tmp_path / "timed" / "cam")
    assert library.folder_timing(timed) is True
    jpeg = cv2.imencode(".jpg", frames[7])[1].tobytes()
    for k in range(8):  # most without a time: the names are not confirmed, all ordered by name
        (tmp_path / "timed" / "cam" / f"zz{k}.jpg").write_bytes(jpeg)
    with pytest.raises(ExportError, match="changed since it was indexed"):
        verify_source(library, timed)


def test_a_folder_that_gained_only_a_damaged_image_reports_no_negative_speed(tmp_path: Path, models) -> None:
    """Its run reads no frame: no footage, so no speed (it said -257.9x real time)."""
    upload = uploads(tmp_path, tud_frames(10))
    upload(0, 5)
    library = Library(tmp_path / "lib.db")
    assert list(index_video(tmp_path / "cam", library, models))[-1].stage.value == "done"
    later = START + timedelta(seconds=5)  # a later snapshot, named as the camera names them, cut short
    png = cv2.imencode(".png", tud_frames(10)[6])[1].tobytes()
    (tmp_path / "cam" / f"cam1_{later:%Y%m%d_%H%M%S}_000.png").write_bytes(png[: len(png) // 3])
    events = list(index_video(tmp_path / "cam", library, models))
    assert all(ev.video_s_done >= 0 for ev in events), [(ev.stage, ev.video_s_done) for ev in events]
    assert events[-1].x_realtime >= 0
