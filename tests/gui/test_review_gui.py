"""Review in the app: keys C and X mark the selected hit (kept in a case with who and when), the
list shows the marks, and Refine searches again with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from gui.results_model import COL_VIDEO, HIT_ROLE
from tests.conftest import pets
from tests.gui.conftest import SEARCH_TIMEOUT_MS
from tests.gui.test_cameras_gui import answer_dialog


def select_row(window, row: int) -> None:
    table = window.results.table
    table.setFocus()
    table.selectRow(row)


def test_confirm_reject_and_refine(make_window, qtbot, indexed_copy: Path, pets_query: Path) -> None:
    window = make_window(indexed_copy)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as first:
        window.open_photo(pets_query)
    results = window.results
    results.set_threshold(0.45)  # show weaker candidates too, as an operator reviewing would
    proxy = results.proxy
    assert proxy.rowCount() >= 3
    best = proxy.index(0, COL_VIDEO).data(HIT_ROLE)
    wrong = proxy.index(2, COL_VIDEO).data(HIT_ROLE)
    select_row(window, 0)
    qtbot.keyClick(results.table, Qt.Key.Key_C)
    select_row(window, 2)
    qtbot.keyClick(results.table, Qt.Key.Key_X)
    assert proxy.index(0, COL_VIDEO).data().startswith("✓ ")
    assert results.model.verdicts == {best.track_pk: "confirmed", wrong.track_pk: "rejected"}
    case = window.library.case(window.review.case_name)
    assert case.marked("confirmed") == (best.track_pk,) and case.marked("rejected") == (wrong.track_pk,)
    assert len(case.vectors(first.args[0].model)) == 1  # the query photo's vector is kept with the case
    grey = case.grey_vectors(first.args[0].model)[0]  # and the photo turned grey (night footage)
    assert grey is not None and np.allclose(grey, first.args[0].greys[0])
    assert all(m.marked_at is not None for m in case.marks)

    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as refined:
        qtbot.mouseClick(results.refine_button, Qt.MouseButton.LeftButton)
    pks = {h.track_pk for h in refined.args[0].hits}
    assert best.track_pk in pks and wrong.track_pk not in pks
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as again:
        window.search.repeat()  # e.g. a filter changed: the review still applies
    assert wrong.track_pk not in {h.track_pk for h in again.args[0].hits}
    assert {h.track_pk for h in refined.args[0].candidates} <= {
        h.track_pk for h in first.args[0].candidates
    } | pks
    # a new photo is a new person: the marks start afresh
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    assert window.review.case_name is None and results.model.verdicts == {}


def test_the_route_lists_the_confirmed_stops_and_plays_one(
    make_window, qtbot, indexed_copy: Path, pets_query: Path
) -> None:
    window = make_window(indexed_copy)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    best = window.results.proxy.index(0, COL_VIDEO).data(HIT_ROLE)
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    qtbot.mouseClick(window.results.route_button, Qt.MouseButton.LeftButton)
    dialog = window.review.route_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    stops = [dialog.list.item(i) for i in range(dialog.list.count())]
    assert len(stops) == 1 and stops[0].text().startswith("✓ ") and "confirmed" in dialog.title.text()
    assert not stops[0].icon().isNull()  # the thumbnail
    window.player.clear_current()
    rect = dialog.list.visualItemRect(stops[0])
    qtbot.mouseClick(dialog.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.player.current is not None)
    assert window.player.current.track_pk == best.track_pk or window.player.current.person == best.person
    dialog.close()


def test_the_report_is_written_off_the_gui_thread(
    make_window, qtbot, indexed_copy: Path, pets_query: Path, tmp_path: Path
) -> None:
    window = make_window(indexed_copy)
    assert not window.review.write_report(str(tmp_path))  # nothing confirmed yet: said, not written
    assert "Confirm (C)" in window.messages.text
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    assert window.results.report_button.isEnabled()
    answer_dialog(qtbot, "Seen at the gate at 14:31, red jacket")
    qtbot.mouseClick(window.results.notes_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.library.case(window.review.case_name).notes.startswith("Seen at the gate"))
    with qtbot.waitSignal(window.review.reports.written, timeout=SEARCH_TIMEOUT_MS) as written:
        assert window.review.write_report(str(tmp_path))
    pdf = Path(written.args[0])
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF") and (pdf.parent / "SHA256SUMS").is_file()
    from pypdf import PdfReader

    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "red jacket" in text
    # the case keeps a copy of the photo (it kept only the file's name, and the report then said the
    # photo was no longer there); the report shows it
    (kept, _, _), *_ = window.library.case(window.review.case_name).photos
    assert Path(kept).is_absolute() and Path(kept).is_file() and "case photos" in kept
    assert "no longer at that path" not in text
    qtbot.waitUntil(lambda: not window.review.reports.running)
    assert "Report written" in window.messages.text


def test_a_case_is_taken_up_again_with_its_photo_filter_and_marks(
    make_window, qtbot, indexed_copy: Path, pets_query: Path
) -> None:
    window = make_window(indexed_copy)
    camera = pets().video.parent.name  # the cameras are the videos' folders here
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.filter_bar.camera.setCurrentText(camera)
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    name, verdicts = window.review.case_name, dict(window.results.model.verdicts)
    assert json.loads(window.library.case(name).filter_json)["cameras"] == [camera]
    window.filter_bar.camera.setCurrentIndex(0)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)  # another query: the marks are gone from the list
    assert window.results.model.verdicts == {} and window.review.case_name is None
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        assert window.review.open_case(name)
    assert window.review.case_name == name and window.results.model.verdicts == verdicts
    assert window.filter_bar.camera.currentText() == camera and window.search.where.cameras == (camera,)
    assert window.query_panel.source == f"01_{pets_query.stem}.png"  # the copy kept with the case
    assert "1 confirmed" in window.messages.text


def test_a_case_file_is_handed_over_to_another_library(
    make_window, qtbot, indexed, indexed_copy: Path, pets_query: Path, tmp_path: Path
) -> None:
    from tests.conftest import copy_library

    window = make_window(indexed_copy)
    assert "export_case" in window.actions_by_name and "import_case" in window.actions_by_name
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    verdicts = dict(window.results.model.verdicts)
    out = tmp_path / "handover.spotter-case"
    assert window.review.export_case(str(out)) and out.is_file()
    assert "written to" in window.messages.text
    assert not window.review.export_case(str(out)) and "exists already" in window.messages.text

    other = make_window(copy_library(indexed.db_path, tmp_path / "night.db"))
    with qtbot.waitSignal(other.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        assert other.review.import_case_file(str(out))  # taken up and opened: its photo searched
    name = other.review.case_name
    assert name == window.review.case_name
    taken = other.library.case(name)
    assert {(m.track_id, m.verdict) for m in taken.marks} == {
        (m.track_id, m.verdict) for m in window.library.case(name).marks
    }
    assert len(other.results.model.verdicts) == len(verdicts)
    with qtbot.waitSignal(other.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        assert other.review.import_case_file(str(out))  # again: the same case, updated (no new one)
    assert (
        other.review.case_name == name and f"Case {name!r} updated: 0 marks taken up" in other.messages.text
    )
    doc = json.loads(out.read_text())
    another = tmp_path / "another.spotter-case"  # another case of that name: a free name
    another.write_text(json.dumps(doc | {"case": doc["case"] | {"created_by": "someone else"}}))
    with qtbot.waitSignal(other.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        assert other.review.import_case_file(str(another))
    assert other.review.case_name == f"{name} (2)"
    broken = tmp_path / "broken.spotter-case"
    broken.write_text("{")
    assert not other.review.import_case_file(str(broken)) and "not a Spotter case file" in other.messages.text
    # a library without the marked video: the import names it, and the case's own notice, which
    # came after, no longer hides that at once (a sweep)
    from pipeline.storage import Library

    lacking = copy_library(indexed.db_path, tmp_path / "lacking.db")
    lib = Library(lacking)
    lib.remove_video(lib.video_id(pets().video))
    lib.close()
    third = make_window(lacking)
    assert third.review.import_case_file(str(out))
    assert f"not indexed here: {pets().video.name}" in third.messages.text, third.messages.text


def test_a_second_photo_of_the_person_joins_the_query(
    make_window, qtbot, indexed_copy: Path, pets_query: Path, tmp_path: Path
) -> None:
    from tests.gui.conftest import gt_crop

    window = make_window(indexed_copy)
    assert "add_photo" in window.actions_by_name
    other = gt_crop("pets", 700, 3, tmp_path / "same_person_later.png")  # the same person, later
    assert not window.add_query_photo(other) and "Open a photo of the person first" in window.messages.text
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as first:
        window.open_photo(pets_query)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as both:
        assert window.add_query_photo(other)
    assert "Searching with 2 photos" in window.messages.text
    outcome = both.args[0]
    assert len(outcome.more_vectors) == 1 and float(outcome.more_vectors[0] @ outcome.vector) < 0.999
    assert outcome.hits and outcome.hits[0].track_pk == first.args[0].hits[0].track_pk
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    case = window.library.case(window.review.case_name)
    assert len(case.photos) == 2  # both photos kept with the case, each with its grey vector
    assert len(case.greys) == 2 and all(g is not None for g in case.greys)
    # taken up again, the case searches with both photos (it searched the first alone)
    name = window.review.case_name
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as again:
        assert window.review.open_case(name)
    taken_up = again.args[0]
    assert (
        len(taken_up.more_vectors) == 1 and float(taken_up.more_vectors[0] @ outcome.more_vectors[0]) > 0.99
    )
    assert window.review.case_name == name
    broken = tmp_path / "not_a_photo.png"
    broken.write_bytes(b"nope")
    assert not window.add_query_photo(broken)


def test_a_case_that_cannot_be_made_keeps_no_photos(
    make_window, qtbot, indexed_copy: Path, pets_query: Path, monkeypatch
) -> None:
    """The copies of the query photos are removed when the case is not made, and nothing else is."""
    from pipeline.engine import SpotterError

    window = make_window(indexed_copy)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)

    def refuse(*args, **kwargs):
        raise SpotterError("the library is read-only")

    monkeypatch.setattr(window.library, "create_case", refuse)
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    assert "read-only" in window.messages.text and window.review.case_name is None
    kept = window.library.location.side_dir / "case photos"
    assert not kept.exists() or not any(kept.iterdir())
    assert pets_query.is_file()  # the operator's own photo, beside which nothing is touched


def test_a_case_from_a_group_photo_keeps_whom_it_is_about(
    make_window, qtbot, indexed_copy: Path, tmp_path: Path
) -> None:
    """A whole frame with several people dropped as the photo: the case keeps the box of the person
    searched for (its report draws it), not only the photo."""
    import cv2

    from pipeline.video import read_frame

    scene = tmp_path / "scene.png"
    cv2.imwrite(str(scene), read_frame(pets().video, 100))
    window = make_window(indexed_copy)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as done:
        window.open_photo(scene)
    outcome = done.args[0]
    assert len(outcome.people) > 1 and not outcome.whole_photo
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as chosen:
        window.choose_person(1)  # not the largest, whom the photo alone searches
    outcome = chosen.args[0]
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    name = window.review.case_name
    assert window.library.case(name).photo_boxes == (outcome.box,)
    # taken up again, the case searches that person: it searched the largest, and its marks applied
    # to another man's hits (a sweep)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(scene)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as again:
        assert window.review.open_case(name)
    assert again.args[0].box == outcome.box


def test_a_case_from_a_photo_lying_on_its_side_keeps_it_standing(
    make_window, qtbot, indexed_copy: Path, tmp_path: Path
) -> None:
    """The app searches a photo lying on its side upright; the case it opens keeps the photo standing."""
    import cv2

    from pipeline.video import read_frame

    upright = np.ascontiguousarray(read_frame(pets().video, 100)[40:300, 150:330])
    lying = tmp_path / "lying.png"
    cv2.imwrite(str(lying), cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE))
    window = make_window(indexed_copy)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as done:
        window.open_photo(lying)
    assert done.args[0].photo_turns == (cv2.ROTATE_90_CLOCKWISE,) and "on its side" in done.args[0].note
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    (path, _, _), *_ = window.library.case(window.review.case_name).photos
    assert np.array_equal(cv2.imread(path), upright)


def test_a_case_photo_that_cannot_be_used_is_left_out_when_the_case_is_taken_up(
    make_window, qtbot, indexed_copy: Path, pets_query: Path, tmp_path: Path
) -> None:
    """A case's second photo whose person cannot be found any more (the file replaced by a sliver
    its box lies outside of) failed the whole search, and every search after it; an unreadable first
    photo searched nothing (a sweep). The photo is left out, said by name, and the others search."""
    import cv2

    from tests.gui.conftest import gt_crop

    window = make_window(indexed_copy)
    other = gt_crop("pets", 700, 3, tmp_path / "same_person_later.png")
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        assert window.add_query_photo(other)
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    name = window.review.case_name
    first, second = (Path(p) for p, _, _ in window.library.case(name).photos)
    cv2.imwrite(str(second), cv2.imread(str(second))[:4, :4])  # a 4x4 sliver: nobody in it
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as again:
        assert window.review.open_case(name)
    outcome = again.args[0]
    assert outcome.hits and outcome.more_vectors == () and outcome.examples_used == ()
    assert f"{second.name} left out" in outcome.note and second.name in window.query_panel.status.text()
    first.write_bytes(b"not a photo")  # the query photo unreadable: the next one is the query
    cv2.imwrite(str(second), cv2.imread(str(other)))
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as next_one:
        assert window.review.open_case(name)
    assert next_one.args[0].candidates and window.query_panel.source == second.name  # it searched
    assert window.review.case_name == name and window.results.model.verdicts


def test_a_mark_while_another_query_is_searched_keeps_to_the_hits_on_show(
    make_window, qtbot, indexed_copy: Path, pets_query: Path, tmp_path: Path
) -> None:
    """Pressing C on a hit of the query on show while a newer query (another photo) is searched
    paired the hits' photos with the newer query's and raised IndexError: the mark was lost (a
    review). The case is made from the hits on show."""
    from dataclasses import replace

    from tests.gui.conftest import gt_crop

    window = make_window(indexed_copy)
    other = gt_crop("pets", 700, 3, tmp_path / "same_person_later.png")
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS):
        window.open_photo(pets_query)
    with qtbot.waitSignal(window.search.result_ready, timeout=SEARCH_TIMEOUT_MS) as both:
        assert window.add_query_photo(other)
    assert both.args[0].examples_used == (0,)
    newer = replace(window.search.last_request, query_id=999, examples=())
    window.search.last_request = newer  # submitted, its answer not back yet
    select_row(window, 0)
    qtbot.keyClick(window.results.table, Qt.Key.Key_C)
    case = window.library.case(window.review.case_name)
    assert len(case.photos) == 2 and len(case.marks) == 1
