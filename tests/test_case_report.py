"""A case's report as a court would read it: every confirmed sighting accounted for, each clip tied to
the recording it was cut from, long notes and right-to-left names laid out, and a report killed
half-way never left under its final name."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.errors import ExportError
from pipeline.search_filter import SearchFilter, filter_json
from pipeline.storage import Library
from tests.conftest import copy_library, pets, tud
from tests.test_cli import gt_crop
from tests.test_partial_files import kill_when_writing


def _case(
    tmp_path: Path, indexed, models, frame_of, name: str = "gate", notes: str = "", confirm: int = 1
) -> tuple[Library, list[int]]:
    """A private library with a case whose photo is a TUD-Campus person, and its ``confirm`` longest
    TUD-Campus tracks confirmed (their keys, longest first)."""
    library = Library(copy_library(indexed.db_path, tmp_path / "lib.db"))
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    tracks = library.video_tracks(library.video_id(str(tud().video.resolve())))
    longest = sorted(tracks, key=lambda t: t.first_frame - t.last_frame)[:confirm]
    vector = library.embeddings_of(models.reid_id, "track", [longest[0].pk])[longest[0].pk][0]
    library.create_case(name, [(str(photo), models.reid_id, vector)], notes=notes)
    for t in longest:
        library.mark(name, t.pk, "confirmed")
    return library, [t.pk for t in longest]


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This computer's time zone is New York's (not UTC, as on the machines tests run on)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _report(library: Library, models, name: str, out: Path):
    from pipeline.case_report import ReportFiles, write_case_report

    (done,) = [s for s in write_case_report(library, models, name, out) if isinstance(s, ReportFiles)]
    return done


def _text(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages]


def test_a_long_note_is_laid_out_over_pages(tmp_path: Path, indexed, models, frame_of) -> None:
    """A 7,000-character note (nothing limits one) crashed the report (LayoutError: the notes were one
    cell of a table, taller than a page); a 3,000-character one left page 1 blank."""
    sentences = [f"Sentence {k} of the witness statement, as the operator typed it in." for k in range(110)]
    note = " ".join(sentences)
    assert len(note) > 7000
    library, _ = _case(tmp_path, indexed, models, frame_of, notes=note)
    pages = _text(_report(library, models, "gate", tmp_path / "out").pdf)
    assert "Spotter case report: gate" in pages[0] and "Case opened" in pages[0]
    assert sentences[0] in pages[0]  # the notes start on the first page: no blank page before them
    assert all(s in " ".join(pages) for s in sentences)


def test_confirmed_sightings_outside_the_filter_are_accounted_for(
    tmp_path: Path, indexed, models, frame_of
) -> None:
    """A confirmed sighting outside the case's filter was left out of the report in silence ("Confirmed
    hits (1)" of 2); with none inside, the error was '...: Is a directory'."""
    library, _ = _case(tmp_path, indexed, models, frame_of)
    pets_id = library.video_id(str(pets().video.resolve()))
    away = max(library.video_tracks(pets_id), key=lambda t: t.last_frame - t.first_frame)
    library.mark("gate", away.pk, "confirmed")
    tud_id = library.video_id(str(tud().video.resolve()))
    library.update_case("gate", filter_json=json.dumps(filter_json(SearchFilter(videos=(tud_id,)))))
    pages = _text(_report(library, models, "gate", tmp_path / "out").pdf)
    text = " ".join(pages)
    assert "Confirmed hits (1)" in text
    assert "1 confirmed sighting is outside the case's filter and is not in this report" in text, text
    assert f"track {away.track_id}" in text and pets().video.name in text
    # the filter in words, by the videos' paths, not the library's ids
    assert f"videos: {tud().video.resolve()}" in text.replace("\n", "") and '"videos"' not in text

    library.update_case("gate", filter_json=json.dumps(filter_json(SearchFilter(videos=(pets_id,)))))
    library.mark("gate", away.pk, "rejected")
    out = tmp_path / "none"
    with pytest.raises(
        ExportError, match="none of its 1 confirmed sighting is inside the case's filter"
    ) as e:
        _report(library, models, "gate", out)
    assert "\n" not in str(e.value) and "Is a directory" not in str(e.value)
    assert not out.exists() or list(out.iterdir()) == []  # refused before any folder was made


def test_each_clip_is_tied_to_its_source_and_who_confirmed_it(
    tmp_path: Path, indexed, models, frame_of
) -> None:
    """Only the re-encoded clips were hashed: nothing tied a clip to the original recording; and the
    report did not say who confirmed each sighting, and when."""
    from pipeline.storage.cases import operator

    library, _ = _case(tmp_path, indexed, models, frame_of)
    tud_id = library.video_id(str(tud().video.resolve()))
    source = library.video_identity(tud_id)
    assert len(source.content_sha256) == 64
    done = _report(library, models, "gate", tmp_path / "out")
    (clip,) = json.loads((done.folder / "spotter_export.json").read_text())["clips"]
    assert clip["source_sha256"] == source.content_sha256 and clip["video"] == source.path
    assert clip["source_bytes"] == source.size
    csv_head = (done.folder / "spotter_export.csv").read_text().splitlines()[0].split(",")
    assert "source_sha256" in csv_head
    text = " ".join(_text(done.pdf)).replace("\n", "")
    assert source.content_sha256[:40] in text.replace(" ", "")
    (mark,) = library.case("gate").marks
    assert f"confirmed by {operator()}" in text
    marked = mark.marked_at.replace(tzinfo=timezone.utc).astimezone()
    assert f"{marked:%Y-%m-%d %H:%M}" in text


def test_times_zones_and_the_hits_table_read_alike_on_every_page(
    tmp_path: Path, indexed, models, frame_of, new_york: None
) -> None:
    """The hits table's header was not repeated on the next page; the report truncated end times
    (14:30:14 for 14.9 s) where the command line rounds up; 'Case opened ... UTC' beside 'Report made
    ... EST'."""
    library, pks = _case(tmp_path, indexed, models, frame_of, confirm=14)
    tud_id = library.video_id(str(tud().video.resolve()))
    library.set_start(tud_id, datetime(2026, 11, 21, 14, 30, 0))
    files = _report(library, models, "gate", tmp_path / "out")
    pages = _text(files.pdf)
    clips = json.loads((files.folder / "spotter_export.json").read_text())["clips"]
    starts = [(c["video"], c["start_time"] or "", c["hit_start_s"]) for c in clips]
    assert starts == sorted(starts, key=lambda c: (c[1] == "", c[1], c[0], c[2])), starts  # clock order
    table = [p for p in pages if "cut from" in p]
    assert len(table) >= 2, "the test needs the hits table over two pages"
    assert all("Camera and time" in p and "Clip, its source and their SHA-256" in p for p in table)
    zone = datetime.now().astimezone().strftime("%Z")
    text = " ".join(pages)
    for said in ("Case opened", "Report made"):
        assert f" {zone} by" in text.split(said, 1)[1][:40], text[:600]
    t = library.tracks([pks[0]])[pks[0]]
    end = datetime(2026, 11, 21, 14, 30, 0) + timedelta(seconds=t.end_s)
    if end.microsecond:
        shown = (end.replace(microsecond=0) + timedelta(seconds=1)).strftime("%H:%M:%S")
        assert f"– {shown}" in text, (t.end_s, text[:2000])


def test_right_to_left_names_read_as_written(tmp_path: Path, indexed, models, frame_of) -> None:
    """Arabic and Hebrew came out reversed, their letters unjoined (ReportLab draws characters in
    the order they are stored, left to right, each in its isolated form)."""
    from pipeline.report_pdf import visual

    hebrew, arabic = "שלום עולם", "مرحبا بالعالم"
    assert visual("plain text") == "plain text"
    assert visual(hebrew) == "םלוע םולש"  # drawn left to right, read right to left
    joined = visual(arabic)
    assert all("\ufe70" <= c <= "\ufeff" or c == " " for c in joined), joined  # joined forms
    library, _ = _case(tmp_path, indexed, models, frame_of, name="עדות", notes=f"{hebrew}. {arabic}.")
    text = " ".join(_text(_report(library, models, "עדות", tmp_path / "out").pdf))
    # pypdf reads right-to-left runs back into their logical order: drawn in reading order, they come
    # out as written (drawn as stored, they came out reversed)
    assert hebrew in text and "עדות" in text
    assert any("\ufe70" <= c <= "\ufeff" for c in text)


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9")
def test_a_report_killed_half_way_is_not_left_as_a_report(tmp_path: Path, indexed, models, frame_of) -> None:
    """kill -9 during a report left spotter_report_<case>/ under its final name with clips and no PDF
    (it looked finished), and the next report went to ..._2."""
    from pipeline.partial_files import PART_PREFIX

    library, _ = _case(tmp_path, indexed, models, frame_of, confirm=2)
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import time
        from models.loader import ModelSet
        from pipeline.case_report import write_case_report
        from pipeline.storage import Library
        for step in write_case_report(Library({str(library.db_path)!r}), ModelSet(), "gate", {str(out)!r}):
            if getattr(step, "clips_done", 0) >= 1:
                print("WRITING", flush=True)
                time.sleep(600)
    """)
    kill_when_writing(script)
    (left,) = out.iterdir()
    assert left.name.startswith(PART_PREFIX) and any(p.suffix == ".mp4" for p in left.iterdir())
    assert not any(p.name.startswith("spotter_report") for p in out.iterdir())
    done = _report(library, models, "gate", out)
    assert done.folder == out / "spotter_report_gate" and (done.folder / "report.pdf").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["spotter_report_gate"]  # the half report swept
    # a report being written by a live process is never swept
    alive = out / f"{left.name.rsplit('-', 2)[0]}-{os.getppid()}-abc123"
    alive.mkdir()
    _report(library, models, "gate", out)
    assert alive.is_dir()


def test_a_published_report_folder_is_readable_by_others(tmp_path: Path) -> None:
    """A report's folder was published with mkdtemp's 0700 while its files were 0644: whoever
    received the evidence could not open it."""
    from pipeline.case_report import build_folder, publish

    old = os.umask(0o022)
    try:
        folder = publish(build_folder(tmp_path)[0], "gate")
    finally:
        os.umask(old)
    assert folder.name == "spotter_report_gate" and folder.stat().st_mode & 0o777 == 0o755


def test_a_symbolic_link_loop_as_the_report_folder_is_refused_before_the_search(
    tmp_path: Path, tud_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link loop in `case report --out` was a traceback, and once caught still came after the whole
    search: it is one line, exit 2, said before any search runs."""
    import cv2
    import numpy as np

    import pipeline.case_report
    from tests.test_cli import cli

    library = Library(copy_library(tud_library, tmp_path / "lib.db"))
    photo = tmp_path / "q.jpg"
    cv2.imwrite(str(photo), np.full((160, 64, 3), 100, np.uint8))
    library.create_case(
        "gate", [(str(photo), "osnet_x0_25_msmt17.onnx", np.full(512, 512**-0.5, np.float32))]
    )
    library.mark(
        "gate", library.video_tracks(library.video_id(str(tud().video.resolve())))[0].pk, "confirmed"
    )
    loop = tmp_path / "loop"
    loop.symlink_to(loop)

    def no_search(*_: object) -> None:
        raise AssertionError("the search ran before the folder was checked")

    monkeypatch.setattr(pipeline.case_report, "Searcher", no_search)
    with pytest.raises(ExportError, match="cannot resolve the path"):
        _report(library, None, "gate", loop / "reports")
    library.close()
    p = cli("case", "report", "gate", "--out", str(loop / "reports"), "--db", str(library.db_path))
    assert p.returncode == 2 and "cannot resolve the path" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_a_report_that_fails_takes_the_folders_made_for_it_away(
    tmp_path: Path, indexed, models, frame_of, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report whose clip could not be cut (its video moved) left the --out folder it made, and the
    parents a mistyped path lacked (a sweep): a report is whole or not there. A folder that was
    there before stays, with what else is in it."""
    import pipeline.case_report

    library, _ = _case(tmp_path, indexed, models, frame_of)

    def failing(*_args, **_kwargs):
        (tmp_path / "kept" / "other.txt").write_text("another program's file")
        raise ExportError("the indexed video cannot be read now")
        yield  # a generator, as _fill is

    monkeypatch.setattr(pipeline.case_report, "_fill", failing)
    (tmp_path / "kept").mkdir()
    for out in (tmp_path / "new" / "deeper" / "reports", tmp_path / "kept" / "reports"):
        with pytest.raises(ExportError, match="cannot be read now"):
            _report(library, models, "gate", out)
    assert not (tmp_path / "new").exists() and sorted(p.name for p in (tmp_path / "kept").iterdir()) == [
        "other.txt"
    ]
