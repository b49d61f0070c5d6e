"""The person's route (``pipeline.route``): stops in clock order across cameras with thumbnails and
the gaps between them; clicking a stop plays it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from gui.results_model import THUMB_SIZE
from gui.util import fmt_time, jpeg_to_pixmap
from pipeline.route import RouteGap, RouteStop, route
from pipeline.types import Hit, end_second


def stop_text(stop: RouteStop) -> str:
    mark = "✓ " if stop.confirmed else ""
    where = stop.camera or "unknown camera"
    if stop.start_time is not None and stop.end_time is not None:
        end = end_second(stop.end_time)
        shown = "%H:%M:%S" if end.date() == stop.start_time.date() else "%Y-%m-%d %H:%M:%S"  # past midnight
        when = f"{stop.start_time:%Y-%m-%d %H:%M:%S} – {end.strftime(shown)}"
    else:
        when = f"{fmt_time(stop.start_s)} – {fmt_time(stop.end_s)} into the video (start unknown)"
    return f"{mark}{where} · {when} · score {stop.score:.2f}\n{stop.video_path}"


def gap_text(gap: RouteGap) -> str:
    change = "another camera next" if gap.camera_changed else "same camera"
    return f"      ⋯ not seen for {fmt_time(gap.seconds)} ({change}) ⋯"


class RouteDialog(QDialog):
    """Non-modal: stays open beside the player; ``hit_chosen`` plays a stop."""

    hit_chosen = Signal(object)  # Hit

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Route")
        self.setModal(False)
        self.resize(560, 520)
        self.title = QLabel()
        self.list = QListWidget()
        self.list.setIconSize(THUMB_SIZE)
        self.list.itemClicked.connect(self._on_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)

    def show_route(self, hits: Sequence[Hit], confirmed: Sequence[int], thumbnails: dict[int, bytes]) -> None:
        entries = route(hits, confirmed)
        stops = [e for e in entries if isinstance(e, RouteStop)]
        basis = "the confirmed hits" if any(s.confirmed for s in stops) else "the best hits"
        count = f"{len(stops)} stop{'s' if len(stops) != 1 else ''}"
        self.title.setText(f"<b>{count}</b> in clock order, from {basis}")
        self.list.clear()
        for entry in entries:
            if isinstance(entry, RouteGap):
                item = QListWidgetItem(gap_text(entry))
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            else:
                item = QListWidgetItem(stop_text(entry))
                pixmap = jpeg_to_pixmap(thumbnails.get(entry.first.track_pk, b""))
                if not pixmap.isNull():
                    item.setIcon(QIcon(pixmap))
                item.setData(Qt.ItemDataRole.UserRole, entry.first)
            self.list.addItem(item)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        hit = item.data(Qt.ItemDataRole.UserRole)
        if hit is not None:
            self.hit_chosen.emit(hit)
