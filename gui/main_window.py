"""Spotter's main window: composes the panels and routes drops and menu actions (the layout it
remembers: ``gui.window_layout``).

The window holds no engine logic: indexing, search and export run in their controllers' worker
threads, and the panels only show what those report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QScrollArea, QSplitter, QVBoxLayout, QWidget

from gui.actions import build_menus
from gui.adaptation import AdaptController
from gui.clock_editor import ClockEditor
from gui.drop_routing import DropRouting
from gui.export_dialog import ExportDialog, ExportRunner
from gui.filter_bar import FilterBar
from gui.folder_scan import FolderScanner
from gui.indexing import IndexingController
from gui.library_panel import LibraryPanel
from gui.messages import MessageBar
from gui.player import PlayerWidget
from gui.query_actions import QueryActions
from gui.query_panel import QueryPanel
from gui.results_panel import ResultsPanel
from gui.review import ReviewController
from gui.search_service import SearchOutcome, SearchService
from gui.timeline import Lane, TimelineWidget
from gui.unindexed import keep_unindexed, show_unindexed
from gui.window_layout import WindowLayout, app_settings
from pipeline.engine import ModelSet, SpotterError, models_for_library
from pipeline.storage import Library
from pipeline.types import Hit, ProgressEvent, Stage, VideoSummary

log = logging.getLogger(__name__)

SPLITTERS = ("main", "left", "centre")


class MainWindow(DropRouting, QueryActions, WindowLayout, QMainWindow):
    def __init__(
        self,
        db_path: str | Path,
        make_models: Callable[[], ModelSet] = ModelSet,
        settings: QSettings | None = None,
        cluster: str | None = None,  # index on this Ray cluster ("local" or an address)
    ):
        super().__init__()
        self.setAcceptDrops(True)
        self.library = Library(db_path)
        self.setWindowTitle(f"Spotter \N{EM DASH} {self.library.where}")
        self.settings = settings if settings is not None else app_settings()
        self.messages = MessageBar()
        self.library_panel = LibraryPanel()
        self.query_panel = QueryPanel()
        self.results = ResultsPanel()
        self.timeline = TimelineWidget()
        self.player = PlayerWidget(self.library)
        library_models = partial(models_for_library, self.library, make_models)
        self.indexing = IndexingController(self.library, library_models, parent=self, cluster=cluster)
        self.search = SearchService(self.library, library_models, parent=self)
        self.adaptation = AdaptController(self.library, library_models, self, lambda: self.indexing.running)
        self.exporter = ExportRunner(self.library, self)
        self.folders = FolderScanner(self)  # dropped and chosen folders are walked off the GUI thread
        self.folders.looking.connect(self.messages.ongoing)
        self.folders.looked.connect(self.messages.settle)
        self.folders.failed.connect(self.messages.error)
        self.folders.looking.connect(lambda _: self.library_panel.cancel_all.setEnabled(True))
        self.filter_bar = FilterBar()
        self.clock_editor = ClockEditor(self.library, self)
        self.review = ReviewController(self.library, self.results, self.search, library_models, self)
        self._export_dialog: ExportDialog | None = None
        self._closed = False
        self._compose()
        self.actions_by_name = build_menus(self)
        self._connect()
        self._restore_settings()
        show_unindexed(self, self.refresh_library())

    # ----- composition ----------------------------------------------------------------------------

    def _compose(self) -> None:
        timeline_scroll = QScrollArea()
        timeline_scroll.setWidget(self.timeline)
        timeline_scroll.setWidgetResizable(True)
        timeline_scroll.setMinimumHeight(90)
        self.splitters = {name: QSplitter() for name in SPLITTERS}
        left, centre, main = self.splitters["left"], self.splitters["centre"], self.splitters["main"]
        left.setOrientation(Qt.Orientation.Vertical)
        left.addWidget(self.library_panel)
        left.addWidget(self.query_panel)
        centre.setOrientation(Qt.Orientation.Vertical)
        centre.addWidget(self.player)
        centre.addWidget(timeline_scroll)
        main.addWidget(left)
        main.addWidget(centre)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.filter_bar)
        right_layout.addWidget(self.results, 1)
        main.addWidget(right)
        main.setSizes([400, 740, 440])
        left.setSizes([380, 420])
        centre.setSizes([720, 130])
        centre.setStretchFactor(0, 1)
        for s in self.splitters.values():
            s.setChildrenCollapsible(False)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.messages)
        layout.addWidget(main, 1)
        self.setCentralWidget(body)
        self.device_label = QLabel("Device: …")
        self.statusBar().addPermanentWidget(self.device_label)
        self.resize(1500, 920)

    def _connect(self) -> None:
        ix, lp, qp, rs, tl, pl = (
            self.indexing,
            self.library_panel,
            self.query_panel,
            self.results,
            self.timeline,
            self.player,
        )
        ix.queued.connect(lp.mark_queued)
        ix.progress.connect(self._on_index_progress)
        ix.video_finished.connect(self._on_video_finished)
        ix.video_failed.connect(self._on_video_failed)
        ix.running_changed.connect(self._on_indexing_running)
        lp.cancel_requested.connect(ix.cancel)
        lp.cancel_all_requested.connect(self.cancel_all_indexing)
        lp.refresh_wanted.connect(self.refresh_library)
        lp.resume_requested.connect(lambda p: ix.add([p]))
        lp.add_requested.connect(self.actions_by_name["add_videos"].trigger)
        lp.open_requested.connect(lambda p: pl.seek_time(p, 0.0))
        lp.camera_edit_requested.connect(self.clock_editor.edit_camera)
        lp.start_edit_requested.connect(self.clock_editor.edit_start)
        self.clock_editor.camera_renamed.connect(self.filter_bar.follow_camera)
        self.clock_editor.changed.connect(self._on_clock_changed)
        self.clock_editor.error.connect(self.messages.error)
        self.review.error.connect(self.messages.error)
        self.review.info.connect(self.messages.info)
        self.adaptation.info.connect(self.messages.info)
        self.adaptation.error.connect(self.messages.error)
        self.review.play.connect(self._on_timeline_hit)
        self.review.opened.connect(self.filter_bar.set_value)
        self.review.photo_requested.connect(self.open_photo)  # with the person's box where the case has one
        self.filter_bar.changed.connect(self.search.set_filter)
        self.filter_bar.changed.connect(lambda where: pl.show_region(where.region))
        pl.region_drawn.connect(self.filter_bar.set_region)
        self.filter_bar.colours_changed.connect(self.search.set_colours)
        self.filter_bar.describe_requested.connect(self.search_description)
        qp.open_requested.connect(self.actions_by_name["open_photo"].trigger)
        qp.paste_requested.connect(self.paste_photo)
        qp.person_clicked.connect(self.choose_person)
        self._searched_again: set[int | None] = set()  # the same query again: the view stays
        self.search.result_ready.connect(self._on_search_result)
        self.search.failed.connect(self._on_search_failed)
        self.search.device_known.connect(self._show_device)
        self.search.busy_changed.connect(
            lambda busy: self.statusBar().showMessage("Searching…" if busy else "")
        )
        rs.visible_hits_changed.connect(self._on_visible_hits)
        rs.hit_activated.connect(self.show_hit)
        tl.hit_clicked.connect(self._on_timeline_hit)
        tl.seek_requested.connect(pl.seek_time)
        pl.position_changed.connect(tl.set_cursor)
        pl.hit_changed.connect(self._on_player_hit)
        pl.search_person.connect(
            lambda image, box, where, aspect: self.set_query_image(image, where, box, aspect)
        )
        pl.error.connect(self.messages.error)
        self.exporter.failed.connect(self.messages.error)
        self.exporter.finished.connect(self._on_export_finished)

    # ----- videos ---------------------------------------------------------------------------------

    def refresh_library(self) -> list[VideoSummary]:
        """Re-read the library: video rows and timeline lanes; returns the library's videos."""
        try:
            videos = self.library.videos()
        except SpotterError as e:
            self.messages.error(str(e))
            return []
        self.library_panel.sync(videos)
        try:
            self.filter_bar.set_cameras(self.library.cameras())
        except SpotterError as e:
            self.messages.error(str(e))
        lanes = [Lane(v.path, v.duration_s, v.camera, v.start_time) for v in videos if v.status != "failed"]
        self.timeline.set_lanes(lanes)
        return videos

    def _on_clock_changed(self) -> None:
        """A camera or start was corrected: show it everywhere, and in the hits of the last search."""
        self.refresh_library()
        self.player.reload_tracks()
        self._searched_again.add(self.search.repeat())

    def cancel_all_indexing(self) -> None:
        """Cancel every video being indexed or queued, and the folders still being looked through
        (what they hold is not queued when their walk ends)."""
        self.folders.cancel()
        self.indexing.cancel(None)

    def _on_index_progress(self, ev: ProgressEvent) -> None:
        self.library_panel.show_progress(ev)
        if ev.device:
            self._show_device(ev.device)

    def _on_video_finished(self, ev: ProgressEvent) -> None:
        videos = self.refresh_library()  # a copy of an indexed video is an alias of it, not a new row
        summary = next((v for v in videos if ev.video_path in (v.path, *v.aliases)), None)
        self.library_panel.show_finished(ev, summary)
        if ev.video_path == self.player.video_path:
            self.player.reload_tracks()
        if ev.stage == Stage.CANCELLED and summary is not None:
            said = f"{summary.tracks} people searchable so far (those still in view: once resumed)"
            self.messages.info(f"{Path(ev.video_path).name}: cancelled; {said}")
        if ev.stage in (Stage.DONE, Stage.CANCELLED) and summary is not None:
            self._searched_again.add(self.search.repeat())  # the new tracks are searchable at once

    def _on_video_failed(self, path: str, message: str) -> None:
        self.messages.error(message)
        self.refresh_library()
        self.library_panel.show_failed(path, message)

    def _on_indexing_running(self, running: bool) -> None:
        self.statusBar().showMessage("Indexing…" if running else "Indexing finished", 0 if running else 5000)

    def _show_device(self, label: str) -> None:
        self.library_panel.set_device(label)
        self.device_label.setText(f"Device: {label}")

    def _on_search_result(self, outcome: SearchOutcome) -> None:
        if self.query_panel.image is None:  # a description
            self.query_panel.status.setText(f"{len(outcome.hits)} people ranked by their clothing colours.")
        else:
            self.query_panel.set_people(
                outcome.people, outcome.chosen, outcome.box, outcome.whole_photo, outcome.note
            )
        current = self.player.current
        if current is None or all(h.track_pk != current.track_pk for h in outcome.candidates):
            self.player.clear_current()  # a hit of an earlier query
            self.timeline.set_current(None)
        self.results.set_outcome(outcome, keep_view=outcome.request_id in self._searched_again)
        self._searched_again.discard(outcome.request_id)

    def _on_search_failed(self, message: str) -> None:
        self.query_panel.set_error(message)
        self.results.clear("No search: " + message)
        self.messages.error(message)

    # ----- hits -----------------------------------------------------------------------------------

    def _on_visible_hits(self) -> None:
        hits = self.results.visible_hits()
        self.timeline.set_hits(hits)
        self.player.set_hits(hits)

    def show_hit(self, hit: Hit) -> None:
        """Seek the player to the hit's start with the person boxed."""
        self.player.show_hit(hit)
        self.timeline.set_current(hit)

    def _on_timeline_hit(self, hit: Hit) -> None:
        self.results.select_hit(hit)
        self.show_hit(hit)

    def _on_player_hit(self, hit: Hit) -> None:
        self.results.select_hit(hit)
        self.timeline.set_current(hit)

    # ----- export ---------------------------------------------------------------------------------

    def export_hits(self, hits: Sequence[Hit], folder: str | Path, annotate: bool = True) -> bool:
        """Export hits to clips in ``folder`` on the export thread (see ``self.exporter`` signals)."""
        self.settings.setValue("folders/export", str(folder))
        return self.exporter.start(hits, folder, annotate)

    def show_export_dialog(self) -> ExportDialog:
        if self._export_dialog is None:
            folder = str(self.settings.value("folders/export", str(Path.home())))
            self._export_dialog = ExportDialog(
                self.exporter, self.results.selected_hits, self.results.visible_hits, folder, self
            )
            self._export_dialog.folder_chosen.connect(lambda f: self.settings.setValue("folders/export", f))
        self._export_dialog.refresh()
        self._export_dialog.show()
        self._export_dialog.raise_()
        return self._export_dialog

    def _on_export_finished(self, summary: str) -> None:
        ev = self.exporter.last
        if ev is None or not summary:
            self.messages.warning("Export: nothing was written")
            return
        self.messages.info(f"Exported {ev.clips_done} clip(s) to {Path(summary).parent}; summary {summary}")

    # ----- shutdown ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Cancel indexing (what was indexed is kept), finish the threads, remember the layout."""
        if not self._closed:
            self._closed = True
            self.save_settings()
            keep_unindexed(self)
            self.player.close_video()
            self.folders.shutdown()
            self.indexing.shutdown()
            self.exporter.shutdown()
            self.review.reports.shutdown()
            self.adaptation.shutdown()
            self.search.shutdown()
            if self._export_dialog is not None:
                self._export_dialog.close()
            self.library.close()
        event.accept()
