"""Case files that an import took in wrongly or answered with a traceback (a QA sweep): the filter's
videos by this library's own numbers, a malformed filter read as no filter, a vector of the wrong
length, a decompression bomb for a photo, JSON nested too deep, a full disk, and two marks on one
track where the last silently won."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import tests.test_case_file as _made
from pipeline.storage import Library
from tests.conftest import copy_library, pets, tud
from tests.test_cli import cli

case_file = _made.case_file  # the fixture: a case made in one library and exported


def _file(tmp_path: Path, name: str, doc: dict) -> Path:
    path = tmp_path / f"{name}.spotter-case"
    path.write_text(json.dumps(doc))
    return path


def _refused(path: Path, db: Path, words: str) -> None:
    p = cli("case", "import", str(path), "--db", str(db))
    assert p.returncode == 2 and words in p.stderr and p.stderr.count("\n") == 1, (path.name, p.stderr)
    assert "Traceback" not in p.stderr and "[Errno" not in p.stderr, p.stderr


def test_the_filters_videos_are_found_again_by_their_content(
    tmp_path: Path, tud_library: Path, case_file
) -> None:
    """Video ids are one library's own numbers: the filter's video 1 (PETS09 where the case was made)
    is TUD-Campus in a library that indexed TUD-Campus first, and the case searched another video."""
    made = tmp_path / "made.db"
    lib = Library(made)
    pets_id, tud_id = lib.video_id(pets().video), lib.video_id(tud().video)
    lib.update_case("gate 3", filter_json=json.dumps({"cameras": [], "videos": [pets_id, tud_id]}))
    lib.close()
    out = tmp_path / "videos.spotter-case"
    assert cli("case", "export", "gate 3", "--db", str(made), "--out", str(out)).returncode == 0
    other = copy_library(tud_library, tmp_path / "other.db")  # TUD-Campus alone, its id 1
    p = cli("case", "import", str(out), "--db", str(other))
    assert p.returncode == 0, p.stderr
    assert "filter" in p.stdout and pets().video.name in p.stdout, p.stdout  # said, not widened silently
    lib = Library(other)
    assert json.loads(lib.case("gate 3").filter_json)["videos"] == [lib.video_id(tud().video)]
    lib.close()


def test_an_old_files_video_ids_are_left_out_and_said(tmp_path: Path, indexed, case_file) -> None:
    """A file of format 1 names the filter's videos by the numbers of the library it came from only:
    they cannot be mapped safely, so they are left out of the filter, and the import says so."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    doc["version"] = 1
    doc["case"]["filter"] = {"cameras": [], "videos": [1]}
    old = _file(tmp_path, "old", doc)
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    p = cli("case", "import", str(old), "--db", str(db))
    assert p.returncode == 0 and "filter" in p.stdout and "left out" in p.stdout, (p.stdout, p.stderr)
    lib = Library(db)
    assert json.loads(lib.case("gate 3").filter_json)["videos"] == []
    lib.close()


def test_a_filter_video_since_removed_is_exported_as_such(tmp_path: Path, indexed, case_file) -> None:
    made = tmp_path / "made.db"
    lib = Library(made)
    pets_id, tud_id = lib.video_id(pets().video), lib.video_id(tud().video)
    lib.update_case("gate 3", filter_json=json.dumps({"videos": [pets_id, tud_id]}))
    lib.remove_video(pets_id)
    lib.close()
    out = tmp_path / "removed.spotter-case"
    p = cli("case", "export", "gate 3", "--db", str(made), "--out", str(out))
    assert p.returncode == 0 and "no longer" in p.stderr, p.stderr
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    p = cli("case", "import", str(out), "--db", str(db))
    assert p.returncode == 0 and "no longer" in p.stdout, (p.stdout, p.stderr)
    lib = Library(db)
    assert json.loads(lib.case("gate 3").filter_json)["videos"] == [lib.video_id(tud().video)]
    lib.close()


def test_a_malformed_filter_is_refused_not_read_as_no_filter(tmp_path: Path, indexed, case_file) -> None:
    """'Cam03' became the cameras C, a, m, 0, 3; a time or region that did not read was dropped, and
    the case searched everything."""
    from pipeline.search_filter import filter_from_json

    out, _, _ = case_file
    doc = json.loads(out.read_text())
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    bad = {
        "camera string": ({"cameras": "Cam03"}, "cameras"),
        "time": ({"from": "yesterday"}, "'from'"),
        "region": ({"region": [1, 2]}, "region"),
        "reversed": ({"from": "2026-01-02T00:00:00", "to": "2026-01-01T00:00:00"}, "before it starts"),
        "unknown": ({"colour": "red"}, "colour"),
    }
    for name, (where, words) in bad.items():
        _refused(_file(tmp_path, name, doc | {"case": doc["case"] | {"filter": where}}), db, words)
    lib = Library(db)
    assert lib.cases() == []
    lib.close()
    assert filter_from_json({"cameras": ["Cam03"], "from": None, "region": None}).cameras == ("Cam03",)


def test_vectors_of_the_wrong_length_are_refused(tmp_path: Path, indexed, case_file) -> None:
    """A 3-value vector was taken, and refine and report failed: 'query has 3 dimensions, the index 512'."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    photo = doc["photos"][0]
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    short = photo | {"vector": [0.1, 0.2, 0.3], "grey_vector": None}
    _refused(_file(tmp_path, "short", doc | {"photos": [short]}), db, "has 3 values")
    other = {"model": "another.onnx"}  # a model this library has no vectors of: the file's own agree
    mixed = [photo | other, short | other]
    _refused(_file(tmp_path, "mixed", doc | {"photos": mixed}), db, "has 3 values")
    lib = Library(db)
    assert lib.cases() == []
    lib.close()


def _png_header_only(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (1-bit grey, all black)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + (width + 7) // 8)
    pixels = zlib.compressobj(9)
    body = b"".join(pixels.compress(row) for _ in range(height)) + pixels.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_a_decompression_bomb_for_a_photo_is_refused(tmp_path: Path, indexed, case_file) -> None:
    """A 20000x20000 PNG in a small case file was taken, and the report then took 1.5 GB."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    bomb = base64.b64encode(_png_header_only(20000, 20000)).decode()
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    path = _file(tmp_path, "bomb", doc | {"photos": [doc["photos"][0] | {"image": bomb, "box": None}]})
    _refused(path, db, "20000x20000")


def test_json_nested_too_deep_is_refused_in_one_line(tmp_path: Path, indexed) -> None:
    deep = tmp_path / "deep.spotter-case"
    deep.write_text("[" * 200_000)
    _refused(deep, copy_library(indexed.db_path, tmp_path / "lib.db"), "damaged or not a Spotter case file")


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path, indexed, case_file, monkeypatch) -> None:
    import pipeline.case_file
    from pipeline.case_file import CaseFileError, import_case

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    out, _, _ = case_file
    lib = Library(copy_library(indexed.db_path, tmp_path / "lib.db"))
    monkeypatch.setattr(pipeline.case_file, "open", full, raising=False)
    with pytest.raises(CaseFileError) as refused:
        import_case(lib, out, photo_dir=tmp_path / "photos")
    assert "No space left on device" in str(refused.value) and "[Errno" not in str(refused.value)
    assert "\n" not in str(refused.value)
    assert lib.cases() == [] and list((tmp_path / "photos").iterdir()) == []
    lib.close()


def test_a_confirmation_and_a_rejection_of_one_track_keep_the_confirmation(
    tmp_path: Path, indexed, case_file
) -> None:
    """Two marks of a file on what is one track here, one confirmed, one rejected: the last won,
    silently. The confirmation is kept (the rejection of what here is the same track does not
    take a sighting out of the case), and the import says so."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    confirmed = doc["marks"][0]
    assert confirmed["verdict"] == "confirmed"
    both = _file(tmp_path, "both", doc | {"marks": [*doc["marks"], confirmed | {"verdict": "rejected"}]})
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    p = cli("case", "import", str(both), "--db", str(db))
    assert p.returncode == 0 and "kept confirmed" in p.stdout, (p.stdout, p.stderr)
    lib = Library(db)
    verdicts = {m.track_id: m.verdict for m in lib.case("gate 3").marks if m.video_path == str(tud().video)}
    assert list(verdicts.values()) == ["confirmed"]
    lib.close()


def test_an_integer_too_long_to_convert_is_refused_in_one_line(tmp_path: Path, indexed) -> None:
    """Python converts at most 4300 digits: the import ended in 'ValueError: Exceeds the limit'."""
    long = tmp_path / "long.spotter-case"
    long.write_text('{"format": ' + "9" * 5000 + "}")
    _refused(long, copy_library(indexed.db_path, tmp_path / "lib.db"), "damaged or not a Spotter case file")


def test_a_lone_surrogate_anywhere_is_refused_as_damaged(tmp_path: Path, indexed, case_file) -> None:
    """'\\ud800' is legal JSON but no text: storing a note or a name with it ended in a traceback, and
    in a photo's model it read as 'does not fit this library'."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    bad = "a\ud800b"
    docs = {
        "notes": doc | {"case": doc["case"] | {"notes": bad}},
        "created_by": doc | {"case": doc["case"] | {"created_by": bad}},
        "by": doc | {"marks": [doc["marks"][0] | {"by": bad}]},
        "model": doc | {"photos": [doc["photos"][0] | {"model": bad}]},
        "key": doc | {bad: 1},
    }
    for name, each in docs.items():
        path = tmp_path / f"{name}.spotter-case"
        path.write_text(json.dumps(each))  # ensure_ascii: the surrogate is written as \ud800
        _refused(path, db, "damaged or not a Spotter case file")
    lib = Library(db)
    assert lib.cases() == []
    lib.close()


def test_control_characters_from_a_case_file_are_escaped_on_the_terminal(
    tmp_path: Path, indexed, case_file
) -> None:
    """The import's summary (videos of marks and of the filter not here) and `case show` (who opened
    the case, a photo's model) printed a file's text raw: an escape sequence reached the terminal."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    forged = "x\x1b[2J\ndone"
    gone = doc["marks"][0] | {"video": f"/gone/m{forged}.mp4", "video_sha256": "0" * 64}
    where = {"cameras": [], "videos": [{"sha256": "1" * 64, "path": f"/gone/f{forged}.mp4"}]}
    path = _file(
        tmp_path,
        "forged",
        doc
        | {"version": 2, "case": doc["case"] | {"created_by": forged, "filter": where}}
        | {"photos": [doc["photos"][0] | {"model": f"m{forged}.onnx"}], "marks": [*doc["marks"], gone]},
    )
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    taken = cli("case", "import", str(path), "--db", str(db))
    shown = cli("case", "show", "gate 3", "--db", str(db))
    for p in (taken, shown):
        assert p.returncode == 0 and "\x1b" not in p.stdout + p.stderr, p.stdout + p.stderr
        assert not any(line.startswith("done") for line in p.stdout.splitlines()), p.stdout
    assert taken.stdout.count("\n") == 1 and "mx\\x1b[2J\\ndone.mp4" in taken.stdout, taken.stdout
    assert "fx\\x1b[2J\\ndone.mp4" in taken.stdout, taken.stdout
    assert "by x\\x1b[2J\\ndone" in shown.stdout and "mx\\x1b[2J\\ndone.onnx" in shown.stdout, shown.stdout


def test_numbers_near_the_float_limit_in_a_case_file_are_read_or_refused_without_warnings(
    tmp_path: Path,
) -> None:
    """A vector of 1e308s overflowed numpy's norm (a RuntimeWarning, then 'no direction (all zero)');
    a mark's box at 1e308 px overflowed the overlap test when imported. The vector has a direction and
    is taken at unit length; the box is refused as damaged in one line."""
    import warnings

    from pipeline.case_file import CASE_FILE_VERSION, CASE_FORMAT, CaseFileError, read_case_file

    mark = {"track_id": 1, "first_frame": 0, "last_frame": 9, "verdict": "confirmed"}
    doc = {
        "format": CASE_FORMAT,
        "version": CASE_FILE_VERSION,
        "case": {"name": "gate"},
        "photos": [{"model": "osnet_x0_25_msmt17.onnx", "vector": [1e308] * 512}],
        "marks": [mark | {"boxes": [[12, 0, 0, 50, 100]]}],
    }
    path = tmp_path / "huge.spotter-case"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path.write_text(json.dumps(doc))
        from pipeline.case_file_fields import unit_vector

        assert np.allclose(unit_vector(read_case_file(path)["photos"][0]["vector"]), _made.COLOUR)
        path.write_text(json.dumps(doc | {"marks": [mark | {"boxes": [[12, 0, 0, 1e308, 1e308]]}]}))
        with pytest.raises(CaseFileError, match=r"is damaged: .* rows within 100000 px\)$"):
            read_case_file(path)


def test_a_case_file_that_is_not_there_is_said_to_be_missing(tmp_path: Path) -> None:
    """`case import /nonexistent` said 'is not a file: give a .spotter-case file'."""
    from pipeline.case_file import CaseFileError, read_case_file

    with pytest.raises(CaseFileError, match=r"gone\.spotter-case: no such file$"):
        read_case_file(tmp_path / "gone.spotter-case")
    with pytest.raises(CaseFileError, match="is not a file"):
        read_case_file(tmp_path)  # a folder still is not one


def test_fields_of_the_wrong_json_type_are_refused_not_converted(tmp_path: Path) -> None:
    """A hand-edited or foreign file was read loosely: ``"version": true`` counted as format 1, a mark on
    track 4.9 marked track 4, ``"4"`` track 4, and a vector of numeric strings was converted. Each is a
    damaged file now; a whole number written as ``4.0`` still reads."""
    from pipeline.case_file import CASE_FILE_VERSION, CASE_FORMAT, CaseFileError, read_case_file

    mark = {"track_id": 4, "first_frame": 0, "last_frame": 9, "verdict": "confirmed"}
    photo = {"model": "osnet_x0_25_msmt17.onnx", "vector": [0.5] * 512}
    doc = {"format": CASE_FORMAT, "version": CASE_FILE_VERSION, "case": {"name": "gate"}}
    doc |= {"photos": [photo], "marks": [mark]}
    path = tmp_path / "typed.spotter-case"
    path.write_text(json.dumps(doc | {"marks": [mark | {"track_id": 4.0}]}))
    assert read_case_file(path)["marks"][0]["track_id"] == 4.0
    wrong = {
        "format version": (doc | {"version": True}, "its format version is True"),
        "fractional track": (doc | {"marks": [mark | {"track_id": 4.9}]}, "4.9 is not a whole number"),
        "text frame": (doc | {"marks": [mark | {"first_frame": "0"}]}, "'0' is not a whole number"),
        "boolean frame": (doc | {"marks": [mark | {"last_frame": True}]}, "True is not a whole number"),
        "text vector": (doc | {"photos": [photo | {"vector": ["0.5"] * 512}]}, "not a flat list"),
        "boolean vector": (doc | {"photos": [photo | {"vector": [True] * 512}]}, "not a flat list"),
    }
    for name, (each, words) in wrong.items():
        path.write_text(json.dumps(each))
        with pytest.raises(CaseFileError, match="is damaged") as raised:
            read_case_file(path)
        assert words in str(raised.value), (name, raised.value)
