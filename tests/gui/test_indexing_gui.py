"""Indexing and searching through the GUI with the real models: drop, progress, cancel, close, seek."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer

from gui.frame_view import CURRENT
from pipeline.storage import Library
from pipeline.types import Stage, box_at
from tests.conftest import load_gt, pets, tud
from tests.gui.conftest import INDEX_TIMEOUT_MS, PETS_QUERY, SEARCH_TIMEOUT_MS, drag_and_drop


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_drop_video_and_photo_starts_indexing_and_search(make_window, qtbot, tud_query: Path) -> None:
    window = make_window()
    video = str(tud().video)
    with qtbot.waitSignal(window.indexing.running_changed, timeout=5000):
        entered, dropped = drag_and_drop(window, [tud().video, tud_query])
    assert entered and dropped
    assert window.indexing.running
    assert window.library_panel.row(video) is not None
    assert window.query_panel.source == tud_query.name  # the photo shows in the query panel at once
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        pass
    assert [v.status for v in window.library.videos()] == ["done"]
    # the search ran on the drop; it is repeated when the video finishes, so hits appear
    qtbot.waitUntil(lambda: bool(window.results.visible_hits()), timeout=SEARCH_TIMEOUT_MS)
    hit = window.results.visible_hits()[0]
    assert hit.video_path == video and hit.score >= window.results.threshold
    assert window.query_panel.view.box is not None
    assert not window.messages.history, window.messages.history


def test_index_pets_search_click_seeks_with_the_box(make_window, qtbot, pets_query: Path) -> None:
    window = make_window()
    video = str(pets().video)
    events = []
    window.indexing.progress.connect(events.append)
    ticks: list[float] = []
    heartbeat = QTimer(window)
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    heartbeat.start(20)
    t0 = time.monotonic()
    assert window.add_videos([video]) == [video]
    row = window.library_panel.row(video)
    qtbot.waitUntil(lambda: row.state == "indexing", timeout=60_000)
    assert "real time" in row.status.text() and "ETA" in row.status.text()
    assert "frames" in row.bar.format() and row.button.text() == "Cancel"
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        pass
    elapsed = time.monotonic() - t0
    heartbeat.stop()
    # the GUI thread kept running its event loop all along (indexing runs on the worker thread): its
    # timer fired in every tenth of the indexing time (how often depends on the machine's load, so
    # only that it never stopped is asserted; bench/ and the printed gaps tell the rest)
    gaps = np.diff(ticks)
    print(f"PETS indexed in {elapsed:.1f} s; GUI loop gaps: p99 {np.percentile(gaps, 99) * 1000:.0f} ms, "
          f"max {gaps.max() * 1000:.0f} ms")  # fmt: skip
    tenths = np.floor((np.array(ticks) - t0) / elapsed * 10).clip(0, 9)
    assert set(tenths.astype(int).tolist()) == set(range(10))
    assert window.library.videos()[0].status == "done"
    assert row.state == "done" and "people" in row.status.text()
    device = window.library_panel.device.text()
    assert device == "Device: CPU" or device.startswith("Device: GPU")
    # progress is throttled to about 10 signals a second, and frames only go forward
    indexing = [e for e in events if e.stage == Stage.INDEXING]
    assert indexing and len(events) <= 12 * elapsed + 5
    assert [e.frames_done for e in indexing] == sorted(e.frames_done for e in indexing)

    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        assert window.open_photo(pets_query)
    hits = window.results.visible_hits()
    assert hits, window.results.summary.text()
    model_rows = window.results.proxy.rowCount()
    assert model_rows == len(hits)
    first = hits[0]
    # the best hit is the person of the photo (ground truth identity 3 at the query frame)
    gt = load_gt(pets())[PETS_QUERY[1]]
    path = first.path_array()
    overlap = [iou(box_at(path, f), gt[f]) for f in gt if first.start_frame <= f <= first.end_frame]
    assert overlap and np.median(overlap) > 0.5

    # clicking the first result seeks the player to its start frame with the hit's box drawn
    table = window.results.table
    rect = table.visualRect(window.results.proxy.index(0, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    player = window.player
    assert player.video_path == video and player.frame_index == first.start_frame
    drawn = [b for b in player.view.boxes if b.style == CURRENT]
    assert len(drawn) == 1 and drawn[0].track_pk == first.track_pk
    assert np.allclose(drawn[0].box, first.frames[0][1:5])  # the path's first observation
    # ... and really painted there: the box colour on the box's top edge in the rendered view
    picture = player.view.grab().toImage()
    r = player.view.to_widget(drawn[0].box)
    scale = picture.width() / player.view.width()
    mid = QPoint(round(r.center().x() * scale), round(r.top() * scale))
    colours = [picture.pixelColor(mid + QPoint(0, dy)) for dy in range(-2, 3)]
    assert any(c.red() > 200 and 120 < c.green() < 210 and c.blue() < 80 for c in colours), colours
    assert window.timeline.current == first

    # a click on a hit in the timeline seeks there too
    other = hits[-1]
    target = window.timeline.hit_rect(other)
    qtbot.mouseClick(window.timeline, Qt.MouseButton.LeftButton, pos=target.center().toPoint())
    assert player.frame_index == other.start_frame and player.current == other
    assert window.results.selected_hits() == [other]


def test_cancel_stops_at_the_next_batch_and_keeps_the_finished_part(make_window, qtbot) -> None:
    window = make_window()
    video = str(pets().video)
    window.add_videos([video])
    row = window.library_panel.row(video)
    qtbot.waitUntil(lambda: row.state == "indexing" and row.bar.value() >= 120, timeout=INDEX_TIMEOUT_MS)
    ended: list[float] = []
    window.indexing.worker.finished.connect(
        lambda: ended.append(time.monotonic()), Qt.ConnectionType.DirectConnection
    )
    with qtbot.waitSignal(window.indexing.finished, timeout=60_000):
        clicked, shown = time.monotonic(), row.bar.value()
        qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)
    assert ended, "the worker finished"
    print(f"cancel: worker finished {ended[0] - clicked:.2f} s after the click")
    assert not window.indexing.running
    (summary,) = Library(window.library.db_path).videos()
    assert summary.status == "partial" and summary.frames_done >= 120 and summary.tracks > 0
    # it stopped at the next detector batch: at most a batch of sparse strides (4 x 3 frames) and the
    # progress shown a moment earlier (signals are throttled to ~10 a second) beyond what was shown
    assert summary.frames_done - shown <= 4 * 3 + 30, (shown, summary.frames_done)
    assert row.state == "partial" and row.button.text() == "Resume"
    # how many people can be searched now, not "what was indexed is kept": those still in view when it
    # stopped are searchable once it resumes (a sweep's crop of one of them was not found meanwhile)
    assert f"{summary.tracks} people so far · resumable" in row.status.text(), row.status.text()
    assert f"cancelled; {summary.tracks} people searchable so far" in window.messages.text
    assert window.timeline.lanes and window.timeline.lanes[0].path == video


def test_closing_during_indexing_leaves_no_thread_running(make_window, qtbot, tmp_path: Path) -> None:
    def python_threads() -> list[str]:
        # Qt's own threads appear as "Dummy" entries once they call into Python (and stay listed
        # after they end); only threads Python started can be left running by our code.
        return sorted(t.name for t in threading.enumerate() if not t.name.startswith("Dummy"))

    before = python_threads()
    window = make_window()
    video = str(pets().video)
    window.add_videos([video])
    row = window.library_panel.row(video)
    qtbot.waitUntil(lambda: row.state == "indexing" and row.bar.value() > 0, timeout=INDEX_TIMEOUT_MS)
    index_thread, search_thread = window.indexing.thread, window.search.thread
    assert index_thread.isRunning()
    window.close()  # returns once the threads have ended (it waits for them)
    assert not index_thread.isRunning() and not search_thread.isRunning()
    assert python_threads() == before  # no decoder thread left behind
    (summary,) = Library(tmp_path / "library.db").videos()
    assert summary.status == "partial" and summary.frames_done > 0  # nothing indexed is lost


def test_videos_still_queued_at_close_are_offered_at_the_next_start(
    make_window, qtbot, tmp_path: Path
) -> None:
    """A sweep dropped two videos and closed the window while the first was indexed: the first was
    kept (resumable), the second had vanished without a trace. It is now a row to index at the next
    start, with a note, until it is indexed."""
    import shutil

    queued = tmp_path / "second camera.mp4"
    shutil.copy(tud().video, queued)
    window = make_window()
    first = str(pets().video)
    window.add_videos([first, queued])
    row = window.library_panel.row(first)
    qtbot.waitUntil(lambda: row.state == "indexing" and row.bar.value() > 0, timeout=INDEX_TIMEOUT_MS)
    window.close()
    again = make_window()
    waiting = again.library_panel.row(str(queued))
    assert waiting is not None and waiting.state == "unindexed" and waiting.button.text() == "Index"
    assert "1 video(s) queued when Spotter closed are not indexed" in again.messages.text
    assert again.library_panel.row(first).state == "partial"  # in the library: resumable, as before
    again.close()
    third = make_window()  # not indexed yet: offered again
    waiting = third.library_panel.row(str(queued))
    assert waiting is not None and waiting.state == "unindexed"
    with qtbot.waitSignal(third.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        waiting.button.click()
    assert waiting.state == "done"
    third.close()
    assert make_window().library_panel.row(str(queued)).state == "done"
