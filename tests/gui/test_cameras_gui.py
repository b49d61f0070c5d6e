"""Cameras and clock times in the app: the library list shows them and its menu corrects them (real
dialogs), hits show clock times, and the filter bar narrows the search to a camera or a window."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QDateTime, QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from gui.results_model import COL_TIME, COL_VIDEO
from pipeline.types import enters
from tests.conftest import pets, tud
from tests.gui.conftest import SEARCH_TIMEOUT_MS


def answer_dialog(qtbot, text: str) -> None:
    """When the next input dialog opens, type ``text`` into it and press OK, as an operator would."""

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(50, fill)
            return
        dialog.setTextValue(text)
        dialog.accept()

    QTimer.singleShot(50, fill)


def menu_action(window, path: str, label: str):
    menu = window.library_panel.context_menu(path)
    return next(a for a in menu.actions() if a.text() == label)


def test_the_operator_names_the_camera_and_start_and_filters_by_them(
    make_window, qtbot, indexed_copy: Path, tud_query: Path
) -> None:
    window = make_window(indexed_copy)
    tud_path, pets_path = str(tud().video.resolve()), str(pets().video.resolve())
    row = window.library_panel.row(tud_path)
    assert row is not None and row.status.text().startswith("TUD-Campus")  # guessed: its folder
    cameras = [window.filter_bar.camera.itemText(i) for i in range(window.filter_bar.camera.count())]
    assert cameras == ["All cameras", *sorted([pets().video.parent.name, "TUD-Campus"])]

    answer_dialog(qtbot, "Yard")
    menu_action(window, tud_path, "Set camera…").trigger()
    qtbot.waitUntil(lambda: row.status.text().startswith("Yard"))
    answer_dialog(qtbot, "2026-11-21 14:30:00")
    menu_action(window, tud_path, "Set recording start…").trigger()
    qtbot.waitUntil(lambda: "2026-11-21 14:30:00" in row.status.text())
    assert window.filter_bar.camera.findText("Yard") > 0

    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as found:
        window.open_photo(tud_query)
    tud_hits = [h for h in found.args[0].hits if h.video_path == tud_path]
    assert tud_hits and tud_hits[0].camera == "Yard" and tud_hits[0].start_time is not None
    model = window.results.model
    rows = [r for r in range(model.rowCount()) if model.data(model.index(r, COL_VIDEO)).startswith("Yard")]
    assert rows and model.data(model.index(rows[0], COL_TIME)).startswith("2026-11-21 14:30:0")

    # only the other camera: the TUD person is not there
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as other:
        window.filter_bar.camera.setCurrentText(pets().video.parent.name)
    assert all(h.video_path == pets_path for h in other.args[0].candidates)
    assert not [h for h in other.args[0].hits if h.video_path == tud_path]
    # back to all cameras, then a clock window after the TUD clip: PETS has no start, so nothing
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.filter_bar.camera.setCurrentIndex(0)
    later = QDateTime(datetime(2026, 11, 21, 15, 0, 0))
    window.filter_bar.time_from.setDateTime(later)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as windowed:
        window.filter_bar.use_from.setChecked(True)
    assert windowed.args[0].candidates == ()


def test_a_bad_start_time_is_one_message_and_changes_nothing(make_window, qtbot, indexed_copy: Path) -> None:
    window = make_window(indexed_copy)
    tud_path = str(tud().video.resolve())
    before = {v.path: (v.camera, v.start_time) for v in window.library.videos()}
    answer_dialog(qtbot, "next tuesday")
    menu_action(window, tud_path, "Set recording start…").trigger()
    qtbot.waitUntil(lambda: "not a date and time" in window.messages.text)
    assert {v.path: (v.camera, v.start_time) for v in window.library.videos()} == before


def test_a_region_drawn_on_the_player_limits_the_search(
    make_window, qtbot, indexed_copy: Path, tud_query: Path
) -> None:
    """Region mode, a real mouse drag over the left half of a TUD-Campus frame: the search runs again
    and every person found enters that region; Clear searches the whole frame again."""
    window = make_window(indexed_copy)
    tud_path = str(tud().video.resolve())
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as everywhere:
        window.open_photo(tud_query)
    window.player.seek_time(tud_path, 1.0)
    view = window.player.view
    qtbot.waitUntil(lambda: view._image is not None)
    qtbot.mouseClick(window.player.region_button, Qt.MouseButton.LeftButton)
    assert view.region_mode
    r = view.image_rect()
    start = QPoint(int(r.left()) + 2, int(r.top()) + 2)
    end = QPoint(int(r.center().x()), int(r.bottom()) - 2)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as inside:
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view, QPoint(start.x() + 40, start.y() + 40))
        qtbot.mouseMove(view, end)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    region = window.filter_bar.region
    assert region is not None and region[0] <= 5 and 300 <= region[2] <= 340  # about x 0-320 of 640
    assert not view.region_mode and view.region == region
    hits = inside.args[0].candidates
    assert hits and all(enters(h.path_array(), region) for h in hits)
    assert len(hits) < len(everywhere.args[0].candidates)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as again:
        qtbot.mouseClick(window.filter_bar.clear_region, Qt.MouseButton.LeftButton)
    assert view.region is None and len(again.args[0].candidates) == len(everywhere.args[0].candidates)


def test_search_by_description_and_narrowing_a_photo_by_colour(
    make_window, qtbot, indexed_copy: Path, pets_query: Path
) -> None:
    window = make_window(indexed_copy)
    bar = window.filter_bar
    bar.upper.setCurrentText("brown")
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as described:
        qtbot.mouseClick(bar.describe_button, Qt.MouseButton.LeftButton)
    hits = described.args[0].hits
    assert hits and window.query_panel.source == "description: upper brown"
    assert "ranked by their clothing colours" in window.query_panel.status.text()
    assert window.results.proxy.rowCount() >= 1
    # a photo's hits narrowed by a colour its person does not wear: none left; "any" brings them back
    bar.upper.setCurrentText("any")
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as photo:
        window.open_photo(pets_query)
    assert photo.args[0].hits
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as narrowed:
        bar.lower.setCurrentText("yellow")
    assert narrowed.args[0].hits == ()
