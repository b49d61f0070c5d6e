"""Fast widget tests (no models): results filtering and sorting, timeline, player, keys, settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from gui.player import neighbour_hit
from gui.results_model import COL_SCORE, HIT_ROLE
from gui.search_service import SearchOutcome
from gui.timeline import Lane, TimelineWidget, tick_step
from gui.util import bgr_to_qimage, classify_paths, fmt_time, qimage_to_bgr
from pipeline.types import Hit, box_at
from tests.conftest import tud


def make_hit(video: str, track: int, score: float, start: int, end: int, fps: float = 25.0) -> Hit:
    frames = tuple(
        (f, 100.0 + f, 100.0, 180.0 + f, 300.0) for f in range(start, end + 1, max((end - start) // 4, 1))
    )
    if frames[-1][0] != end:
        frames += ((end, 100.0 + end, 100.0, 180.0 + end, 300.0),)
    return Hit(None, None, 1, video, track, track, score, start, end, start / fps, end / fps, fps, frames)


def outcome(hits: tuple[Hit, ...], cut: float, query_id: int = 0) -> SearchOutcome:
    best = max((h.score for h in hits), default=None)
    return SearchOutcome(1, (), 0, (0, 0, 10, 10), True, hits, hits, cut, best, 0.01, (), query_id=query_id)


def test_bgr_qimage_round_trip() -> None:
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)  # odd width: padding
    assert np.array_equal(qimage_to_bgr(bgr_to_qimage(image)), image)


def test_classify_paths(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"x")
    (tmp_path / "clips" / "notes.txt").write_text("x")
    (tmp_path / "p.JPG").write_bytes(b"x")
    (tmp_path / "doc.pdf").write_bytes(b"x")
    found = classify_paths([tmp_path / "clips", tmp_path / "p.JPG", tmp_path / "doc.pdf"])
    assert [p.name for p in found.videos] == ["a.mp4"]
    assert [p.name for p in found.photos] == ["p.JPG"]
    assert [p.name for p in found.other] == ["doc.pdf"]
    assert fmt_time(75.25) == "1:15.2" and fmt_time(3600) == "1:00:00.0"


def test_results_threshold_filters_live_and_sorts(qtbot) -> None:
    from gui.results_panel import ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    hits = (
        make_hit("/v/b.mp4", 1, 0.91, 50, 60),
        make_hit("/v/a.mp4", 2, 0.70, 10, 20),
        make_hit("/v/a.mp4", 3, 0.55, 0, 5),
        make_hit("/v/b.mp4", 4, 0.40, 5, 9),
    )
    panel.set_outcome(outcome(hits, 0.62))
    assert panel.threshold == pytest.approx(0.62)
    assert [h.track_id for h in panel.visible_hits()] == [1, 2]
    with qtbot.waitSignal(panel.visible_hits_changed):
        panel.slider.setValue(35)
    assert [h.track_id for h in panel.visible_hits()] == [1, 2, 3, 4]
    panel.sort_by("time")
    assert [h.track_id for h in panel.visible_hits()] == [3, 2, 4, 1]  # a.mp4 by start, then b.mp4
    panel.table.sortByColumn(COL_SCORE, Qt.SortOrder.AscendingOrder)
    assert [h.track_id for h in panel.visible_hits()] == [4, 3, 2, 1]
    panel.slider.setValue(90)
    assert [h.track_id for h in panel.visible_hits()] == [1]
    assert "1 hit at or above 0.90" in panel.summary.text()
    panel.slider.setValue(95)
    assert panel.visible_hits() == [] and "not found" in panel.summary.text()


def test_results_row_click_emits_hit(qtbot) -> None:
    from gui.results_panel import ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show()
    hits = (make_hit("/v/a.mp4", 1, 0.9, 0, 10), make_hit("/v/a.mp4", 2, 0.8, 20, 30))
    panel.set_outcome(outcome(hits, 0.7))
    index = panel.proxy.index(1, 1)
    rect = panel.table.visualRect(index)
    with qtbot.waitSignal(panel.hit_activated) as blocker:
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args[0] == index.data(HIT_ROLE) == hits[1]


def test_timeline_hover_and_click(qtbot) -> None:
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(800, 120)
    timeline.show()
    timeline.set_lanes([Lane("/v/a.mp4", 100.0), Lane("/v/b.mp4", 10.0)])
    hit = make_hit("/v/a.mp4", 7, 0.8, 250, 500, fps=10.0)  # 25 s - 50 s
    timeline.set_hits([hit])
    r = timeline.hit_rect(hit)
    assert r is not None and r.width() > 50
    centre = r.center()
    text = timeline.describe(centre)
    assert "a.mp4" in text and "score 0.80" in text and "0:25.0" in text
    with qtbot.waitSignal(timeline.hit_clicked) as clicked:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=centre.toPoint())
    assert clicked.args[0] == hit
    lane_b = timeline.bar_rect(1)
    with qtbot.waitSignal(timeline.seek_requested) as seek:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=lane_b.center().toPoint())
    assert seek.args[0] == "/v/b.mp4" and seek.args[1] == pytest.approx(5.0, abs=0.1)
    qtbot.mouseMove(timeline, centre.toPoint())
    qtbot.waitUntil(lambda: "score 0.80" in timeline.hover_text)
    assert timeline.describe(QPointF(5, 5)) == ""
    assert tick_step(3600, 600) >= 300 and tick_step(3, 600) == 1


def test_timeline_by_camera_on_one_clock(qtbot) -> None:
    """Two cameras, three videos with known starts, one without: one lane per camera on a shared
    clock (each video where its recording falls), the untimed video in its own lane after them."""
    from datetime import datetime

    t0 = datetime(2026, 11, 21, 14, 0, 0)
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(900, 200)
    timeline.show()
    timeline.set_lanes(
        [
            Lane("/v/gate1.mp4", 600.0, "Gate", t0),  # 14:00-14:10
            Lane("/v/gate2.mp4", 600.0, "Gate", t0.replace(minute=30)),  # 14:30-14:40
            Lane("/v/yard.mp4", 1200.0, "Yard", t0.replace(minute=20)),  # 14:20-14:40
            Lane("/v/old.mp4", 60.0, "Lobby"),  # start unknown
        ]
    )
    assert [r.name for r in timeline.rows] == [
        "Gate · gate1.mp4",
        "Gate · gate2.mp4",
        "Yard · yard.mp4",
        "Lobby · old.mp4",
    ]
    timeline.set_by_camera(True)
    assert [r.name for r in timeline.rows] == ["Gate", "Yard", "Lobby · old.mp4"]
    assert timeline.rows[0].span_s == 2400 and [s.offset_s for s in timeline.rows[0].segments] == [0, 1800]
    hit = make_hit("/v/gate2.mp4", 3, 0.9, 600, 900, fps=10.0)  # 60-90 s into gate2: 14:31-14:31:30
    timeline.set_hits([hit])
    r = timeline.hit_rect(hit)
    bar = timeline.bar_rect(0)
    assert r is not None and r.left() == pytest.approx(bar.x() + 1860 / 2400 * bar.width(), abs=1)
    assert "14:31:" in timeline.describe(r.center())
    gap = QPointF(bar.x() + 1200 / 2400 * bar.width(), bar.center().y())  # 14:20: the gate is not recording
    assert "not recording" in timeline.describe(gap)
    with qtbot.assertNotEmitted(timeline.seek_requested):
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=gap.toPoint())
    yard = timeline.bar_rect(1)
    with qtbot.waitSignal(timeline.seek_requested) as seek:  # 14:30 in the yard: 600 s into its video
        qtbot.mouseClick(
            timeline,
            Qt.MouseButton.LeftButton,
            pos=QPointF(yard.x() + 1800 / 2400 * yard.width(), yard.center().y()).toPoint(),
        )
    assert seek.args[0] == "/v/yard.mp4" and seek.args[1] == pytest.approx(600, abs=5)
    timeline.set_by_camera(False)
    assert len(timeline.rows) == 4


def test_neighbour_hit_order() -> None:
    a1, a2 = make_hit("/v/a.mp4", 1, 0.9, 10, 20), make_hit("/v/a.mp4", 2, 0.8, 50, 60)
    b1 = make_hit("/v/b.mp4", 3, 0.7, 5, 9)
    hits = [b1, a2, a1]
    assert neighbour_hit(hits, "/v/a.mp4", 10, 1) == a2
    assert neighbour_hit(hits, "/v/a.mp4", 50, 1) == b1
    assert neighbour_hit(hits, "/v/b.mp4", 5, 1) is None
    assert neighbour_hit(hits, "/v/b.mp4", 5, -1) == a2
    assert neighbour_hit(hits, "", -1, 1) == a1


def test_player_keys_step_play_and_jump(make_window, qtbot) -> None:
    window = make_window()
    video = str(tud().video)
    h1, h2 = make_hit(video, 1, 0.9, 10, 30), make_hit(video, 2, 0.8, 40, 60)
    window.player.set_hits([h1, h2])
    window.show_hit(h1)
    player = window.player
    assert player.frame_index == 10
    boxes = {b.track_pk: b for b in player.current_boxes()}
    assert np.allclose(boxes[1].box, box_at(h1.path_array(), 10))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert player.frame_index == 11
    qtbot.keyClick(window, Qt.Key.Key_Left)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert player.frame_index == 9
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert player.frame_index == 10 and player.current == h1
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert player.frame_index == 40 and player.current == h2
    assert window.timeline.current == h2
    qtbot.keyClick(window, Qt.Key.Key_P)
    assert player.current == h1
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert player.playing
    qtbot.waitUntil(lambda: player.frame_index >= 14, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not player.playing
    # the scrub bar seeks (coalesced to the latest position)
    player.slider.setValue(30)
    player.slider.setValue(33)
    qtbot.waitUntil(lambda: player.frame_index == 33)
    assert "#33" in player.time_label.text()


def test_player_shows_non_square_pixels_as_players_do(make_window, qtbot, tmp_path: Path) -> None:
    """D1 footage (704x576, pixels 12:11) is shown at 4:3; boxes (stored pixels) land on the person
    and a right-click inside the drawn box finds them."""
    from tests.test_image_sequence import tud_frames
    from tests.test_pixel_aspect import write_d1

    video = str(write_d1(tmp_path / "dvr.mp4", tud_frames(every=1)[:30]))
    window = make_window()
    hit = make_hit(video, 1, 0.9, 5, 25)
    window.player.set_hits([hit])
    window.show_hit(hit)
    view = window.player.view
    assert view.pixel_aspect == pytest.approx(12 / 11)
    r = view.image_rect()
    assert r.width() / r.height() == pytest.approx(4 / 3, abs=0.01)  # not 704/576 = 1.22
    box = box_at(hit.path_array(), 5)
    drawn = view.to_widget(box)
    sx, sy = r.width() / 704, r.height() / 576
    assert drawn.width() == pytest.approx((box[2] - box[0]) * sx) and drawn.height() == pytest.approx(
        (box[3] - box[1]) * sy
    )
    assert sx / sy == pytest.approx(12 / 11, abs=0.01)
    assert view.to_image(drawn.center()) == pytest.approx(
        ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), abs=0.5
    )
    edge = QPointF(drawn.right() - 1, drawn.center().y())  # inside the stretched box only
    assert view.box_at(edge) is not None and view.box_at(edge).track_pk == 1
    # "search for this person" shows the frame in the query panel as the player shows it
    with qtbot.waitSignal(window.player.search_person) as sent:
        window.player._on_search_box(box)
    assert sent.args[3] == pytest.approx(12 / 11)
    assert window.query_panel.view.pixel_aspect == pytest.approx(12 / 11)
    photo = window.query_panel.view.image_rect()
    assert photo.width() / photo.height() == pytest.approx(4 / 3, abs=0.01)


def test_ctrl_e_opens_a_non_modal_export_dialog(make_window, qtbot) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window._export_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    dialog.close()


def test_layout_and_folders_are_remembered(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    # a size the test's screen (800 px wide, where a larger window is fitted back to its least size
    # when restored) gives back as it was: the window's least width, and a height it holds
    wide = window.minimumSizeHint().width()
    assert wide <= 1010  # a 1024-px screen holds the window, with its frame
    window.resize(wide, 777)
    qtbot.waitUntil(lambda: window.width() == wide)
    window.splitters["left"].setSizes([500, 200])  # (the panes side by side are at their least width)
    sizes = window.splitters["left"].sizes()
    assert abs(sizes[0] - sizes[1]) > 100, sizes  # not as they start
    window.settings.setValue("folders/videos", str(tmp_path))
    window.close()
    settings_files = list((tmp_path / "settings").rglob("*.ini"))
    assert settings_files, "settings were written under tmp_path"
    again = make_window(resize=False)
    assert abs(again.width() - wide) <= 20 and abs(again.height() - 777) <= 20  # frame margins
    assert np.allclose(again.splitters["left"].sizes(), sizes, atol=20)
    assert again.settings.value("folders/videos") == str(tmp_path)


def test_library_rows_survive_a_restart(make_window, indexed_copy: Path) -> None:
    window = make_window(indexed_copy)
    names = {Path(p).name for p in window.library_panel.paths()}
    assert {"vtest_pets09_s2l1_480x360.mp4", "TUD-Campus.mp4"} <= names
    row = window.library_panel.row(str(tud().video))
    assert row is not None and row.state == "done" and "people" in row.status.text()
    assert len(window.timeline.lanes) == 2
    time.sleep(0)  # keep the window alive until the asserts ran


def test_opencv_qt_environment_is_undone(monkeypatch) -> None:
    """Importing cv2 points Qt at OpenCV's Qt5 plugins; the xcb platform then fails to load."""
    from gui.app import clean_qt_environment

    monkeypatch.setenv("QT_QPA_PLATFORM_PLUGIN_PATH", "/venv/site-packages/cv2/qt/plugins")
    monkeypatch.setenv("QT_QPA_FONTDIR", "/usr/share/fonts/mine")
    clean_qt_environment()
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" not in os.environ
    assert os.environ["QT_QPA_FONTDIR"] == "/usr/share/fonts/mine"  # not OpenCV's: left alone


def test_garbage_is_collected_on_the_gui_thread_only(qtbot, qapp) -> None:
    """Automatic collection is off (a worker thread would run it); the GUI thread's timer collects
    cycles once the collector's own threshold is passed."""
    import gc
    import threading
    import weakref

    from gui.gui_thread_gc import INTERVAL_MS, collect_on_gui_thread

    collector = collect_on_gui_thread(qapp)
    assert collect_on_gui_thread(qapp) is collector and not gc.isenabled()

    class Node:
        pass

    collected_on: list[str] = []

    def cycle_on_worker() -> weakref.ref:
        a, b = Node(), Node()
        a.other, b.other = b, a
        weakref.finalize(a, lambda: collected_on.append(threading.current_thread().name))
        return weakref.ref(a)

    worker = threading.Thread(target=lambda: [cycle_on_worker() for _ in range(3000)], name="worker")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(collected_on) >= 3000, timeout=10 * INTERVAL_MS)
    assert set(collected_on) == {threading.main_thread().name}


def test_tab_leaves_the_results_table(qtbot) -> None:
    """Tab stepped cell by cell through the results (about 800 presses for 197 hits) and never reached
    Confirm, Reject or Refine beyond it; the arrow keys move within the table."""
    from gui.results_panel import ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.set_outcome(outcome(tuple(make_hit("/v/a.mp4", k, 0.9 - k / 100, k, k + 5) for k in range(5)), 0.5))
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    panel.table.setFocus()
    panel.table.setCurrentIndex(panel.table.model().index(0, 0))
    qtbot.waitUntil(panel.table.hasFocus)
    qtbot.keyClick(panel.table, Qt.Key.Key_Down)
    assert panel.table.currentIndex().row() == 1 and panel.table.hasFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Tab)
    assert not panel.table.hasFocus() and panel.isAncestorOf(QApplication.focusWidget())


def test_the_same_query_searched_again_keeps_the_operators_view(qtbot) -> None:
    """A sweep indexed a folder of 30 clips while reviewing: each video that finished searched again
    and set the operator's threshold back (0.40 -> 0.73: 28 hits became 3) and emptied the selection.
    The same query again keeps a threshold the operator set and the rows selected, and says what is
    new; a new query starts afresh."""
    from PySide6.QtCore import QItemSelectionModel

    from gui.results_panel import ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    first = tuple(make_hit("/v/a.mp4", k, 0.9 - k / 10, 10 * k, 10 * k + 5) for k in range(5))
    person, other = 7, 9  # the requests that asked each query first (a photo's, or a description's)
    panel.set_outcome(outcome(first, 0.73, person))
    panel.set_threshold(0.40)
    assert len(panel.visible_hits()) == 5
    index = next(
        panel.proxy.index(r, 0) for r in range(5) if panel.proxy.index(r, 0).data(HIT_ROLE).track_pk == 2
    )
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    panel.table.selectionModel().setCurrentIndex(index, flags)
    again = (*first, make_hit("/v/b.mp4", 9, 0.75, 0, 5))  # a video finished: one more candidate
    panel.set_outcome(outcome(again, 0.73, person), keep_view=True)
    assert panel.threshold == pytest.approx(0.40) and len(panel.visible_hits()) == 6
    assert [h.track_pk for h in panel.selected_hits()] == [2]
    assert panel.table.currentIndex().data(HIT_ROLE).track_pk == 2
    assert "1 new since the last search" in panel.summary.text(), panel.summary.text()
    panel.set_threshold(0.40)
    # another person's photo, dropped just before the repeat was asked for (the repeat is of it): the
    # engine's cut and nothing selected, not the last person's view (a review)
    panel.set_outcome(outcome(again, 0.73, other), keep_view=True)
    assert panel.threshold == pytest.approx(0.73) and panel.selected_hits() == []
    assert "new since" not in panel.summary.text()
