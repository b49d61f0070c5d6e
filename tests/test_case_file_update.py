"""A case file imported again into the library that took it up: the same case (opened by the same
person at the same second) takes up the marks it lacks, those of videos indexed since, and keeps its
own verdicts and filter; another case of that name is not touched."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.case_file import import_case
from pipeline.storage import Library
from tests.conftest import copy_library, pets, tud
from tests.test_case_file import case_file  # noqa: F401 (a fixture)
from tests.test_cli import cli


def without_tud(indexed, tmp_path: Path) -> Path:
    db = copy_library(indexed.db_path, tmp_path / "no_tud.db")
    lib = Library(db)
    lib.remove_video(lib.video_id(tud().video))
    lib.close()
    return db


def test_a_case_file_imported_again_updates_its_case(tmp_path: Path, indexed, case_file) -> None:  # noqa: F811
    out, _, _ = case_file
    db = without_tud(indexed, tmp_path)
    assert cli("case", "import", str(out), "--db", str(db), "--as", "gate 3 here").returncode == 0
    assert cli("index", str(tud().video), "--db", str(db)).returncode == 0
    lib = Library(db)  # meanwhile the operator here confirmed the track the file rejects
    (here,) = lib.case("gate 3 here").marks
    lib.mark("gate 3 here", here.track_pk, "confirmed")
    lib.close()
    # the same file again (taken up under another name): the same case takes up the mark it lacks (it
    # made a second case), and keeps its own verdict where the file's differs
    p = cli("case", "import", str(out), "--db", str(db))
    assert p.returncode == 0 and "left out" not in p.stdout, p.stdout
    assert p.stdout.startswith("case 'gate 3 here' updated: 1 marks taken up, 1 there already"), p.stdout
    assert "1 marks differ from the case's own here: the case's kept" in p.stdout, p.stdout
    lib = Library(db)
    assert [n for n, _, _ in lib.cases()] == ["gate 3 here"]
    marks = {m.video_path: m.verdict for m in lib.case("gate 3 here").marks}
    assert marks == {str(pets().video): "confirmed", str(tud().video): "confirmed"}
    lib.close()
    again = cli("case", "import", str(out), "--db", str(db))
    assert again.stdout.startswith("case 'gate 3 here' updated: 0 marks taken up, 2 there already")
    # a file that is both confirmed and rejected on a track the case has marked says only what is kept
    doc = json.loads(out.read_text())
    pets_mark = next(m for m in doc["marks"] if m["video"] == str(pets().video))
    both = tmp_path / "both.spotter-case"
    both.write_text(json.dumps(doc | {"marks": [*doc["marks"], pets_mark | {"verdict": "confirmed"}]}))
    lib = Library(db)
    lib.mark("gate 3 here", here.track_pk, "rejected")
    lib.close()
    p = cli("case", "import", str(both), "--db", str(db))
    assert "both confirmed and rejected" not in p.stdout and "1 marks differ" in p.stdout, p.stdout
    # the case of the file's own name, another case: not touched, and the file still finds its own
    lib = Library(db)
    lib.create_case("gate 3", [])
    lib.close()
    p = cli("case", "import", str(out), "--db", str(db))
    assert p.stdout.startswith("case 'gate 3 here' updated:"), p.stdout
    assert json.loads(cli("case", "show", "gate 3", "--db", str(db), "--json").stdout)["marks"] == []


def test_the_app_imports_a_file_again_into_the_case_it_made(tmp_path: Path, indexed, case_file) -> None:  # noqa: F811
    """Where another case had the file's name, the app took it up as NAME (2); the same file again
    went to NAME (3), then NAME (4) (a sweep). It updates NAME (2)."""
    out, _, _ = case_file
    db = without_tud(indexed, tmp_path)
    lib = Library(db)
    lib.create_case("gate 3", [])  # another case of that name
    first = import_case(lib, out, rename_if_taken=True)
    assert first.name == "gate 3 (2)" and not first.updated and first.marks_left_out == 1
    again = import_case(lib, out, rename_if_taken=True)
    assert (
        again.name == "gate 3 (2)"
        and again.updated
        and sorted(n for n, _, _ in lib.cases())
        == [
            "gate 3",
            "gate 3 (2)",
        ]
    )
    lib.close()


def test_a_file_that_does_not_say_when_its_case_was_opened_cannot_update_it(
    tmp_path: Path,
    indexed,
    case_file,  # noqa: F811
) -> None:
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    untimed = tmp_path / "untimed.spotter-case"
    untimed.write_text(json.dumps(doc | {"case": doc["case"] | {"created_at": None}}))
    db = without_tud(indexed, tmp_path)
    p = cli("case", "import", str(untimed), "--db", str(db))
    assert p.returncode == 0, p.stderr
    # it advised importing the file again, which it then refused as another case (a sweep)
    assert "import the file again under a new name: it does not say when its case was opened" in p.stdout
    assert "import the file again to take" not in p.stdout, p.stdout


def test_two_cases_opened_in_one_second_stay_two(tmp_path: Path, indexed) -> None:
    """A script that opens two cases in one second: importing the second file updated the first
    case, and the second was never made (a review). The photos tell them apart."""
    from datetime import datetime, timezone

    import numpy as np

    from pipeline.storage.cases import ImportedCase

    source = copy_library(indexed.db_path, tmp_path / "source.db")
    lib = Library(source)
    opened = ImportedCase("ana", datetime(2026, 12, 1, 9, 30, 5, tzinfo=timezone.utc), "{}", ())
    for name, axis in (("alice", 0), ("bob", 1)):
        look = np.zeros(512, np.float32)
        look[axis] = 1.0
        lib.create_case(name, [(f"{name}.jpg", "osnet_x0_25_msmt17.onnx", look)], imported=opened)
    lib.close()
    files = {}
    for name in ("alice", "bob"):
        files[name] = tmp_path / f"{name}.spotter-case"
        assert cli("case", "export", name, "--db", str(source), "--out", str(files[name])).returncode == 0
    target = copy_library(indexed.db_path, tmp_path / "target.db")
    assert cli("case", "import", str(files["alice"]), "--db", str(target)).stdout.startswith(
        "case 'alice': 1 photos"
    )
    p = cli("case", "import", str(files["bob"]), "--db", str(target))
    assert p.stdout.startswith("case 'bob': 1 photos"), p.stdout
    again = cli("case", "import", str(files["alice"]), "--db", str(target))
    assert again.stdout.startswith("case 'alice' updated:"), again.stdout
