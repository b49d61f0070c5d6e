"""Indexing > "Adapt the model to these cameras": progress dialog, cancel (library unchanged), and a
finished adaptation after which the app's searches use the adapted model."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.conftest import copy_library, pets, tud
from tests.gui.conftest import SEARCH_TIMEOUT_MS, drag_and_drop

ADAPT_TIMEOUT_MS = 600_000  # two epochs and re-embedding two videos on two shared cores


def test_cancel_leaves_the_library_unchanged(make_window, qtbot, indexed, tmp_path: Path) -> None:
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    window = make_window(db)
    window.adaptation.epochs = 50
    window.actions_by_name["adapt_model"].trigger()
    assert window.adaptation.running and window.adaptation.dialog.isVisible()
    qtbot.waitUntil(lambda: "Training" in window.adaptation.dialog.labelText(), timeout=ADAPT_TIMEOUT_MS)
    drag_and_drop(
        window, [tud().video]
    )  # a drop was queued for indexing with the old model; the menu refused
    assert "The model is being adapted" in window.messages.text and not window.indexing.running
    button = window.adaptation.dialog.findChild(QPushButton)
    assert button.text() == "Cancel"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.adaptation.running, timeout=ADAPT_TIMEOUT_MS)
    assert "cancelled: the library is unchanged" in window.messages.text
    assert window.library.active_reid() is None
    assert {v.models[1] for v in window.library.videos()} == {"osnet_x0_25_msmt17.onnx"}


def test_adapting_switches_the_library_and_the_searches(
    make_window, qtbot, indexed, tmp_path: Path, frame_of
) -> None:
    from tests.test_cli import gt_crop

    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    window = make_window(db)
    window.adaptation.epochs = 2
    window.actions_by_name["adapt_model"].trigger()
    seen = []
    window.adaptation.dialog.canceled.connect(lambda: seen.append("cancel"))  # never pressed
    qtbot.waitUntil(lambda: not window.adaptation.running, timeout=ADAPT_TIMEOUT_MS)
    assert not seen
    active = window.library.active_reid()
    assert active and active["id"].startswith("lib_adapted_") and Path(active["path"]).is_file()
    assert "the library now uses " + active["id"] in window.messages.text
    photo = gt_crop(tmp_path, frame_of, pets(), 1, 554)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as done:
        assert window.open_photo(photo)
    assert done.args[0].hits
    with sqlite3.connect(db) as c:  # the search as the library recorded it: which model ran it
        assert c.execute("SELECT model FROM searches ORDER BY id DESC LIMIT 1").fetchone()[0] == active["id"]
