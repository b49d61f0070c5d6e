"""The app indexing on a real local Ray cluster (``main.py --ray local``): videos dropped on the window
are indexed by Ray workers, each row shows its progress, and a row's Cancel stops that video only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from bench.sequences import cut
from tests.conftest import pets, tud
from tests.gui.conftest import INDEX_TIMEOUT_MS, drag_and_drop

pytestmark = pytest.mark.xdist_group("ray")  # one local Ray cluster at a time (tests/conftest.py)

if os.environ.get("SPOTTER_REQUIRE_RAY") == "1":  # .ci/run: Ray is installed (--cluster); never skip
    import ray
else:
    ray = pytest.importorskip("ray")


@pytest.fixture
def ray_window(make_window, tmp_path: Path):
    window = make_window(cluster="local")
    yield window
    window.close()
    ray.shutdown()


def test_dropped_videos_are_indexed_by_ray_workers(ray_window, qtbot, tmp_path: Path) -> None:
    window = ray_window
    clips = [cut(pets().video, tmp_path / "pets_a.mp4", 0, 100), tud().video]
    events = []
    window.indexing.progress.connect(events.append)
    with qtbot.waitSignal(window.indexing.running_changed, timeout=5000):
        entered, dropped = drag_and_drop(window, clips)
    assert entered and dropped
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        pass
    videos = {Path(v.path).name: v for v in window.library.videos()}
    assert {n: v.status for n, v in videos.items()} == {"pets_a.mp4": "done", "TUD-Campus.mp4": "done"}
    assert all(v.tracks > 0 for v in videos.values())
    assert any(e.device == "Ray: 2 workers, on CPUs" and 0 < e.frames_done < e.frames_total for e in events)
    assert window.device_label.text() == "Device: Ray: 2 workers, on CPUs"  # what the job runs on
    for clip in clips:
        assert window.library_panel.row(str(Path(clip).resolve())).state == "done"
    assert not window.messages.history, window.messages.history


def test_a_rows_cancel_stops_that_video_only(ray_window, qtbot, tmp_path: Path) -> None:
    window = ray_window
    long_clip, short_clip = str(pets().video), str(cut(pets().video, tmp_path / "pets_b.mp4", 0, 60))
    window.add_videos([long_clip, short_clip])
    row = window.library_panel.row(long_clip)
    qtbot.waitUntil(lambda: row.state == "indexing" and row.bar.value() > 0, timeout=INDEX_TIMEOUT_MS)
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)
    statuses = {Path(v.path).name: v.status for v in window.library.videos()}
    assert statuses["pets_b.mp4"] == "done"
    assert statuses.get(Path(long_clip).name, "partial") == "partial"  # kept to resume, never "done"
