"""The case report in the app: its progress in a dialog with Cancel; a cancelled report, or one
whose window was closed, leaves nothing in the chosen folder (not even its hidden part folder)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.gui.conftest import SEARCH_TIMEOUT_MS
from tests.gui.test_review_gui import select_row

CONFIRMED = 3  # clips in the report: long enough (a second or two) to be cancelled half-way


@pytest.fixture
def report_window(make_window, qtbot, indexed_copy: Path, pets_query: Path):
    """A window whose case has CONFIRMED hits confirmed, ready for Report…"""
    window = make_window(indexed_copy)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    window.results.set_threshold(0.45)  # weaker candidates too, to have several to confirm
    assert window.results.proxy.rowCount() >= CONFIRMED
    for row in range(CONFIRMED):
        select_row(window, row)
        qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    assert len(window.library.case(window.review.case_name).marked("confirmed")) == CONFIRMED
    return window


def left_in(folder: Path) -> list[str]:
    """What a report left in the folder it was asked to write in, hidden part folders included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_report_shows_its_progress_and_completes(report_window, qtbot, tmp_path: Path) -> None:
    from gui.report_runner import ReportProgress

    window, out = report_window, tmp_path / "reports"
    runner = window.review.reports
    seen: list[ReportProgress] = []
    runner.progress.connect(seen.append)
    with qtbot.waitSignal(runner.written, timeout=SEARCH_TIMEOUT_MS) as written:
        assert window.review.write_report(str(out))
        assert runner.dialog is not None and runner.dialog.isVisible() and not runner.dialog.isModal()
    qtbot.waitUntil(lambda: not runner.running)
    assert seen and all(isinstance(p, ReportProgress) for p in seen)
    done = [p.clips_done for p in seen]
    assert done == sorted(done) and {p.clips_total for p in seen} == {CONFIRMED}  # it only goes forward
    assert seen[0].text.startswith(f"Clip 1 of {CONFIRMED}: ")
    names: dict[str, set[str]] = {}  # each clip's number with one name (a clip just written was
    for p in seen[:-1]:  # named under the next clip's number)
        number, name = p.text.split(" of ")[0], p.text.split(": ", 1)[1]
        names.setdefault(number, set()).add(name)
    assert all(len(n) == 1 for n in names.values()), names
    assert seen[-1].clips_done == CONFIRMED and seen[-1].text.startswith("Writing the PDF")
    pdf = Path(written.args[0])
    assert pdf.is_file() and (pdf.parent / "SHA256SUMS").is_file()
    assert left_in(out) == [pdf.parent.name] and pdf.parent.name.startswith("spotter_report_")
    assert runner.dialog is None and "Report written" in window.messages.text


def test_cancel_mid_report_leaves_nothing(report_window, qtbot, tmp_path: Path) -> None:
    window, out = report_window, tmp_path / "reports"
    runner = window.review.reports
    with qtbot.waitSignal(runner.progress, timeout=SEARCH_TIMEOUT_MS):  # the first clip is being cut
        assert window.review.write_report(str(out))
    assert any(name.startswith(".spotter-part-") for name in left_in(out))  # built out of sight
    cancel = runner.dialog.findChild(QPushButton)
    assert cancel.text() == "Cancel report"
    with qtbot.waitSignal(runner.cancelled, timeout=SEARCH_TIMEOUT_MS):
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not runner.running)
    assert left_in(out) == []  # no report folder, no hidden part folder
    text = window.messages.text
    assert text.startswith("Report cancelled: nothing was written") and "\n" not in text
    assert runner.dialog is None


def test_closing_the_window_cancels_the_report(report_window, qtbot, tmp_path: Path) -> None:
    """The window waited for the whole report before it closed (minutes for a long case)."""
    window, out = report_window, tmp_path / "reports"
    runner = window.review.reports
    assert window.review.write_report(str(out))
    qtbot.waitUntil(lambda: bool(left_in(out)), timeout=SEARCH_TIMEOUT_MS)  # the report is being built
    assert runner.running
    began = time.monotonic()
    window.close()
    assert time.monotonic() - began < 5.0  # a cancel takes a few frames of a clip
    assert not runner.running
    assert left_in(out) == []  # nothing half-written, and no whole report either


def test_the_progress_says_which_clip_is_written() -> None:
    """A clip's last frames (its frame count a multiple of ten) were taken for the clip written,
    and named under the number before it (a review)."""
    from gui.report_runner import report_progress
    from pipeline.evidence import EvidenceProgress

    assert report_progress(EvidenceProgress(0, 3, 50, 50, "a.mp4")).text == "Clip 1 of 3: a.mp4"
    written = EvidenceProgress(1, 3, 50, 50, "a.mp4", clip_written=True)
    assert report_progress(written).text == "Clip 1 of 3 written: a.mp4"
