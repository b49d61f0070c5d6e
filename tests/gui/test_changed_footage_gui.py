"""A hit is shown only on the footage it was found in: a sweep replaced an indexed file with other
footage at the same path, and the player drew the old track's boxes, with their scores, on empty
pavement and beside other people (export refused the same hit); a hit of a video moved away left the
last video's frame and boxes under it."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from pipeline.errors import VideoError
from pipeline.source_check import playable_source
from pipeline.storage import Library
from tests.conftest import copy_library, pets, tud


@pytest.fixture
def moved_library(indexed, tmp_path: Path) -> tuple[Path, Path]:
    """The session's library, copied, its TUD-Campus video a private copy (free to replace)."""
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    video = tmp_path / "camera" / "clip.mp4"
    video.parent.mkdir()
    shutil.copy(tud().video, video)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE videos SET path = ? WHERE path = ?", (str(video), str(tud().video.resolve())))
    return db, video


def test_a_replaced_or_missing_video_shows_no_hit(make_window, qtbot, moved_library) -> None:
    db, video = moved_library
    window = make_window(db)
    player = window.player
    assert player.open_video(str(pets().video.resolve())) and player.source is not None
    os.utime(video, (1, 1))  # only touched (a backup tool): the same footage, it plays
    assert player.open_video(str(video)) and player.source is not None
    player.close_video()
    shutil.copy(pets().video, video)  # other footage at the same path
    with qtbot.waitSignal(player.error) as said:
        assert not player.open_video(str(video))
    assert "has changed since it was indexed" in said.args[0] and player.source is None
    assert player.open_video(str(pets().video.resolve()))
    video.unlink()  # moved away: the last video's frame does not stay under this video's hit
    with qtbot.waitSignal(player.error) as said:
        assert not player.open_video(str(video))
    assert "not there any more" in said.args[0] and player.source is None and player.image is None


def test_a_copy_of_the_indexed_video_is_played_where_the_file_changed(moved_library, tmp_path: Path) -> None:
    """A copy (alias) plays where the file indexed was replaced; a file that only grew (a recording
    still being written) plays as it is (a review: it was refused as changed)."""
    db, video = moved_library
    copy = tmp_path / "backup.mp4"
    shutil.copy(video, copy)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE videos SET aliases_json = ? WHERE path = ?", (f'["{copy}"]', str(video)))
    library = Library(db)
    video_id = library.video_id(video)
    assert playable_source(library, video_id) == str(video)
    with open(video, "ab") as f:  # a recording still being written: it grew, what was indexed is there
        f.write(b"\0" * 188 * 1000)
    assert playable_source(library, video_id) == str(video)
    shutil.copy(pets().video, video)
    assert playable_source(library, video_id) == str(copy)
    copy.unlink()
    with pytest.raises(VideoError, match="has changed since it was indexed"):
        playable_source(library, video_id)
    library.close()


def test_a_copy_of_a_video_not_indexed_to_the_end_is_not_shown_indexed(
    make_window, qtbot, tmp_path: Path
) -> None:
    """A copy of a video whose run was left unfinished is indexed once, with it: its row said
    "same content as cam.mp4: indexed once · 0 people", as if its footage could be searched (a
    review). It now says what the skip said: index that video to finish it."""
    from pipeline.index_run import content_checks
    from pipeline.video import probe

    a, b = tmp_path / "nas" / "cam.mp4", tmp_path / "local" / "cam.mp4"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copy(tud().video, p)
    library = Library(tmp_path / "library.db")
    info = probe(a)
    library.start_video(info, "det", "reid", {}, False, *content_checks(info))  # begun, never finished
    library.close()
    window = make_window(tmp_path / "library.db")
    with qtbot.waitSignal(window.indexing.finished, timeout=120_000):
        window.add_videos([str(b)])
    row = window.library_panel.row(str(b))
    assert row.state != "done" and "indexed once" not in row.status.text(), row.status.text()
    assert f"same content as {a}, whose indexing did not finish" in row.status.text(), row.status.text()


def test_a_snapshot_folder_whose_oldest_images_went_shows_no_hit(
    make_window, qtbot, tmp_path: Path, models
) -> None:
    """A recorder's retention removed the oldest snapshots and new ones came: the k-th image is no
    longer the one indexed, and the player drew every hit on another image (a review); export
    refused. A folder that only gained images still plays."""
    from pipeline.indexer import index_video
    from tests.test_image_sequence import tud_frames, write_named

    frames = tud_frames(every=5)
    folder = tmp_path / "cam1"
    paths = write_named(folder, frames[:10], step_s=1.0)
    library = Library(tmp_path / "library.db")
    assert list(index_video(folder, library, models))[-1].stage.name == "DONE"
    library.close()
    window = make_window(tmp_path / "library.db")
    player = window.player
    assert player.open_video(str(folder))
    player.close_video()
    later = write_named(tmp_path / "later", frames[10:14], step_s=1.0)
    for k, p in enumerate(later):  # gained images after those indexed: still the footage indexed
        p.rename(folder / f"cam1_20991231_0000{k:02d}_000.jpg")
    assert player.open_video(str(folder)), window.messages.text
    player.close_video()
    for p in paths[:3]:  # the oldest gone
        p.unlink()
    with qtbot.waitSignal(player.error) as said:
        assert not player.open_video(str(folder))
    assert "has changed since it was indexed" in said.args[0] and player.source is None
