"""Entry point of the desktop app (``python main.py`` with no arguments)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from gui.gui_thread_gc import collect_on_gui_thread
from gui.main_window import MainWindow
from gui.window_layout import APPLICATION, ORGANIZATION, app_settings
from pipeline.engine import SpotterError
from pipeline.storage import default_db_path

log = logging.getLogger(__name__)


QT_ENV_FROM_OPENCV = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


def clean_qt_environment() -> None:
    """Undo what importing ``cv2`` (opencv-python) does to the environment: it points Qt at its own
    Qt5 plugins and fonts, and PySide6's Qt then fails to load its platform plugin. Call before the
    QApplication is created."""
    for name in QT_ENV_FROM_OPENCV:
        value = os.environ.get(name, "")
        if value and f"{os.sep}cv2{os.sep}" in value:
            log.debug("ignoring %s=%s set by OpenCV", name, value)
            del os.environ[name]


def configured_library() -> str | Path:
    """The library the app opens without ``--db``: the ``library`` setting of Spotter's settings file
    (a file path or a PostgreSQL URL, e.g. a control room's shared archive), else the CLI's default."""
    return str(app_settings().value("library", "") or "").strip() or default_db_path()


def configured_cluster() -> str | None:
    """The Ray cluster the app indexes on without ``--ray``: the ``cluster`` setting, else none."""
    return str(app_settings().value("cluster", "") or "").strip() or None


def run_app(db_path: str | Path | None = None, cluster: str | None = None) -> int:
    """Open Spotter on the library at ``db_path`` (a file or a PostgreSQL URL; the CLI's database by
    default); the exit code."""
    clean_qt_environment()
    app = QApplication.instance() or QApplication(sys.argv)
    collect_on_gui_thread(app)  # never on a worker thread, where it can deadlock with Qt
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    try:
        window = MainWindow(
            db_path if db_path is not None else configured_library(), cluster=cluster or configured_cluster()
        )
    except SpotterError as e:  # e.g. the database folder is not writable: nothing to show yet
        log.error("%s", e)
        QMessageBox.critical(None, "Spotter", f"Spotter cannot start:\n{e}")
        return 2
    window.show()
    return int(app.exec())
