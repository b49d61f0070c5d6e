"""The player: frame-exact OpenCV decoding, boxes from the stored track paths, playback controls.

Frames are decoded on the GUI thread (one frame at a time; playing forward reads the next frame
without seeking). The matched person's box at every frame comes from the hit's stored box path,
interpolated between observations over gaps up to the export's ``max_box_gap_s``.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QVBoxLayout, QWidget

from gui.frame_view import CURRENT, MATCH, OTHER, Box, DrawnBox, FrameView
from gui.util import ElidedLabel, bgr_to_qimage, fmt_time
from pipeline.cameras import clock_label
from pipeline.engine import SpotterError
from pipeline.export import ExportConfig
from pipeline.frames import FrameSource
from pipeline.source_check import playable_source
from pipeline.storage import Library, TrackInfo
from pipeline.storage.clock import VideoClock
from pipeline.types import Hit, box_at

log = logging.getLogger(__name__)


def neighbour_hit(hits: list[Hit], video: str, frame: int, direction: int) -> Hit | None:
    """The next (direction > 0) or previous hit in (video, start frame) order from a position."""
    ordered = sorted(hits, key=lambda h: (h.video_path, h.start_frame, -h.score))
    here = (video, frame)
    if direction > 0:
        return next((h for h in ordered if (h.video_path, h.start_frame) > here), None)
    return next((h for h in reversed(ordered) if (h.video_path, h.start_frame) < here), None)


class PlayerWidget(QWidget):
    position_changed = Signal(str, float)  # video path, seconds
    hit_changed = Signal(object)  # Hit now selected (by next/previous)
    search_person = Signal(object, object, str, float)  # frame BGR image, box, description, pixel aspect
    error = Signal(str)
    region_drawn = Signal(object)  # Box in frame pixels: limit the search to people who enter it

    def __init__(self, library: Library, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.source: FrameSource | None = None
        self._playable_cache: dict[tuple[int, int], str] = {}  # a folder checked, while unchanged
        self.video_path = ""
        self.frame_index = -1
        self.image: np.ndarray | None = None  # BGR frame on show
        self._qimage: QImage | None = None
        self.current: Hit | None = None
        self.hits: list[Hit] = []
        self._tracks: list[TrackInfo] = []
        self.clock: VideoClock | None = None  # the open video's camera and start
        self._paths: dict[int, np.ndarray] = {}  # track pk -> box path of each hit
        self.view = FrameView()
        self.view.search_requested.connect(self._on_search_box)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._pending_seek: int | None = None

        def button(icon: QStyle.StandardPixmap, tip: str, slot: object) -> QToolButton:
            b = QToolButton()
            b.setIcon(self.style().standardIcon(icon))
            b.setToolTip(tip)
            b.clicked.connect(slot)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            return b

        sp = QStyle.StandardPixmap
        self.prev_button = button(sp.SP_MediaSkipBackward, "Previous hit (P)", self.prev_hit)
        self.back_button = button(
            sp.SP_MediaSeekBackward, "Step back one frame (Left)", lambda: self.step(-1)
        )
        self.play_button = button(sp.SP_MediaPlay, "Play / pause (Space)", self.toggle_play)
        self.fwd_button = button(
            sp.SP_MediaSeekForward, "Step forward one frame (Right)", lambda: self.step(1)
        )
        self.next_button = button(sp.SP_MediaSkipForward, "Next hit (N)", self.next_hit)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(self._on_slider)
        self.region_button = QToolButton()
        self.region_button.setText("Region")
        self.region_button.setCheckable(True)
        self.region_button.setToolTip("Drag on the picture to search only people who enter that region")
        self.region_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.region_button.toggled.connect(self._on_region_mode)
        self.view.region_drawn.connect(self._on_region_drawn)
        # the clock time, the offset and the frame: where the player is narrow, the date goes first
        self.time_label = ElidedLabel("--:--", mode=Qt.TextElideMode.ElideLeft)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.title = QLabel("<b>Player</b>")
        controls = QHBoxLayout()  # the seek bar has a row of its own, the player's width (beside the
        # buttons and the time it was 25 px wide in a 1024x600 window)
        for b in (self.prev_button, self.back_button, self.play_button, self.fwd_button, self.next_button):
            controls.addWidget(b)
        controls.addWidget(self.time_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.region_button)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.slider)
        layout.addLayout(controls)
        self._set_enabled(False)

    # ----- state ----------------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def fps(self) -> float:
        return self.source.fps if self.source is not None else 0.0

    def _set_enabled(self, on: bool) -> None:
        for w in (self.back_button, self.play_button, self.fwd_button, self.slider):
            w.setEnabled(on)

    def set_hits(self, hits: list[Hit]) -> None:
        """The hits on show in the results (boxed while they are on screen, used by next/previous)."""
        self.hits = list(hits)
        old = self._paths  # a track's path never changes: keep the arrays already built
        self._paths = {
            h.track_pk: old[h.track_pk] if h.track_pk in old else h.path_array() for h in self.hits
        }
        if self.current is not None and self.current.track_pk not in self._paths:
            self._paths[self.current.track_pk] = self.current.path_array()
        self.prev_button.setEnabled(bool(self.hits))
        self.next_button.setEnabled(bool(self.hits))
        self._redraw()

    def clear_current(self) -> None:
        """Forget the selected hit (a new search replaced it)."""
        self.current = None
        self._redraw()

    def open_video(self, path: str) -> bool:
        """Open a video (if not already open); False (and an error signal) when it cannot be."""
        if self.source is not None and path == self.video_path:
            return True
        self.pause()
        try:
            video_id = self.library.video_id(path)
            known = (
                (self.library.seek_table(video_id), self.library.indexed_frames(video_id)) if video_id else ()
            )
            source = FrameSource(self._playable(path), *known)
        except SpotterError as e:
            self.close_video()  # not the last video's frame, under another video's hit
            self.error.emit(str(e))
            return False
        if self.source is not None:
            self.source.close()
        self.source, self.video_path, self.frame_index = source, path, -1
        self.view.pixel_aspect = source.info.pixel_aspect  # D1 footage shows at 4:3, as players show it
        self.reload_tracks()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(source.frame_count - 1, 0))
        self.slider.blockSignals(False)
        self.title.setText(f"<b>Player</b> — {html.escape(Path(path).name)}")  # a name is not markup
        self._set_enabled(True)
        return True

    def _playable(self, path: str) -> str:
        """The file to show an indexed video's hits on (:func:`playable_source`), the answer for a
        folder kept while the folder is unchanged (its images are read where it changed)."""
        video_id = self.library.video_id(path)
        if video_id is None:
            return path
        key = (video_id, _changed_at(path))
        if not key[1]:  # a file: its sampled fingerprint, every time
            return playable_source(self.library, video_id)
        if key not in self._playable_cache:
            self._playable_cache = {key: playable_source(self.library, video_id)}  # the last one only
        return self._playable_cache[key]

    def reload_tracks(self) -> None:
        """Everyone tracked in the open video (for the thin boxes and right-click search)."""
        self._tracks, self.clock = [], None
        if not self.video_path:
            return
        try:
            video_id = self.library.video_id(self.video_path)
            self._tracks = self.library.video_tracks(video_id) if video_id is not None else []
            self.clock = self.library.clocks().get(video_id) if video_id is not None else None
        except SpotterError as e:
            self.error.emit(str(e))

    def close_video(self) -> None:
        self.pause()
        if self.source is not None:
            self.source.close()
        self.source, self.video_path, self.frame_index, self.image = None, "", -1, None
        self._qimage = None
        self.view.set_frame(None, ())
        self._set_enabled(False)

    # ----- region ---------------------------------------------------------------------------------

    def show_region(self, region: Box | None) -> None:
        """Shade the region the search is limited to (None: no region)."""
        self.view.region = region
        self.view.update()

    def _on_region_mode(self, on: bool) -> None:
        self.view.region_mode = on
        self.view.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    def _on_region_drawn(self, box: Box) -> None:
        self.region_button.setChecked(False)
        self.region_drawn.emit(box)

    # ----- navigation -----------------------------------------------------------------------------

    def show_hit(self, hit: Hit) -> None:
        """Open the hit's video at its first frame with the person boxed."""
        if hit == self.current and hit.video_path == self.video_path and self.frame_index == hit.start_frame:
            return
        self.current = hit
        self._paths.setdefault(hit.track_pk, hit.path_array())
        if self.open_video(hit.video_path):
            self.pause()
            self.seek(hit.start_frame)

    def seek_time(self, path: str, seconds: float) -> None:
        if self.open_video(path):
            self.seek(round(seconds * self.fps))

    def seek(self, index: int) -> bool:
        """Show frame ``index`` (clamped to the video); False when it cannot be decoded."""
        if self.source is None:
            return False
        index = min(max(int(index), 0), max(self.source.frame_count - 1, 0))
        try:
            image = self.source.frame(index)
        except SpotterError as e:
            self.pause()
            self.error.emit(str(e))
            return False
        self.image, self.frame_index = image, index
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self._qimage = bgr_to_qimage(image)
        self._redraw()
        seconds = index / self.fps if self.fps else 0.0
        total = self.source.frame_count / self.fps if self.fps else 0.0
        clock = f"{clock_label(self.clock.start, seconds, self.clock.camera)}  ·  " if self.clock else ""
        self.time_label.setText(f"{clock}{fmt_time(seconds)} / {fmt_time(total)}  #{index}")
        self.time_label.setToolTip(self.time_label.text())
        self.position_changed.emit(self.video_path, seconds)
        return True

    def step(self, delta: int) -> None:
        if self.source is not None:
            self.pause()
            self.seek(self.frame_index + delta)

    def next_hit(self) -> None:
        self._jump(1)

    def prev_hit(self) -> None:
        self._jump(-1)

    def _jump(self, direction: int) -> None:
        frame = self.frame_index if self.video_path else -1
        if self.current is not None and self.current.video_path == self.video_path and direction < 0:
            frame = min(frame, self.current.start_frame)  # from inside a hit, 'previous' leaves it
        hit = neighbour_hit(self.hits, self.video_path, frame, direction)
        if hit is not None:
            self.show_hit(hit)
            self.hit_changed.emit(hit)

    # ----- playback -------------------------------------------------------------------------------

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.source is None:
            return
        if self.frame_index >= self.source.frame_count - 1:
            self.seek(0)
        self._timer.start(max(int(1000 / (self.fps or 25.0)), 5))
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        self._timer.stop()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def _tick(self) -> None:
        if self.source is None or self.frame_index + 1 >= self.source.frame_count:
            self.pause()
            return
        if not self.seek(self.frame_index + 1):
            self.pause()

    def _on_slider(self, value: int) -> None:
        # coalesce a fast scrub: decode only the latest position once events have been processed
        if self._pending_seek is None:
            QTimer.singleShot(0, self._apply_scrub)
        self._pending_seek = value

    def _apply_scrub(self) -> None:
        value, self._pending_seek = self._pending_seek, None
        if value is not None and value != self.frame_index:
            self.seek(value)

    # ----- boxes ----------------------------------------------------------------------------------

    def current_boxes(self) -> tuple[DrawnBox, ...]:
        """Boxes at the frame on show: hits (the selected one marked CURRENT), then everyone else."""
        if self.source is None or self.frame_index < 0:
            return ()
        f, gap = self.frame_index, round(ExportConfig().max_box_gap_s * (self.fps or 25.0))
        out: list[DrawnBox] = []
        for hit in [*self.hits, *([self.current] if self.current is not None else [])]:
            if hit.video_path != self.video_path or not hit.start_frame <= f <= hit.end_frame:
                continue
            if any(b.track_pk == hit.track_pk for b in out):
                continue
            box = box_at(self._paths[hit.track_pk], f, gap)  # set_hits/show_hit keep every one
            if box is not None:
                style = (
                    CURRENT if self.current is not None and hit.track_pk == self.current.track_pk else MATCH
                )
                label = f"{hit.score:.2f}"
                out.append(DrawnBox(hit.track_pk, tuple(float(v) for v in box), style, label))  # type: ignore[arg-type]
        taken = {b.track_pk for b in out}
        for t in self._tracks:
            if t.pk in taken or not t.first_frame <= f <= t.last_frame:
                continue
            box = box_at(t.path, f, gap)
            if box is not None:
                out.append(DrawnBox(t.pk, tuple(float(v) for v in box), OTHER))  # type: ignore[arg-type]
        return tuple(out)

    def _redraw(self) -> None:
        if self._qimage is not None:
            self.view.set_frame(self._qimage, self.current_boxes())

    def _on_search_box(self, box: Box) -> None:
        if self.image is None:
            return
        where = f"{Path(self.video_path).name} at {fmt_time(self.frame_index / (self.fps or 25.0))}"
        self.search_person.emit(self.image.copy(), box, where, self.view.pixel_aspect)


def _changed_at(path: str) -> int:
    """When a folder's listing last changed (images added or removed); 0 for a file, or a path that
    cannot be asked."""
    try:
        where = Path(path)
        return where.stat().st_mtime_ns if where.is_dir() else 0
    except OSError:
        return 0
