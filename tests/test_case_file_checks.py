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

import pytest

import tests.test_case_file as _made
from pipeline.storage import Library
from tests.conftest import copy_library
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
