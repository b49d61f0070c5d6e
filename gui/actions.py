"""Menus, keyboard shortcuts, and the file dialogs behind the operator's menu choices.

File dialogs appear only here, for actions the operator starts; the methods they call on the
window (``add_videos``, ``open_photo``, ...) are what tests drive directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from gui.util import photo_file_filter, video_file_filter

if TYPE_CHECKING:
    from gui.main_window import MainWindow


def _folder(window: MainWindow, key: str) -> str:
    return str(window.settings.value(f"folders/{key}", str(Path.home())))


def _remember(window: MainWindow, key: str, path: str) -> None:
    window.settings.setValue(f"folders/{key}", str(Path(path).parent if Path(path).is_file() else path))


def choose_videos(window: MainWindow) -> None:
    files, _ = QFileDialog.getOpenFileNames(
        window, "Add videos", _folder(window, "videos"), video_file_filter()
    )
    if files:
        _remember(window, "videos", files[0])
        window.add_videos(files)


def choose_folder(window: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Add a folder of videos", _folder(window, "videos"))
    if folder:
        window.settings.setValue("folders/videos", folder)
        window.add_videos([folder])


def choose_photo(window: MainWindow, add: bool = False) -> None:
    """A photo of the person as the query; ``add``: another photo of the same person, searched with it."""
    title = "Add another photo of the person" if add else "Open a photo of the person"
    file, _ = QFileDialog.getOpenFileName(window, title, _folder(window, "photo"), photo_file_filter())
    if file:
        _remember(window, "photo", file)
        window.add_query_photo(file) if add else window.open_photo(file)


def build_menus(window: MainWindow) -> dict[str, QAction]:
    """Create the menu bar; returns the actions by name (tests trigger them through their shortcuts)."""
    actions: dict[str, QAction] = {}

    def add(menu: object, name: str, text: str, slot: object, keys: object = None) -> QAction:
        action = QAction(text, window)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)  # type: ignore[attr-defined]
        window.addAction(action)  # shortcuts work wherever the focus is in the window
        actions[name] = action
        return action

    bar = window.menuBar()
    file = bar.addMenu("&File")
    add(file, "add_videos", "Add &videos…", lambda: choose_videos(window), QKeySequence.StandardKey.Open)
    add(file, "add_folder", "Add a &folder of videos…", lambda: choose_folder(window))
    add(file, "open_photo", "Open &photo…", lambda: choose_photo(window), "Ctrl+Shift+O")
    add(file, "add_photo", "&Add another photo of the person…", lambda: choose_photo(window, add=True))
    add(file, "paste_photo", "Paste p&hoto", window.paste_photo, QKeySequence.StandardKey.Paste)
    add(file, "open_case", "Open &case…", window.review.choose_case)
    add(file, "export_case", "E&xport case to a file…", window.review.ask_export)
    add(file, "import_case", "&Import a case file…", window.review.ask_import)
    file.addSeparator()
    add(file, "export", "&Export clips…", window.show_export_dialog, "Ctrl+E")
    file.addSeparator()
    add(file, "quit", "&Quit", window.close, QKeySequence.StandardKey.Quit)

    play = bar.addMenu("&Playback")
    player = window.player
    add(play, "play", "Play / pause", player.toggle_play, Qt.Key.Key_Space)
    add(play, "step_back", "Step back one frame", lambda: player.step(-1), Qt.Key.Key_Left)
    add(play, "step_forward", "Step forward one frame", lambda: player.step(1), Qt.Key.Key_Right)
    add(play, "next_hit", "Next hit", player.next_hit, Qt.Key.Key_N)
    add(play, "prev_hit", "Previous hit", player.prev_hit, Qt.Key.Key_P)

    results = bar.addMenu("&Results")
    add(results, "sort_score", "Sort by score", lambda: window.results.sort_by("score"))
    add(results, "sort_time", "Sort by time", lambda: window.results.sort_by("time"))
    by_camera = add(
        results, "timeline_by_camera", "Timeline by &camera, one clock", window.timeline.set_by_camera
    )
    by_camera.setCheckable(True)
    index = bar.addMenu("&Indexing")
    add(index, "cancel_all", "Cancel all indexing", window.cancel_all_indexing)
    index.addSeparator()
    add(index, "adapt_model", "&Adapt the model to these cameras", lambda: window.adaptation.start())
    return actions
