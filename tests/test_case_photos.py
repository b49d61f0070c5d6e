"""A case's query photos: a new case keeps a copy of each beside the library, or none where the
case is not made; a kept copy deleted or replaced later is said in one line by `case export` and
`case report`, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.storage import Library
from tests.test_case_file import COLOUR
from tests.test_cli import cli


def test_a_new_case_keeps_copies_of_its_photos_and_a_case_not_made_keeps_none(tmp_path: Path) -> None:
    from pipeline.case_photos import CasePhoto, open_case
    from pipeline.errors import StorageError

    lib = Library(tmp_path / "lib.db")
    picture = np.zeros((64, 32, 3), np.uint8)
    picture[10:50, 8:24] = (0, 0, 200)
    photos = [CasePhoto("a.jpg", "m.onnx", COLOUR, picture), CasePhoto("b.jpg", "m.onnx", COLOUR, picture)]
    open_case(lib, "gate", photos, "seen at 3")
    kept = [Path(p) for p, *_ in lib.case("gate").photos]
    assert [p.name for p in kept] == ["01_a.png", "02_b.png"] and all(p.is_file() for p in kept)
    folder = kept[0].parent.parent
    with pytest.raises(StorageError, match="already exists"):
        open_case(lib, "gate", photos)
    assert sorted(p.name for p in folder.iterdir()) == ["gate"]  # no "gate (2)" left behind
    open_case(lib, "pasted", [CasePhoto("photo", "m.onnx", COLOUR)])  # no picture at hand: no copy
    assert [p for p, *_ in lib.case("pasted").photos] == ["photo"]


def test_a_case_photo_gone_or_replaced_is_said_not_a_traceback(tmp_path: Path, indexed, frame_of) -> None:
    """The case's copy of a photo deleted: `case export` wrote the file without it and said nothing.
    Replaced by a smaller picture (the box no longer inside it): `case report` failed with a
    traceback. Each is now one warning, and the file or report is whole."""
    from tests.test_review import group_case

    db = group_case(tmp_path, indexed, frame_of)
    kept = Path(
        json.loads(cli("case", "show", "group", "--db", str(db), "--json").stdout)["photos"][0]["path"]
    )
    cv2.imwrite(str(kept), np.full((60, 40, 3), 128, np.uint8))  # another, smaller picture
    p = cli("case", "report", "group", "--db", str(db), "--out", str(tmp_path / "out"))
    assert p.returncode == 0 and "is not inside its 40x60 px picture" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    kept.unlink()
    out = tmp_path / "group.spotter-case"
    p = cli("case", "export", "group", "--db", str(db), "--out", str(out))
    assert p.returncode == 0 and "is not written into the file" in p.stderr, p.stderr
    assert json.loads(out.read_text())["photos"][0]["image"] is None


def test_a_long_name_of_four_byte_letters_keeps_its_photos(tmp_path: Path) -> None:
    """A case may be named in 100 characters; 90 letters of four bytes each (CJK extension B) made a
    photo folder's name of 360 bytes: 'File name too long' (a sweep). Names are cut by bytes."""
    from pipeline.case_photos import keep_query_photos

    library = Library(tmp_path / "lib.db")
    name = "\U00020000" * 90
    photo = np.full((64, 32, 3), 128, np.uint8)
    (kept,) = keep_query_photos(library, name, [("\U00020001" * 90 + ".jpg", photo)])
    assert kept.is_file() and len(kept.parent.name.encode()) <= 255 and len(kept.name.encode()) <= 255
    assert kept.parent.name.startswith("\U00020000") and kept.name.startswith("01_\U00020001")
    assert np.array_equal(cv2.imread(str(kept)), photo)
    library.close()
