"""GUI test fixtures: settings moved to tmp_path, windows on temporary databases, drag and drop."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from gui.app import clean_qt_environment
from tests.conftest import copy_library, load_gt, pets, tud

clean_qt_environment()  # before pytest-qt creates the QApplication: cv2 points Qt at its own plugins

INDEX_TIMEOUT_MS = 300_000  # PETS takes 30-60 s on two shared CPU cores; leave room for a busy machine
SEARCH_TIMEOUT_MS = 60_000  # the first search loads the models


@pytest.fixture(autouse=True, scope="package")
def gui_thread_gc(qapp: QApplication) -> Iterator[None]:
    """As the app does (gui/app.py): a garbage collection on a worker thread can deadlock with Qt.
    Automatic collection comes back after the GUI tests (no event loop runs the timer in the others)."""
    from gui.gui_thread_gc import collect_on_gui_thread

    collector = collect_on_gui_thread(qapp)
    yield
    collector.stop()
    collector.deleteLater()


@pytest.fixture(autouse=True)
def isolated_settings(qapp: QApplication, tmp_path: Path) -> Iterator[Path]:
    """QSettings read and write only under tmp_path, never the user's configuration."""
    folder = tmp_path / "settings"
    folder.mkdir()
    QCoreApplication.setOrganizationName("Spotter")
    QCoreApplication.setApplicationName("Spotter")
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, str(folder / "system"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    yield folder


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Build MainWindows on a database in tmp_path (or the one given); all are closed afterwards."""
    from gui.main_window import MainWindow

    made: list[MainWindow] = []

    def make(db_path: Path | None = None, resize: bool = True, **kwargs: object) -> MainWindow:
        window = MainWindow(db_path=db_path or tmp_path / "library.db", **kwargs)
        qtbot.addWidget(window)
        if resize:
            window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


def drag_and_drop(target: object, paths: Sequence[Path]) -> tuple[bool, bool]:
    """Send a real QDragEnterEvent then QDropEvent with file URLs; (enter accepted, drop accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = target.rect().center()  # type: ignore[attr-defined]
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction | Qt.DropAction.LinkAction
    enter = QDragEnterEvent(
        QPoint(centre), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(
        QPointF(centre), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, drop)
    return enter.isAccepted(), drop.isAccepted()


def gt_crop(seq_name: str, frame_index: int, identity: int, out: Path) -> Path:
    """Save the ground-truth box of ``identity`` at ``frame_index`` (0-based) as a photo."""
    seq = pets() if seq_name == "pets" else tud()
    x1, y1, x2, y2 = load_gt(seq)[identity][frame_index]
    cap = cv2.VideoCapture(str(seq.video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    ok, frame = cap.read()
    cap.release()
    assert ok
    crop = frame[int(max(y1, 0)) : int(y2), int(max(x1, 0)) : int(x2)]
    cv2.imwrite(str(out), crop)
    return out


PETS_QUERY = (538, 3)  # PETS09-S2L1 frame (0-based) and ground-truth identity used as the query


@pytest.fixture
def pets_query(tmp_path: Path) -> Path:
    frame, identity = PETS_QUERY
    return gt_crop("pets", frame, identity, tmp_path / "pets_query.png")


@pytest.fixture
def tud_query(tmp_path: Path) -> Path:
    return gt_crop("tud", 10, 1, tmp_path / "tud_query.png")


@pytest.fixture
def empty_photo(tmp_path: Path) -> Path:
    """A photo with nobody in it: a smooth grey gradient."""
    ramp = np.tile(np.linspace(90, 160, 480, dtype=np.uint8), (360, 1))
    path = tmp_path / "nobody.png"
    cv2.imwrite(str(path), cv2.merge([ramp, ramp, ramp]))
    return path


@pytest.fixture
def indexed_copy(indexed, tmp_path: Path) -> Path:
    """A private copy of the session's indexed library (PETS + TUD), free to write to."""
    return copy_library(indexed.db_path, tmp_path / "indexed_copy.db")
