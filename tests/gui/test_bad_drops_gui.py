"""Drops and pastes from a hostile sweep of the window (2026-12-01): each was a traceback, a frozen
window or silence; each is now one message, and what can be used in the same drop still is."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication

from tests.gui.conftest import INDEX_TIMEOUT_MS, SEARCH_TIMEOUT_MS, drag_and_drop
from tests.test_image_sequence import tud_frames


def texts(window: object) -> str:
    return " | ".join(m.text for m in window.messages.history)  # type: ignore[attr-defined]


def test_a_link_that_loops_or_leads_nowhere_is_named_and_the_photo_beside_it_searched(
    make_window, qtbot, tmp_path: Path, tud_query: Path
) -> None:
    """A link to itself made Path.resolve() raise RuntimeError inside dropEvent: a traceback, and the
    good photo in the same drop was not searched. A dangling link was named by its target."""
    window = make_window()
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    dangling = tmp_path / "suspect.jpg"
    dangling.symlink_to(tmp_path / "gone.jpg")
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        drag_and_drop(window, [loop, dangling, tud_query])
    said = texts(window)
    assert "loop.mp4: cannot be read (a link that loops)" in said, said
    assert "suspect.jpg: a link to a file that is not there" in said, said
    assert window.query_panel.image is not None and not window.indexing.running


def test_a_pipe_named_like_a_photo_does_not_freeze_the_window(make_window, tmp_path: Path) -> None:
    """It was read on the GUI thread, which then waited for a writer for ever."""
    window = make_window()
    pipe = tmp_path / "camera.jpg"
    os.mkfifo(pipe)
    assert not window.open_photo(pipe)
    assert "camera.jpg: not a file" in window.messages.text


def test_a_web_address_or_odd_image_data_on_the_clipboard_is_said(make_window) -> None:
    window = make_window()
    clipboard = QGuiApplication.clipboard()
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/suspect.jpg")])
    clipboard.setMimeData(mime)
    assert not window.paste_photo()
    assert "web address, not a file" in window.messages.text
    odd = QMimeData()
    odd.setData("application/x-qt-image", b"\x00\x01 not a picture")  # image data that is no QImage
    clipboard.setMimeData(odd)
    assert not window.paste_photo()  # was: TypeError from QImage(QByteArray)
    assert "not a picture Spotter can read" in window.messages.text


def test_a_folder_of_snapshots_is_indexed_as_one_camera(make_window, qtbot, tmp_path: Path) -> None:
    """The command line indexed a folder of images as a sequence; the window refused it."""
    window = make_window()
    folder = tmp_path / "gate camera"
    folder.mkdir()
    for k, frame in enumerate(tud_frames(every=10)):
        cv2.imwrite(str(folder / f"snap_{k:03d}.jpg"), frame)
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        drag_and_drop(window, [folder])
    (video,) = window.library.videos()
    assert Path(video.path) == folder and video.status == "done" and video.tracks > 0, video
    assert "not a video" not in texts(window)


def test_a_copy_of_an_indexed_video_is_said_to_be_one(
    make_window, qtbot, indexed_copy: Path, tmp_path: Path
) -> None:
    """The same footage at another path (copied from a second USB stick) is indexed once; its row
    said 'cancelled before it started' (nobody cancelled) because the window looked it up by path."""
    import shutil

    from tests.conftest import tud

    window = make_window(indexed_copy)
    copy = tmp_path / "from the second stick.mp4"
    shutil.copy(tud().video, copy)
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        drag_and_drop(window, [copy])
    row = window.library_panel.row(str(copy.resolve()))
    assert row is not None and row.state == "done", row and row.status.text()
    assert f"same content as {tud().video.name}: indexed once" in row.status.text()
    assert len(window.library.videos()) == 2  # PETS and TUD-Campus, nothing new


def test_a_big_folder_is_walked_off_the_gui_thread(make_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    """Dropping /usr (117,000 files) froze the window for 7.5 s: the walk ran on the GUI thread. It
    now runs on a worker while the window says so; here the walk is made slow and the window must
    keep answering (a timer fires) before the folder's snapshots are queued for indexing. The window
    says it is looking for as long as the walk takes (a notice hid itself after 8 s, while a share
    can take minutes), and stops saying so when it is done."""
    import threading
    import time

    from PySide6.QtCore import QTimer

    import gui.messages
    import gui.util

    folder = tmp_path / "nvr export" / "cam 3"
    folder.mkdir(parents=True)
    for k, frame in enumerate(tud_frames(every=10)):
        cv2.imwrite(str(folder / f"snap_{k:03d}.jpg"), frame)
    real, walked_on = gui.util.scan_media, []

    def slow_walk(path, cancelled=None):
        walked_on.append(threading.current_thread() is threading.main_thread())
        time.sleep(1.0)
        return real(path, cancelled)

    monkeypatch.setattr(gui.util, "scan_media", slow_walk)
    monkeypatch.setattr(gui.messages, "INFO_HIDE_MS", 100)  # notices hide long before the walk ends
    window = make_window()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(50)
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        drag_and_drop(window, [tmp_path / "nvr export"])
        assert "Looking through nvr export" in window.messages.text
        qtbot.wait(500)
        assert "Looking through nvr export" in window.messages.text
        qtbot.waitUntil(lambda: "Looking through" not in window.messages.text, timeout=5000)
    timer.stop()
    assert walked_on == [False]
    assert len(ticks) >= 10  # the event loop ran while the folder was walked
    (video,) = window.library.videos()
    assert Path(video.path) == folder and video.status == "done", video


def test_closing_the_window_while_a_folder_is_walked(make_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    """The walk is cancelled and its thread ended; nothing is queued after the window is gone."""
    import time

    import gui.util

    (tmp_path / "f").mkdir()
    real = gui.util.scan_media

    def slow_walk(path, cancelled=None):
        while not cancelled():
            time.sleep(0.01)
        return real(path, cancelled)

    monkeypatch.setattr(gui.util, "scan_media", slow_walk)
    window = make_window()
    window.add_videos([tmp_path / "f"])
    assert window.folders.running
    window.close()
    assert not window.folders.running and not window.indexing.running


def test_cancel_all_stops_a_folder_still_being_looked_through(
    make_window, qtbot, tmp_path: Path, monkeypatch
) -> None:
    """A sweep dropped a large folder and pressed Cancel all while it was walked: the button was off,
    the menu's Cancel all did nothing, and when the walk ended its 122 finds were queued anyway."""
    import time

    import gui.util

    folder = tmp_path / "recorder"
    folder.mkdir()
    for k, frame in enumerate(tud_frames(every=10)):
        cv2.imwrite(str(folder / f"snap_{k:03d}.jpg"), frame)
    real = gui.util.scan_media

    def slow_walk(path, cancelled=None):
        time.sleep(1.0)
        return real(path, cancelled)

    monkeypatch.setattr(gui.util, "scan_media", slow_walk)
    window = make_window()
    drag_and_drop(window, [folder])
    assert window.folders.running and window.library_panel.cancel_all.isEnabled()
    window.actions_by_name["cancel_all"].trigger()
    assert "Looking through" not in window.messages.text
    qtbot.waitUntil(lambda: not window.folders.running, timeout=5000)
    qtbot.wait(200)
    assert not window.indexing.running and window.library.videos() == []


def test_a_photo_without_its_extension_is_searched(
    make_window, qtbot, tmp_path: Path, tud_query: Path
) -> None:
    """'suspect' (a JPEG saved without its extension) was refused by its name: 'not a video, a
    folder of images or a photo'. Its first bytes say it is a photo."""
    import shutil

    window = make_window()
    photo = tmp_path / "suspect"
    shutil.copy(tud_query, photo)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        drag_and_drop(window, [photo])
    assert window.query_panel.image is not None
    assert "not a video" not in texts(window), texts(window)


def test_a_photo_that_does_not_open_gives_way_to_the_next_one_dropped(
    make_window, qtbot, tmp_path: Path, tud_query: Path
) -> None:
    """A sweep dropped a file that is no picture with a good photo: the note said "searching with"
    the refused file, the good photo was never searched, and the previous photo's results stayed on
    screen as if they were the new person's."""
    window = make_window()
    bad = tmp_path / "not_an_image.jpg"
    bad.write_bytes(b"this is text, not a JPEG")
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        drag_and_drop(window, [bad, tud_query])
    said = texts(window)
    assert window.query_panel.source == tud_query.name, said
    assert f"2 photos given: searching with {tud_query.name}" in said and "not_an_image.jpg" in said, said
