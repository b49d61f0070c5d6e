"""Names and text in another encoding than UTF-8 (a share fed by Windows, an old NVR's export): what
'index', 'search' and the case commands do with them, each a clear line, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2

from pipeline.storage import Library
from tests.conftest import copy_library, tud
from tests.test_bad_input import one_line_error
from tests.test_cli import cli


def test_names_in_another_encoding_do_not_stop_a_batch(tmp_path: Path) -> None:
    """A share fed by Windows or an old NVR's export holds names in Latin-1 (b'\\xe9' for 'é'), which
    reach Python as surrogate escapes: such a video crashed ``index`` in the lock's hash (the rest of
    the batch never indexed), a snapshot so named crashed the folder's fingerprint, and a query photo
    so named crashed saving the search, after the search had run. The video is now refused by name
    and the batch goes on; the snapshots and the photo are used, their names shown with U+FFFD; a
    case name that is not text is one line."""
    share = tmp_path / "share"
    share.mkdir()
    raw = os.fsencode(share)
    (share / "a_good.mp4").write_bytes(tud().video.read_bytes())
    Path(os.fsdecode(raw + b"/b_cam\xe9.mp4")).write_bytes(tud().video.read_bytes())
    snaps = Path(os.fsdecode(raw + b"/snaps"))
    snaps.mkdir()
    cap = cv2.VideoCapture(str(tud().video))
    frames = [cap.read()[1] for _ in range(4)]
    for k, frame in enumerate(frames):
        jpeg = cv2.imencode(".jpg", frame)[1]
        Path(os.fsdecode(os.fsencode(snaps) + b"/snap\xe9_20261121_14300%d.jpg" % k)).write_bytes(jpeg)
    photo = Path(os.fsdecode(raw + b"/suspect\xe9.jpg"))
    photo.write_bytes(cv2.imencode(".jpg", frames[0][153:441, 63:145])[1].tobytes())
    db = str(tmp_path / "library.db")

    p = cli("index", str(share), "--db", db, "--quiet")
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 1 and "b_cam\ufffd.mp4: the name is not valid UTF-8" in p.stderr, p.stderr
    done = sorted(Path(v.path).name for v in Library(db).videos() if v.status == "done")
    assert done == ["a_good.mp4", "snaps"]

    p = cli("search", "--no-service", "--db", db, "--query", str(photo), "--json")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert json.loads(p.stdout)["query"].endswith("suspect\ufffd.jpg") and json.loads(p.stdout)["hits"]
    p = cli("case", "new", "--db", db, "--query", str(photo), "found")
    assert p.returncode == 0, p.stderr
    one_line_error(cli("case", "new", "--db", db, os.fsdecode(b"case\xe9")), "must be text (UTF-8)")


def test_command_line_text_in_another_encoding_is_one_line(tmp_path: Path, tud_library: Path) -> None:
    """A note or a --video path with bytes that are not UTF-8 reached the database and ended in a
    UnicodeEncodeError traceback; such a video can never be in the library (it is never indexed)."""
    db = str(copy_library(tud_library, tmp_path / "lib.db"))
    bad = os.fsdecode(os.fsencode(tmp_path) + b"/cam\xff.mp4")
    one_line_error(
        cli("case", "new", "N", "--note", os.fsdecode(b"bad \xff note"), "--db", db), "must be text"
    )
    for args in (
        ("search", "--no-service", "--upper", "red", "--video", bad),
        ("case", "add", "N", "--video", bad, "--track", "4", "--confirm"),
        ("videos", "--set-start", bad, "2026-01-01"),
        ("videos", "--set-camera", bad, "cam"),
    ):
        one_line_error(
            cli(*args, "--db", db), "cam\ufffd.mp4 is not a video of the library", "not valid UTF-8"
        )
