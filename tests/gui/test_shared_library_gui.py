"""The desktop app on a library shared on PostgreSQL (a real server, tests/pg_server.py)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings

from gui.app import configured_library
from pipeline.storage import Library
from tests.test_search import DIM, add_video


def test_the_app_opens_a_server_library_from_its_settings(postgres, make_window, isolated_settings) -> None:
    """A control room points the app at the shared archive in Spotter's settings file; the app opens
    it and lists what another operator indexed there, and its title says which library it is."""
    url = postgres.new_database().replace("spotter@", "spotter:secret@")
    other_operator = Library(url)
    add_video(other_operator, "gate_cam", list(np.random.default_rng(0).normal(size=(4, DIM))))
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Spotter", "Spotter")
    settings.setValue("library", url)
    settings.sync()
    assert configured_library() == url
    window = make_window(db_path=configured_library())
    assert [p.rsplit("/", 1)[-1] for p in window.library_panel.paths()] == ["gate_cam.mp4"]
    assert "postgresql+psycopg://spotter:***@127.0.0.1" in window.windowTitle()
    assert "secret" not in window.windowTitle()


def test_a_video_another_operator_is_indexing_now_is_not_offered_to_resume(
    postgres, make_window, qtbot
) -> None:
    """A run in progress on another machine is shown as such, without a Resume button; once that
    indexer is gone (killed), its run is interrupted and resumable."""
    from tests.test_storage import video_info
    from tests.test_video_lock import hold

    url = postgres.new_database()
    info = video_info()
    Library(url).start_video(info, "det", "reid", {})
    holder, got = hold(url, info.path)
    try:
        assert got
        window = make_window(db_path=url)
        row = window.library_panel.row(str(info.path))
        assert row.status.text() == "being indexed by another Spotter process"
        assert row.button.isHidden()
    finally:
        holder.kill()
        holder.wait()
    # the app reads the library again on its own while a row is indexed elsewhere
    qtbot.waitUntil(lambda: row.status.text() == "interrupted · resumable", timeout=30_000)
    assert row.button.text() == "Resume"
