"""The library list's rows (no models): each warning by its label, a failed row's reason, a copy's
and a moved recording's rows, and what Cancel all leaves to keep for the next start."""

from __future__ import annotations

from dataclasses import replace


def test_a_videos_warnings_are_each_named_in_its_row(qtbot) -> None:
    """Every warning a video's report has, by its label: the row said "small people" for any warning
    (a --stride that ran the detector seconds apart showed as small people); a report from before
    labels keeps its one kind."""
    import json

    from gui.library_panel import VideoRow
    from pipeline.types import VideoSummary

    row = VideoRow("/videos/gate.mp4")
    qtbot.addWidget(row)
    report = {"warnings": ["--stride 30 runs ...", "people are small here ..."]}
    report["warning_labels"] = ["detector every 3.0 s", "small people"]
    video = VideoSummary(1, "/videos/gate.mp4", "done", 10.0, 60, 60, 6.0, 320, 240, 3)
    row.show_summary(replace(video, report_json=json.dumps(report)))
    assert row.status.text().endswith("· ⚠ detector every 3.0 s · ⚠ small people"), row.status.text()
    row.show_summary(replace(video, report_json=json.dumps({"warnings": ["people are small here ..."]})))
    assert row.status.text().endswith("people · ⚠ small people"), row.status.text()
    row.show_summary(video)
    assert "⚠" not in row.status.text()


def test_a_failed_rows_reason_is_not_lost_behind_its_path() -> None:
    from gui.library_panel import reason_only

    path = "/srv/nvr/2026/12/03/NVR_ch01_main_20261203080000_20261203090000.mp4"
    assert reason_only(f"{path}: frames do not decode", path) == "frames do not decode"
    assert reason_only("NVR_ch01_main_20261203080000_20261203090000.mp4: empty", path) == "empty"
    assert reason_only("the disk is full", path) == "the disk is full"


def test_cancel_all_leaves_nothing_waiting_to_be_kept() -> None:
    """Cancel all, then closing the window at once, kept the cancelled queue for the next start (the
    queue empties only after the batch in flight; a review)."""
    from gui.workers import IndexWorker

    worker = IndexWorker(None, None, ["/v/a.mp4", "/v/b.mp4", "/v/c.mp4"])  # type: ignore[arg-type]
    worker.cancel("/v/b.mp4")
    assert worker.waiting() == ["/v/a.mp4", "/v/c.mp4"]
    worker.cancel(None)
    assert worker.waiting() == []


def test_a_moved_recordings_old_row_names_where_it_is_listed(qtbot) -> None:
    """A recording moved and indexed where it is now is listed there; its old row still read
    "indexed", and opening it failed on the file gone (a review)."""
    from gui.library_panel import LibraryPanel
    from pipeline.types import VideoSummary

    panel = LibraryPanel()
    qtbot.addWidget(panel)
    old = VideoSummary(1, "/live/Gate.mp4", "done", 10.0, 60, 60, 6.0, 320, 240, 3)
    panel.sync([old])
    panel.sync([replace(old, path="/archive/Gate.mp4", aliases=("/live/Gate.mp4",))])
    assert panel.row("/live/Gate.mp4").status.text() == "same content as Gate.mp4: indexed once · 3 people"
    assert panel.row("/archive/Gate.mp4").status.text().startswith("indexed")
    twin = VideoSummary(
        2, "/nas/Door.mp4", "partial", 10.0, 60, 30, 6.0, 320, 240, 1, aliases=("/usb/Door.mp4",)
    )
    panel._row("/usb/Door.mp4")  # a copy shown while its twin had not finished: not "indexed once"
    panel.sync([twin])
    assert (
        panel.row("/usb/Door.mp4").status.text()
        == "same content as Door.mp4, whose indexing has not finished"
    )
    panel.sync([replace(twin, status="done", frames_done=60)])  # the twin finished: the copy's row says so
    assert panel.row("/usb/Door.mp4").status.text() == "same content as Door.mp4: indexed once · 1 people"


def test_the_camera_filter_follows_its_camera_renamed(qtbot) -> None:
    """Renaming the chosen camera reset the filter to all cameras, and the case's filter, which the
    library had moved to the new name, was written back as all cameras at the next mark (a review).
    One name gone and one new in its place is a rename; a camera merged into another is not."""
    from gui.filter_bar import ALL_CAMERAS, FilterBar

    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.set_cameras(["Garage", "Lobby"])
    bar.camera.setCurrentText("Lobby")
    bar.set_cameras(["Entrance", "Garage"])
    assert bar.value().cameras == ("Entrance",)
    bar.set_cameras(["Garage"])  # merged away: no name took its place
    assert bar.camera.currentText() == ALL_CAMERAS and bar.value().cameras == ()


def test_the_camera_filter_follows_its_camera_merged_into_another(make_window, tmp_path) -> None:
    """Naming the chosen camera's last video after another camera (a merge) reset the app's filter to
    all cameras, while the library moved the case's filter to the camera merged into; the next mark
    wrote all cameras back over it. The app now follows the merge as the library does."""
    import numpy as np

    from gui.filter_bar import ALL_CAMERAS
    from pipeline.storage import Library
    from tests.test_search import DIM, add_video

    db = tmp_path / "cams.db"
    library = Library(str(db))
    lobby, garage = (add_video(library, name, [np.ones(DIM)]) for name in ("lobby", "garage"))
    library.set_camera(lobby, "Lobby")
    library.set_camera(garage, "Garage")
    library.close()
    window = make_window(db)
    bar = window.filter_bar
    bar.camera.setCurrentText("Lobby")
    assert bar.value().cameras == ("Lobby",)
    assert window.clock_editor.set_camera("/videos/lobby.mp4", "Garage")
    assert [bar.camera.itemText(k) for k in range(bar.camera.count())] == [ALL_CAMERAS, "Garage"]
    assert bar.value().cameras == ("Garage",)
    window.filter_bar.camera.setCurrentText(ALL_CAMERAS)  # a camera still in use is not followed
    assert window.clock_editor.set_camera("/videos/garage.mp4", "Gate")
    assert bar.value().cameras == ()


def test_a_route_stop_ends_at_the_second_that_covers_its_end() -> None:
    """The route listed a stop ending at 14:30:14.9 as "– 14:30:14" while the report and the command
    line say 14:30:15: one rule for end times (``pipeline.types.end_second``)."""
    from datetime import datetime

    from gui.route_view import stop_text
    from pipeline.route import RouteStop

    start = datetime(2026, 11, 21, 14, 30, 0)
    stop = RouteStop(
        "Gate", "/v/gate.mp4", (), 0.0, 14.9, start, start.replace(second=14, microsecond=900000), 0.9, False
    )
    assert "2026-11-21 14:30:00 – 14:30:15" in stop_text(stop)
    night = RouteStop(
        "Gate",
        "/v/gate.mp4",
        (),
        0.0,
        12.0,
        start.replace(hour=23, minute=59, second=55),
        datetime(2026, 11, 22, 0, 0, 7),
        0.9,
        False,
    )
    assert "2026-11-21 23:59:55 – 2026-11-22 00:00:07" in stop_text(night)  # the day it ends on


def test_a_cases_filter_the_bar_cannot_show_is_kept_not_dropped(qtbot) -> None:
    """A case from another library filtered to camera 'Late', which this one lacks, showed all
    cameras and searched unfiltered, and the next mark wrote all cameras over the case's filter; its
    videos were dropped the same way (a sweep). They are shown and searched until the operator
    chooses otherwise."""
    from gui.filter_bar import ALL_CAMERAS, FilterBar
    from pipeline.search_filter import SearchFilter

    bar = FilterBar()
    qtbot.addWidget(bar)
    bar.set_cameras(["Entrance", "Hall"])
    for where in (
        SearchFilter(cameras=("Late",)),
        SearchFilter(cameras=("Hall", "Late")),
        SearchFilter(cameras=("Hall",), videos=(3, 4)),
    ):
        bar.set_value(where)
        assert bar.value() == where
        bar.set_cameras(["Entrance", "Hall", "Yard"])  # a video indexed meanwhile: the list renewed
        assert bar.value() == where
    assert bar.videos_label.text() == "Videos: 2 of the case"  # said, not only in a tooltip
    searched = []
    bar.changed.connect(searched.append)
    bar.camera.setCurrentIndex(bar.camera.findText("Entrance"))  # the operator's choice: one search
    assert searched == [SearchFilter(cameras=("Entrance",))] and bar.value() == searched[0]
    assert bar.videos_label.text() == ""
    bar.set_value(SearchFilter())
    assert bar.camera.currentText() == ALL_CAMERAS and bar.value() == SearchFilter()
    bar.set_value(SearchFilter(cameras=("Hall", "Lobby")))  # a camera of several renamed: followed
    bar.follow_camera("Lobby", "Entrance")
    bar.set_cameras(["Entrance", "Hall"])
    assert bar.value().cameras == ("Hall", "Entrance")
