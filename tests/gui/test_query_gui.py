"""Choosing the query in the GUI: click a person in a scene photo, paste, right-click in the player;
already indexed videos are not redone."""

from __future__ import annotations

from pathlib import Path

import cv2
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from gui.frame_view import OTHER
from gui.util import bgr_to_qimage
from pipeline.types import Stage
from tests.conftest import pets, tud
from tests.gui.conftest import INDEX_TIMEOUT_MS, PETS_QUERY, SEARCH_TIMEOUT_MS


def test_clicking_another_person_in_a_scene_photo_searches_for_them(
    make_window, qtbot, indexed_copy: Path, tmp_path: Path
) -> None:
    window = make_window(indexed_copy)
    cap = cv2.VideoCapture(str(pets().video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, PETS_QUERY[0])
    ok, frame = cap.read()
    cap.release()
    assert ok
    scene = tmp_path / "scene.png"
    cv2.imwrite(str(scene), frame)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as first:
        window.open_photo(scene)
    outcome = first.args[0]
    assert len(outcome.people) > 2 and outcome.chosen == 0 and not outcome.whole_photo
    view = window.query_panel.view
    assert view.people == outcome.people and view.box == outcome.box
    assert "click another person" in window.query_panel.status.text().lower()
    # click in the middle of the third person's box
    target = view.to_widget(outcome.people[2]).center().toPoint()
    assert view.person_at(target) == 2
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as second:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=target)
    assert second.args[0].chosen == 2 and view.chosen == 2
    assert view.box == outcome.people[2] or abs(view.box[0] - outcome.people[2][0]) <= 1


def test_paste_a_photo_from_the_clipboard(make_window, qtbot, indexed_copy: Path, pets_query: Path) -> None:
    window = make_window(indexed_copy)
    QGuiApplication.clipboard().setImage(bgr_to_qimage(cv2.imread(str(pets_query))))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.query_panel.source == "pasted image"
    assert window.results.visible_hits()


def test_right_click_a_person_in_the_player_searches_for_them(make_window, qtbot, indexed_copy: Path) -> None:
    window = make_window(indexed_copy)
    player = window.player
    player.seek_time(str(pets().video), 30.0)
    others = [b for b in player.view.boxes if b.style == OTHER]
    assert others, "everyone tracked at this frame is boxed"
    person = max(others, key=lambda b: b.box[3] - b.box[1])
    pos = player.view.to_widget(person.box).center().toPoint()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, player.view.mapToGlobal(pos))
    QApplication.sendEvent(player.view, event)
    menu = player.view.last_menu
    assert menu is not None
    (action,) = menu.actions()
    assert action.text() == "Search for this person" and action.isEnabled()
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as found:
        action.trigger()
    menu.close()
    outcome = found.args[0]
    assert outcome.chosen == -1 and outcome.box == person.box
    assert window.query_panel.view.box == person.box
    # the person's own track is among the candidates (its rank is the engine's business)
    assert person.track_pk in [h.track_pk for h in outcome.candidates]
    # a right-click where nobody is offers nothing to search
    QApplication.sendEvent(player.view, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(2, 2)))
    assert not player.view.last_menu.actions()[0].isEnabled()
    player.view.last_menu.close()


def test_already_indexed_videos_are_not_redone(make_window, qtbot, indexed_copy: Path) -> None:
    window = make_window(indexed_copy)
    finished = []
    window.indexing.video_finished.connect(finished.append)
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        window.add_videos([tud().video])
    assert [e.stage for e in finished] == [Stage.SKIPPED]
    assert "already indexed" in window.library_panel.row(str(tud().video)).status.text()
