"""A case as one file: written from one library, taken up in another with its photos, filter, notes
and review (who, when); damaged, foreign or newer files and name clashes are one line, and nothing
is written then."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.storage import Library
from tests.conftest import copy_library, pets, tud
from tests.test_cli import cli, gt_crop


@pytest.fixture
def case_file(tmp_path: Path, indexed, frame_of) -> tuple[Path, Path, dict]:
    """A case made in one copy of the library, exported; (file, photo, the case as `case show` gave it)."""
    db = copy_library(indexed.db_path, tmp_path / "made.db")
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    lib = Library(db)
    lib.create_case(
        "gate 3",
        [(str(photo), "osnet_x0_25_msmt17.onnx", np.full(512, 0.04, np.float32))],
        "red coat",
        greys=[np.full(512, 0.03, np.float32)],  # the photo turned grey, for night footage
    )
    tud_tracks = lib.video_tracks(lib.video_id(tud().video))
    pets_tracks = lib.video_tracks(lib.video_id(pets().video))
    lib.mark("gate 3", tud_tracks[0].pk, "confirmed")
    lib.mark("gate 3", pets_tracks[1].pk, "rejected")
    lib.update_case("gate 3", filter_json=json.dumps({"cameras": ["video"]}))
    lib.close()
    shown = json.loads(cli("case", "show", "gate 3", "--db", str(db), "--json").stdout)
    out = tmp_path / "handover.spotter-case"
    p = cli("case", "export", "gate 3", "--db", str(db), "--out", str(out))
    assert p.returncode == 0 and p.stdout.strip() == f"wrote {out}", p.stderr
    again = cli("case", "export", "gate 3", "--db", str(db), "--out", str(out))
    assert again.returncode == 2 and "exists already" in again.stderr  # never overwritten
    return out, photo, shown


def test_a_case_file_is_taken_up_whole_in_another_library(tmp_path: Path, indexed, case_file) -> None:
    out, photo, shown = case_file
    other = copy_library(indexed.db_path, tmp_path / "other.db")
    p = cli("case", "import", str(out), "--db", str(other), "--as", "gate 3 (from day shift)")
    assert p.returncode == 0 and p.stdout.strip() == "case 'gate 3 (from day shift)': 1 photos, 2 marks", (
        p.stderr
    )
    taken = json.loads(cli("case", "show", "gate 3 (from day shift)", "--db", str(other), "--json").stdout)
    for key in ("notes", "filter", "created_by", "created_at"):
        assert taken[key] == shown[key], key
    strip = [{k: m[k] for k in ("video", "track_id", "verdict", "by", "at")} for m in shown["marks"]]
    assert [{k: m[k] for k in ("video", "track_id", "verdict", "by", "at")} for m in taken["marks"]] == strip
    copied = Path(taken["photos"][0]["path"])
    assert copied.read_bytes() == photo.read_bytes() and copied.parent.parent.name == "case photos"
    lib = Library(other)
    case = lib.case("gate 3 (from day shift)")
    assert np.allclose(case.photos[0][2], 0.04) and np.allclose(case.greys[0], 0.03)
    lib.close()


def test_a_case_file_without_grey_vectors_is_taken_up(tmp_path: Path, indexed, case_file) -> None:
    """A file written before cases kept the photo turned grey: its photos search in colour only."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    for photo in doc["photos"]:
        del photo["grey_vector"]
    old = tmp_path / "old.spotter-case"
    old.write_text(json.dumps(doc))
    other = copy_library(indexed.db_path, tmp_path / "other.db")
    assert cli("case", "import", str(old), "--db", str(other)).returncode == 0
    lib = Library(other)
    assert lib.case("gate 3").grey_vectors("osnet_x0_25_msmt17.onnx") == (None,)
    lib.close()


def test_marks_on_footage_the_library_lacks_are_left_out(tmp_path: Path, indexed, case_file) -> None:
    out, _, _ = case_file
    db = copy_library(indexed.db_path, tmp_path / "no_tud.db")
    lib = Library(db)
    lib.remove_video(lib.video_id(tud().video))
    lib.close()
    p = cli("case", "import", str(out), "--db", str(db))
    assert p.returncode == 0, p.stderr
    assert "1 marks; 1 marks left out (their videos or tracks are not in this library)" in p.stdout
    assert len(json.loads(cli("case", "show", "gate 3", "--db", str(db), "--json").stdout)["marks"]) == 1


def test_bad_case_files_are_refused_in_one_line(tmp_path: Path, indexed, case_file) -> None:
    out, _, _ = case_file
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    doc = json.loads(out.read_text())
    bad = {
        "truncated.spotter-case": (
            out.read_text()[: len(out.read_text()) // 2],
            "damaged or not a Spotter case file",
        ),
        "other.spotter-case": (json.dumps({"hello": 1}), "is not a Spotter case file"),
        "newer.spotter-case": (json.dumps(doc | {"version": 99}), "written by a newer Spotter"),
        "broken.spotter-case": (json.dumps(doc | {"marks": [{"verdict": "confirmed"}]}), "is damaged"),
        "short_grey.spotter-case": (
            json.dumps(doc | {"photos": [doc["photos"][0] | {"grey_vector": [0.1, 0.2]}]}),
            "grey vector differs in length",
        ),
    }
    for name, (text, words) in bad.items():
        (tmp_path / name).write_text(text)
        p = cli("case", "import", str(tmp_path / name), "--db", str(db))
        assert p.returncode == 2 and words in p.stderr and p.stderr.count("\n") == 1, (name, p.stderr)
    assert cli("case", "import", str(out), "--db", str(db)).returncode == 0
    clash = cli("case", "import", str(out), "--db", str(db))
    assert clash.returncode == 2 and "has a case named 'gate 3' already" in clash.stderr
    lib = Library(db)
    assert [n for n, _, _ in lib.cases()] == ["gate 3"]  # none of the refused files left a case behind
    lib.close()
