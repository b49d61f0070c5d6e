"""Drive the real app on the PETS09-S2L1 video and save the README screenshots.

    SPOTTER_MODELS=../shared/assets xvfb-run -s "-screen 0 1600x1000x24" \\
        .venv/bin/python -m docs.make_screenshots [ASSETS] [OUT_DIR]

Uses a temporary library and temporary settings (never the user's own).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication, QWidget

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("screenshots")


def spin(app: QApplication, done: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not done() and time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)
    return done()


def settle(app: QApplication, seconds: float = 0.5) -> None:
    spin(app, lambda: False, seconds)


MAX_BYTES = 400_000  # README images stay small: larger grabs lose low bits of colour until they fit


def save(widget: QWidget, path: Path) -> None:
    """Save a grab as a PNG under MAX_BYTES (6, then 5 bits per channel when full colour is too big)."""
    image = widget.grab().toImage()
    image.save(str(path), "PNG", 0)
    if path.stat().st_size > MAX_BYTES:
        from gui.util import qimage_to_bgr

        full = qimage_to_bgr(image)
        for bits in (6, 5):
            shift = 8 - bits
            reduced = (full >> shift) << shift
            cv2.imwrite(str(path), reduced | (reduced >> bits), [cv2.IMWRITE_PNG_COMPRESSION, 9])
            if path.stat().st_size <= MAX_BYTES:
                break
    log.info("wrote %s (%d KB)", path, path.stat().st_size // 1024)


def query_crop(assets: Path, out: Path, frame_index: int = 538, identity: int = 3) -> Path:
    """The ground-truth box of one PETS person (0-based video frame), as the operator's photo."""
    gt = np.loadtxt(assets / "mot15/PETS09-S2L1/gt/gt.txt", delimiter=",")
    row = gt[(gt[:, 0] == frame_index + 1) & (gt[:, 1] == identity)][0]
    x, y, w, h = (float(v) * 0.625 for v in row[2:6])
    cap = cv2.VideoCapture(str(assets / "video/vtest_pets09_s2l1_480x360.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise RuntimeError("cannot read the PETS frame")
    pad = 6
    crop = frame[max(int(y) - pad, 0) : int(y + h) + pad, max(int(x) - pad, 0) : int(x + w) + pad]
    cv2.imwrite(str(out), crop)
    return out


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    assets = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared" / "assets"
    out_dir = Path(argv[2]) if len(argv) > 2 else ROOT / "docs"
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="spotter-shots-"))
    from gui.app import clean_qt_environment

    clean_qt_environment()
    app = QApplication(argv[:1])
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    from gui.main_window import MainWindow

    window = MainWindow(db_path=tmp / "library.db")
    window.move(0, 0)
    window.resize(1580, 960)
    window.show()
    settle(app)
    pets = assets / "video/vtest_pets09_s2l1_480x360.mp4"
    tud = assets / "mot15/TUD-Campus/TUD-Campus.mp4"
    window.handle_paths([pets, tud])
    row = window.library_panel.row(str(pets.resolve()))
    spin(app, lambda: row is not None and row.bar.value() > 0.4 * row.bar.maximum(), 300)
    settle(app, 0.3)
    save(window, out_dir / "screenshot_indexing.png")
    spin(app, lambda: not window.indexing.running, 600)
    window.open_photo(query_crop(assets, tmp / "person.png"))
    spin(app, lambda: window.results.outcome is not None, 120)
    settle(app)
    table = window.results.table
    table.selectRow(0)
    settle(app)
    hit = window.results.visible_hits()[0]
    window.player.seek((hit.start_frame + hit.end_frame) // 2)
    settle(app)
    save(window, out_dir / "screenshot_results.png")
    window.player.next_hit()
    window.player.step(12)
    settle(app)
    save(window.splitters["centre"], out_dir / "screenshot_player.png")
    # review: lower the threshold, confirm the best hit, reject a look-alike, and show the route
    window.results.set_threshold(0.5)
    settle(app)
    hits = window.results.visible_hits()
    window.review.mark(hits[0], "confirmed")
    if len(hits) > 2:
        window.review.mark(hits[2], "rejected")
    route = window.review.show_route()
    route.move(900, 300)
    settle(app, 0.8)
    save(window, out_dir / "screenshot_review.png")
    save(route, out_dir / "screenshot_route.png")
    route.close()
    # a description: brown top, no photo
    window.filter_bar.upper.setCurrentText("brown")
    window.search_description("brown", None)
    spin(app, lambda: window.query_panel.status.text().endswith("clothing colours."), 60)
    settle(app)
    save(window, out_dir / "screenshot_description.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
