"""Bad input through the GUI: a message in the window, the app alive, nothing indexed lost."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from models.detector import DetectorConfig
from models.loader import ModelConfig, ModelSet
from tests.conftest import tud
from tests.gui.conftest import INDEX_TIMEOUT_MS, SEARCH_TIMEOUT_MS, drag_and_drop


def test_dropping_a_non_video_shows_a_message(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    entered, _ = drag_and_drop(window, [notes])
    assert entered
    assert "notes.txt" in window.messages.text and "not a video" in window.messages.text
    assert not window.indexing.running and window.library.videos() == []
    assert window.isVisible()


def test_dropping_a_broken_video_file_fails_with_a_message(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    fake = tmp_path / "broken.mp4"
    fake.write_bytes(b"this is no video" * 1000)
    with qtbot.waitSignal(window.indexing.video_failed, timeout=INDEX_TIMEOUT_MS):
        drag_and_drop(window, [fake])
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=10_000)
    assert "broken.mp4" in window.messages.text
    row = window.library_panel.row(str(fake))
    assert row is not None and row.state == "failed" and row.button.text() == "Retry"
    # the app goes on working: a real video indexes after the failure
    with qtbot.waitSignal(window.indexing.finished, timeout=INDEX_TIMEOUT_MS):
        window.add_videos([tud().video])
    assert window.library_panel.row(str(tud().video)).state == "done"


def test_a_photo_with_no_person_shows_a_message(make_window, qtbot, empty_photo: Path) -> None:
    window = make_window()
    with qtbot.waitSignal(window.search.failed, timeout=SEARCH_TIMEOUT_MS):
        drag_and_drop(window, [empty_photo])
    assert f"{empty_photo.name}: no person" in window.messages.text  # named by its file, not "photo"
    assert "no person" in window.query_panel.status.text()
    assert window.results.visible_hits() == []
    assert window.isVisible()


def test_a_file_that_is_not_an_image_shows_a_message(make_window, tmp_path: Path) -> None:
    window = make_window()
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"GIF89a but not really")
    assert not window.open_photo(fake)
    assert "photo.jpg" in window.messages.text and "not an image" in window.messages.text


def test_a_missing_model_shows_a_message(make_window, qtbot, tud_query: Path) -> None:
    config = ModelConfig(detector=replace(DetectorConfig(), weights="detector/missing_model.onnx"))
    window = make_window(make_models=lambda: ModelSet(config))
    with qtbot.waitSignal(window.search.failed, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(tud_query)
    assert "missing_model" in window.messages.text
    with qtbot.waitSignal(window.indexing.video_failed, timeout=INDEX_TIMEOUT_MS):
        window.add_videos([tud().video])
    assert "missing_model" in window.messages.text
    assert window.isVisible()


def test_a_photo_of_several_pictures_says_which_is_searched(
    make_window, qtbot, tmp_path: Path, tud_query: Path
) -> None:
    """An animated GIF dropped as the photo: its first picture is searched, and the window says so."""
    from PIL import Image

    first = Image.open(tud_query).convert("RGB")
    gif = tmp_path / "messenger clip.gif"
    first.save(gif, save_all=True, append_images=[first.transpose(Image.Transpose.FLIP_TOP_BOTTOM)])
    window = make_window()
    with qtbot.waitSignals([window.search.result_ready], timeout=SEARCH_TIMEOUT_MS):
        drag_and_drop(window, [gif])
    assert "messenger clip.gif: the file holds 2 pictures" in window.messages.text
    assert "the first is searched" in window.messages.text
