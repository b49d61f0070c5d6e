"""A case as one file: written from one library, taken up in another with its photos, filter, notes
and review (who, when); damaged, foreign or newer files and name clashes are one line, and nothing
is written then."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.storage import Library
from tests.conftest import copy_library, pets, tud
from tests.test_cli import cli, gt_crop

COLOUR = np.full(512, 512**-0.5, np.float32)  # appearance vectors are at unit length, as ReID gives them
GREY = np.tile(np.float32([1, -1]), 256) * np.float32(512**-0.5)


@pytest.fixture
def case_file(tmp_path: Path, indexed, frame_of) -> tuple[Path, Path, dict]:
    """A case made in one copy of the library, exported; (file, photo, the case as `case show` gave it)."""
    db = copy_library(indexed.db_path, tmp_path / "made.db")
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    lib = Library(db)
    lib.create_case(
        "gate 3",
        [(str(photo), "osnet_x0_25_msmt17.onnx", COLOUR)],
        "red coat",
        greys=[GREY],  # the photo turned grey, for night footage
        boxes=[(2.0, 3.0, 40.0, 110.5)],  # whom in the photo the case is about
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
    assert np.allclose(case.photos[0][2], COLOUR) and np.allclose(case.greys[0], GREY)
    assert case.photo_boxes == ((2.0, 3.0, 40.0, 110.5),)
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


def test_a_photo_that_came_without_its_image_is_named_not_given_a_path(
    tmp_path: Path, indexed, case_file
) -> None:
    """A case file whose photo has its vector but not its image: the case listed a path in its photo
    folder where nothing was written. It names the photo, as one that is gone (its search is whole);
    a photo with its image is kept once numbered (it was '01_01_query.png')."""
    out, _, _ = case_file
    doc = json.loads(out.read_text())
    name = doc["photos"][0]["name"]
    bare = tmp_path / "bare.spotter-case"
    bare.write_text(
        json.dumps(doc | {"photos": [{k: v for k, v in doc["photos"][0].items() if k != "image"}]})
    )
    other = copy_library(indexed.db_path, tmp_path / "other.db")
    assert cli("case", "import", str(bare), "--db", str(other)).returncode == 0
    assert cli("case", "import", str(out), "--db", str(other), "--as", "whole").returncode == 0
    lib = Library(other)
    assert lib.case("gate 3").photos[0][0] == Path(name).name
    kept = Path(lib.case("whole").photos[0][0])
    assert kept.is_file() and kept.name.count(Path(name).name.split("_", 1)[-1]) == 1
    assert not kept.name.startswith("01_01_"), kept.name
    lib.close()


def test_marks_on_footage_the_library_lacks_are_left_out(tmp_path: Path, indexed, case_file) -> None:
    out, _, _ = case_file
    db = copy_library(indexed.db_path, tmp_path / "no_tud.db")
    lib = Library(db)
    lib.remove_video(lib.video_id(tud().video))
    lib.close()
    p = cli("case", "import", str(out), "--db", str(db))
    assert p.returncode == 0, p.stderr
    assert "1 marks; 1 marks left out: their videos or tracks are not in this library" in p.stdout
    # which videos, and how to take their marks up (a sweep: nothing said that they could be)
    assert f"(1 videos not indexed here: {tud().video.name}; index them, then import" in p.stdout
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
        # the person's box: reversed, or outside the picture (the report could not draw it)
        "reversed_box.spotter-case": (
            json.dumps(doc | {"photos": [doc["photos"][0] | {"box": [40, 3, 2, 110]}]}),
            "a photo's box is not [x1, y1, x2, y2] with x1 < x2 and y1 < y2",
        ),
        "outside_box.spotter-case": (
            json.dumps(doc | {"photos": [doc["photos"][0] | {"box": [5000, 5000, 6000, 6000]}]}),
            "photo 1: its box [5000.0, 5000.0, 6000.0, 6000.0] is not inside the",
        ),
        "not_an_image.spotter-case": (  # valid base64 of text
            json.dumps(doc | {"photos": [doc["photos"][0] | {"image": "aGVsbG8gbm90IGFuIGltYWdl"}]}),
            "photo 1 is not an image",
        ),
        "no_marks.spotter-case": (
            json.dumps({k: v for k, v in doc.items() if k != "marks"}),
            "a required field is missing or wrong (no 'marks' field)",
        ),
    }
    for name, (text, words) in bad.items():
        (tmp_path / name).write_text(text)
        p = cli("case", "import", str(tmp_path / name), "--db", str(db))
        assert p.returncode == 2 and words in p.stderr and p.stderr.count("\n") == 1, (name, p.stderr)
    assert cli("case", "import", str(out), "--db", str(db)).returncode == 0
    another = tmp_path / "another.spotter-case"  # another case of the same name: opened by another
    another.write_text(json.dumps(doc | {"case": doc["case"] | {"created_by": "someone else"}}))
    clash = cli("case", "import", str(another), "--db", str(db))
    assert clash.returncode == 2 and "has another case named 'gate 3' already" in clash.stderr
    lib = Library(db)
    assert [n for n, _, _ in lib.cases()] == ["gate 3"]  # none of the refused files left a case behind
    lib.close()


def test_crafted_case_files_are_refused_before_anything_is_written(
    tmp_path: Path, indexed, case_file
) -> None:
    """Fields a hand-made file can get wrong, which took a case in and failed later (a filter that is
    not an object broke refine and report; a verdict 'maybe' and NaN vectors were kept), a device
    given as a file (/dev/zero was read until memory ran out), and a name refused only after the
    photos were written: each is refused first, and no photo folder is left."""
    from pipeline.case_file import CaseFileError, import_case
    from pipeline.errors import StorageError

    out, _, _ = case_file
    doc = json.loads(out.read_text())
    photo, mark = doc["photos"][0], doc["marks"][0]
    crafted = {
        "filter": doc | {"case": doc["case"] | {"filter": "notadict"}},
        "verdict": doc | {"marks": [mark | {"verdict": "maybe"}]},
        "nan": doc | {"photos": [photo | {"vector": [float("nan")] * 512}]},
        "when": doc | {"marks": [mark | {"at": "yesterday"}]},
        "huge track": doc | {"marks": [mark | {"track_id": 10**30}]},  # SQLite's OverflowError
        "negative frame": doc | {"marks": [mark | {"first_frame": -5}]},
        "no direction": doc | {"photos": [photo | {"vector": [0.0] * 512}]},
        "not flat": doc | {"photos": [photo | {"vector": [[0.1] * 256] * 2}]},
    }
    lib = Library(copy_library(indexed.db_path, tmp_path / "lib.db"))
    for name, bad in crafted.items():
        (tmp_path / f"{name}.spotter-case").write_text(json.dumps(bad))
        with pytest.raises(CaseFileError, match="is damaged"):
            import_case(lib, tmp_path / f"{name}.spotter-case")
    infinite = json.dumps(doc | {"marks": [mark | {"track_id": 12345}]}).replace("12345", "1e400")
    (tmp_path / "infinite.spotter-case").write_text(infinite)  # json reads 1e400 as infinity
    with pytest.raises(CaseFileError, match="is damaged"):
        import_case(lib, tmp_path / "infinite.spotter-case")
    with pytest.raises(CaseFileError, match="is not a file"):
        import_case(lib, Path("/dev/zero"))
    with pytest.raises(StorageError, match="1 to 100 characters"):
        import_case(lib, out, "x" * 300)
    with pytest.raises(StorageError, match="1 to 100 characters"):
        import_case(lib, out, "")  # an empty --as is refused, not taken for the file's own name
    assert lib.cases() == [] and not (tmp_path / "case photos").exists()
    lib.close()


def test_an_import_never_replaces_another_cases_photo(tmp_path: Path, indexed, case_file) -> None:
    """Two names that make one folder name ('suspect' and 'suspect.'), or one case name in two
    libraries of one folder: each import's photos go to a folder of its own."""
    from pipeline.case_file import import_case

    out, _, _ = case_file
    doc = json.loads(out.read_text())
    other = tmp_path / "other.spotter-case"
    picture = cv2.imencode(".png", np.full((120, 50, 3), 90, np.uint8))[1].tobytes()  # another photo
    image = base64.b64encode(picture).decode()
    other.write_text(json.dumps(doc | {"photos": [doc["photos"][0] | {"image": image, "box": None}]}))
    first = Library(copy_library(indexed.db_path, tmp_path / "a.db"))
    second = Library(copy_library(indexed.db_path, tmp_path / "b.db"))
    import_case(first, out, "suspect")
    kept = Path(first.case("suspect").photos[0][0])
    before = kept.read_bytes()
    import_case(first, other, "suspect.")
    import_case(second, other, "suspect")
    assert kept.read_bytes() == before
    paths = {Path(lib.case(n).photos[0][0]) for lib, n in ((first, "suspect."), (second, "suspect"))}
    assert kept not in paths and len(paths) == 2 and all(p.read_bytes() == picture for p in paths)
    first.close()
    second.close()


def test_a_mark_twice_in_a_file_is_one_mark(tmp_path: Path, indexed, case_file) -> None:
    from pipeline.case_file import import_case

    out, _, _ = case_file
    doc = json.loads(out.read_text())
    twice = tmp_path / "twice.spotter-case"
    twice.write_text(json.dumps(doc | {"marks": doc["marks"] + doc["marks"][:1]}))
    lib = Library(copy_library(indexed.db_path, tmp_path / "lib.db"))
    assert import_case(lib, twice).marks == 2  # was "UNIQUE constraint failed"
    lib.close()


def test_case_export_needs_a_file_name_and_leaves_no_half_file(tmp_path: Path, indexed, case_file) -> None:
    import subprocess
    import sys
    import textwrap

    from pipeline.case_file import CaseFileError, write_case_file
    from tests.conftest import ROOT

    made = tmp_path / "made.db"
    lib = Library(made)
    for out in ("", tmp_path, "/dev/null"):
        with pytest.raises(CaseFileError, match=r"empty|not a file name"):
            write_case_file(lib, "gate 3", out)
    lib.close()
    assert not Path("/dev/null.spotter-case").exists()
    target = tmp_path / "full" / "case.spotter-case"
    target.parent.mkdir()
    script = textwrap.dedent(f"""
        import resource, signal
        from pipeline.case_file import CaseFileError, write_case_file
        from pipeline.storage import Library
        lib = Library({str(made)!r})
        lib.case("gate 3")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))  # a disk that fills after 2 KiB
        try:
            write_case_file(lib, "gate 3", {str(target)!r})
        except CaseFileError as e:
            print("refused:", e)
    """)
    p = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "refused:" in p.stdout and "nothing was kept" in p.stdout, (p.stdout, p.stderr)
    assert list(target.parent.iterdir()) == []


def test_a_case_file_from_another_tool_is_read_as_spotter_means_it(
    tmp_path: Path, indexed, case_file
) -> None:
    """A file written by another tool or edited by hand: a vector not at unit length scored every
    track 'Infinity' (3e38 per value) or above 1 in refine, and times with an offset (+05:00) were
    kept as if they were UTC (hours off in the case's record of who did what when)."""
    from pipeline.case_file import import_case

    out, _, _ = case_file
    doc = json.loads(out.read_text())
    photo, mark = doc["photos"][0], doc["marks"][0]
    doc["photos"] = [photo | {"vector": [3e38] * 512, "grey_vector": [x * 7 for x in GREY.tolist()]}]
    doc["case"]["created_at"] = "2026-06-01T10:00:00+05:00"
    doc["marks"] = [mark | {"at": "2026-06-01T10:30:00-04:00"}]
    (tmp_path / "other tool.spotter-case").write_text(json.dumps(doc))
    lib = Library(copy_library(indexed.db_path, tmp_path / "lib.db"))
    import_case(lib, tmp_path / "other tool.spotter-case", "handed over")
    lib.close()
    shown = json.loads(cli("case", "show", "handed over", "--db", str(tmp_path / "lib.db"), "--json").stdout)
    assert shown["created_at"].startswith("2026-06-01T05:00:00"), shown["created_at"]
    assert shown["marks"][0]["at"].startswith("2026-06-01T14:30:00"), shown["marks"]
    lib = Library(tmp_path / "lib.db")
    case = lib.case("handed over")
    assert np.allclose(case.photos[0][2], COLOUR) and np.allclose(case.greys[0], GREY)
    lib.close()
    p = cli("case", "refine", "handed over", "--db", str(tmp_path / "lib.db"), "--json")
    assert p.returncode == 0 and "Traceback" not in p.stderr and "Infinity" not in p.stdout, p.stderr
    scores = [h["score"] for h in json.loads(p.stdout)["hits"]]
    assert all(-1.0 <= s <= 1.0 for s in scores), scores


def test_marks_land_on_the_same_person_where_track_numbers_differ(tmp_path: Path, tud_library: Path) -> None:
    """The same video indexed with other settings numbers its tracks otherwise: a mark taken up by its
    track number landed on another person (a helper's sweep: 3 of 11 TUD-Campus numbers; a
    confirmation fell on the person the case had rejected). Marks now carry their boxes and land on
    the track whose boxes agree, or are left out: every one here on the same ground-truth person."""
    from models.boxes import iou_matrix
    from pipeline.types import box_at
    from tests.conftest import load_gt

    other = tmp_path / "other.db"
    p = cli("index", str(tud().video), "--db", str(other), "--max-input", "640", "--stride", "2", "--quiet")
    assert p.returncode == 0, p.stderr
    gt = load_gt(tud())

    def person(track) -> int:  # the ground-truth person a track follows most
        votes = {
            who: sum(
                f in boxes and iou_matrix(box_at(track.path, f)[None], np.array([boxes[f]]))[0, 0] >= 0.5
                for f in range(track.first_frame, track.last_frame + 1)
                if box_at(track.path, f) is not None
            )
            for who, boxes in gt.items()
        }
        return max(votes, key=votes.get)

    def verdict(who: int) -> str:  # each person one verdict, alternating
        return ("confirmed", "rejected")[who % 2]

    made = copy_library(tud_library, tmp_path / "made.db")
    lib = Library(made)
    lib.create_case("all", [], "")
    marked = lib.video_tracks(lib.video_id(tud().video))
    for t in marked:
        lib.mark("all", t.pk, verdict(person(t)))
    lib.close()
    out = tmp_path / "all.spotter-case"
    assert cli("case", "export", "all", "--db", str(made), "--out", str(out)).returncode == 0
    assert cli("case", "import", str(out), "--db", str(other)).returncode == 0
    theirs = Library(other)
    tracks = {t.pk: t for t in theirs.video_tracks(theirs.video_id(tud().video))}
    taken = theirs.case("all").marks
    assert len(taken) >= len(marked) // 2
    assert [m.verdict for m in taken] == [verdict(person(tracks[m.track_pk])) for m in taken]


def test_a_photo_in_a_format_this_spotter_cannot_read_is_kept_with_the_case(
    tmp_path: Path, indexed, case_file
) -> None:
    """A case made where the photo was an iPhone's HEIC, taken up where pillow-heif is missing: the
    check that refuses bytes that are no image refused the whole case (a review of the change). Bytes
    that are an image by their first bytes are kept; the vector still searches."""
    from pipeline.case_file import import_case

    out, _, _ = case_file
    doc = json.loads(out.read_text())
    heic = base64.b64encode(b"\x00\x00\x00\x18ftypheic" + bytes(40)).decode()  # not a whole HEIC
    other = tmp_path / "heic.spotter-case"
    other.write_text(json.dumps(doc | {"photos": [doc["photos"][0] | {"image": heic, "box": None}]}))
    lib = Library(copy_library(indexed.db_path, tmp_path / "lib.db"))
    assert import_case(lib, other).photos == 1
    lib.close()
