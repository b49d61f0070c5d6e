"""Exporting hits from the GUI: playable MP4s of the right length, the summary, no overwriting."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2

from pipeline.export import ExportConfig
from tests.gui.conftest import SEARCH_TIMEOUT_MS


def decoded_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def expected_frames(hit, frame_count: int) -> int:
    margin = round(ExportConfig().margin_s * hit.fps)
    first, last = max(0, hit.start_frame - margin), min(frame_count - 1, hit.end_frame + margin)
    return last - first + 1


def test_export_a_hit_writes_a_playable_clip_and_the_summary(
    make_window, qtbot, indexed_copy: Path, pets_query: Path, tmp_path: Path
) -> None:
    window = make_window(indexed_copy)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    hit = window.results.visible_hits()[0]
    frame_count = next(v.frame_count for v in window.library.videos() if v.path == hit.video_path)
    out = tmp_path / "evidence"
    out.mkdir()
    progress = []
    window.exporter.progress.connect(progress.append)
    with qtbot.waitSignal(window.exporter.finished, timeout=120_000) as done:
        assert window.export_hits([hit], out, annotate=True)
    summary = Path(done.args[0])
    assert summary.exists() and summary.with_suffix(".csv").exists()
    assert progress and progress[-1].finished
    (clip,) = json.loads(summary.read_text())["clips"]
    mp4 = out / clip["clip"]
    assert mp4.suffix == ".mp4" and (out / clip["thumbnail"]).exists()
    assert decoded_frames(mp4) == clip["frames"] == expected_frames(hit, frame_count)
    assert clip["video"] == hit.video_path and clip["track_id"] == hit.track_id
    assert abs(clip["score"] - hit.score) < 1e-3 and clip["annotated"] is True
    assert clip["hit_start_s"] == round(hit.start_s, 3) and clip["hit_end_s"] == round(hit.end_s, 3)
    assert clip["sha256"] == hashlib.sha256(mp4.read_bytes()).hexdigest()
    assert "Exported 1 clip" in window.messages.text
    first_digest = clip["sha256"]

    # the same export again never overwrites: new names, the first files untouched
    with qtbot.waitSignal(window.exporter.finished, timeout=120_000) as again:
        window.export_hits([hit], out, annotate=False)
    second = Path(again.args[0])
    assert second != summary
    (clip2,) = json.loads(second.read_text())["clips"]
    assert clip2["clip"] != clip["clip"]
    assert hashlib.sha256(mp4.read_bytes()).hexdigest() == first_digest
    assert len(list(out.glob("*.mp4"))) == 2


def test_export_to_a_missing_folder_is_a_message(make_window, qtbot, tmp_path: Path) -> None:
    from tests.gui.test_widgets import make_hit

    window = make_window()
    hit = make_hit("/nowhere/v.mp4", 1, 0.9, 0, 10)
    with qtbot.waitSignal(window.exporter.failed, timeout=5000):
        assert not window.export_hits([hit], tmp_path / "missing")
    assert "no such folder" in window.messages.text
    with qtbot.waitSignal(window.exporter.failed, timeout=5000):
        assert not window.export_hits([], tmp_path)
    assert "no hit to export" in window.messages.text
    assert window.isVisible()


def test_export_failure_in_the_worker_is_a_message(make_window, qtbot, tmp_path: Path) -> None:
    """A hit whose track is not in the library (e.g. re-indexed meanwhile) fails in the worker."""
    from tests.gui.test_widgets import make_hit

    window = make_window()
    with qtbot.waitSignal(window.exporter.failed, timeout=30_000):
        assert window.export_hits([make_hit("/nowhere/v.mp4", 1, 0.9, 0, 10)], tmp_path)
    assert "gone" in window.messages.text
    qtbot.waitUntil(lambda: not window.exporter.running)
    assert window.isVisible()
