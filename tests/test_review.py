"""Review and refine: confirmed hits become examples of the person, rejected ones counter-examples;
cases keep the photos and the review with who and when."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.errors import ExportError, StorageError
from pipeline.refine import Review, refine
from pipeline.search import SearchConfig
from pipeline.storage import Library
from pipeline.storage.cases import operator
from tests.conftest import copy_library, tud
from tests.test_cli import cli, gt_crop
from tests.test_search import DIM, add_video, searcher

E = np.eye(DIM)


def people_library(db: str | Path) -> tuple[Library, dict[str, int]]:
    """One video: the person seen well (T1) and from behind (T2, unlike the photo but like T1), a
    stranger in similar clothes (T3) and the same stranger again (T4)."""
    library = Library(db)
    looks = [
        0.9 * E[0] + np.sqrt(1 - 0.81) * E[1],  # T1: cos 0.90 with the photo
        0.6 * E[0] + 0.711 * E[1] + 0.366 * E[2],  # T2: 0.60 with the photo, 0.85 with T1
        0.8 * E[0] + 0.6 * E[3],  # T3: 0.80 with the photo
        0.78 * E[0] + 0.543 * E[3] + 0.311 * E[4],  # T4: 0.78 with the photo, 0.95 with T3
    ]
    vid = add_video(library, "cam", looks)
    pks = {t.track_id: t.pk for t in library.video_tracks(vid)}
    return library, {f"T{k}": pks[k] for k in (1, 2, 3, 4)}


def test_refining_adds_the_persons_other_views_and_drops_the_strangers(library_db: str) -> None:
    library, t = people_library(library_db)
    s = searcher(library, SearchConfig(min_score=0.65, relative_margin=1.0, calibrate=False))
    photo = E[0]
    before = {h.track_pk for h in s.match(photo).hits}
    assert before == {t["T1"], t["T3"], t["T4"]}  # the back view is missed, the stranger found twice
    after = refine(s, Review((photo,), confirmed=(t["T1"],), rejected=(t["T3"],)))
    assert {h.track_pk for h in after.hits} == {t["T1"], t["T2"]}
    assert after.hits[0].track_pk == t["T1"]
    # without counter-examples the stranger's second track stays (it does look like the photo)
    assert t["T4"] in {h.track_pk for h in refine(s, Review((photo,), confirmed=(t["T1"],))).hits}
    assert refine(s, Review(())).hits == ()


def test_a_case_from_the_command_line(tmp_path: Path, indexed, frame_of) -> None:
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    made = cli(
        "case", "new", "lost child", "--db", str(db), "--query", str(photo), "--note", "seen near gate 3"
    )
    assert made.returncode == 0, made.stderr
    hits = json.loads(cli("search", "--db", str(db), "--query", str(photo), "--json").stdout)["hits"]
    assert len(hits) >= 1
    video = str(tud().video.resolve())
    first = hits[0]

    def mark(video: str, track: int, verdict: str) -> None:
        p = cli(
            "case", "add", "lost child", "--db", str(db), "--video", video, "--track", str(track), verdict
        )
        assert p.returncode == 0, p.stderr

    mark(first["video"], first["track_id"], "--confirm")
    stranger = next(
        t.track_id for t in indexed.video_tracks(indexed.video_id(video)) if t.track_id != first["track_id"]
    )
    mark(video, stranger, "--reject")
    shown = json.loads(cli("case", "show", "lost child", "--db", str(db), "--json").stdout)
    assert shown["name"] == "lost child"
    # the case keeps a copy of the photo as searched: the file named may be replaced after, and the
    # report showed whatever was at that path by then (a whole crowd scene instead of the crop)
    kept = Path(shown["photos"][0]["path"])
    assert kept.parent.parent.name == "case photos" and kept.suffix == ".png"
    searched = cv2.imread(str(photo))
    assert np.array_equal(cv2.imread(str(kept)), searched)
    photo.write_bytes(b"replaced")
    assert np.array_equal(cv2.imread(str(kept)), searched)  # the copy is the photo as searched
    assert json.loads(cli("case", "show", "lost child", "--db", str(db), "--json").stdout)["photos"][0][
        "path"
    ] == str(kept)
    assert shown["notes"] == "seen near gate 3" and shown["filter"] == {}
    verdicts = {(m["track_id"], m["verdict"]) for m in shown["marks"]}
    assert verdicts == {(first["track_id"], "confirmed"), (stranger, "rejected")}
    assert all(m["at"] and "by" in m for m in shown["marks"])
    refined = json.loads(cli("case", "refine", "lost child", "--db", str(db), "--json").stdout)
    tracks = {(h["video"], h["track_id"]) for h in refined["hits"]}
    assert (first["video"], first["track_id"]) in tracks and (video, stranger) not in tracks
    for args, words in (
        (("case", "show", "nobody"), "no case named 'nobody'"),
        (("case", "show", ""), "must have 1 to 100 characters"),  # not "create it with: case new ''"
        (("case", "new", "lost child"), "already exists"),
        (
            ("case", "add", "lost child", "--video", video, "--track", "99999", "--confirm"),
            "has no track 99999",
        ),
        (
            ("case", "add", "lost child", "--video", "/no/such.mp4", "--track", "1", "--reject"),
            "is not a video",
        ),
    ):
        p = cli(*args, "--db", str(db))
        assert p.returncode == 2 and words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    # a verdict overturned (a mistyped track number) is said, not done silently
    p = cli(
        "case", "add", "lost child", "--db", str(db), "--video", video, "--track", str(stranger), "--confirm"
    )
    assert p.returncode == 0 and p.stdout.strip().endswith(f"confirmed (it was rejected by {operator()})"), (
        p.stdout
    )
    p = cli(
        "case", "add", "lost child", "--db", str(db), "--video", video, "--track", str(stranger), "--confirm"
    )
    assert p.stdout.strip().endswith("confirmed (it was already)"), p.stdout


def test_a_case_report_from_the_command_line(
    tmp_path: Path, indexed, frame_of, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One PDF, the clip and its summary in a new folder; SHA256SUMS verifies every file; a second
    report never overwrites the first; a case with nothing confirmed or an unwritable folder is one
    line, exit 2."""
    import hashlib

    from pypdf import PdfReader

    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    video = str(tud().video.resolve())
    assert cli("case", "new", "gate", "--db", str(db), "--query", str(photo)).returncode == 0
    empty = cli("case", "report", "gate", "--db", str(db), "--out", str(tmp_path / "out"))
    assert empty.returncode == 2 and "no confirmed hit" in empty.stderr
    hit = json.loads(cli("search", "--db", str(db), "--query", str(photo), "--json").stdout)["hits"][0]
    cli(
        "case", "add", "gate", "--db", str(db), "--video", video, "--track", str(hit["track_id"]), "--confirm"
    )
    vid = Library(db).video_id(video)
    assert cli("videos", "--db", str(db), "--set-start", str(vid), "2026-11-21T14:30:00").returncode == 0
    p = cli("case", "report", "gate", "--db", str(db), "--out", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    folder = tmp_path / "out" / "spotter_report_gate"
    files = {f.name for f in folder.iterdir()}
    clips = [f for f in files if f.endswith(".mp4")]
    assert {"report.pdf", "SHA256SUMS", "spotter_export.json", "spotter_export.csv"} <= files and len(
        clips
    ) == 1
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert len((folder / "SHA256SUMS").read_text().splitlines()) == len(files) - 1
    text = " ".join(page.extract_text() for page in PdfReader(folder / "report.pdf").pages)
    clip_sha = hashlib.sha256((folder / clips[0]).read_bytes()).hexdigest()
    for words in (
        "Spotter case report: gate",
        "Confirmed hits (1)",
        "TUD-Campus",
        "Route",
        "osnet_x0_25_msmt17.onnx",
        clips[0],
    ):
        assert words in text, words
    assert clip_sha[:40] in text.replace("\n", "")
    # each sighting's clock time and the recording it was cut from (the file was not named with a clock)
    assert "2026-11-21 14:30:0" in text and "into TUD-Campus/TUD-Campus.mp4" in " ".join(text.split())
    # what the score is: the closest of the case's examples, confirmed sightings included
    assert "not to the query photo alone" in " ".join(text.split())
    again = cli("case", "report", "gate", "--db", str(db), "--out", str(tmp_path / "out"))
    assert again.returncode == 0 and (tmp_path / "out" / "spotter_report_gate_2" / "report.pdf").exists()
    assert hashlib.sha256((folder / clips[0]).read_bytes()).hexdigest() == clip_sha  # the first is untouched
    photo.unlink()  # the operator's file: the case keeps its own copy, the report is whole
    whole = cli("case", "report", "gate", "--db", str(db), "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0 and "no longer at that path" not in whole.stderr, whole.stderr
    kept = json.loads(cli("case", "show", "gate", "--db", str(db), "--json").stdout)["photos"][0]["path"]
    Path(
        kept
    ).unlink()  # the copy deleted since the case was opened: said in the PDF, not left out in silence
    gone = cli("case", "report", "gate", "--db", str(db), "--out", str(tmp_path / "out"))
    assert gone.returncode == 0, gone.stderr
    third = PdfReader(tmp_path / "out" / "spotter_report_gate_3" / "report.pdf")
    text = " ".join(page.extract_text() for page in third.pages)
    assert "no longer at that path" in " ".join(text.split()) and "no longer at that path" in gone.stderr
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    denied = cli("case", "report", "gate", "--db", str(db), "--out", str(blocked / "sub"))
    assert denied.returncode == 2 and "choose another folder" in denied.stderr
    assert len(denied.stderr.strip().splitlines()) == 1, denied.stderr
    nowhere = cli("case", "report", "gate", "--db", str(db), "--out", "")  # not the current folder
    assert nowhere.returncode == 2 and "--out: empty" in nowhere.stderr
    from models.loader import ModelSet
    from pipeline.case_report import write_case_report

    steps = write_case_report(Library(db), ModelSet(), "gate", tmp_path / "stopped")
    next(steps)  # the first clip is being written: then the report is cancelled
    steps.close()
    assert not (tmp_path / "stopped").exists()  # a report is whole or not there, and so is its new folder
    import errno

    import pipeline.case_report

    def disk_full(*args: object) -> None:  # the clips fitted, the PDF does not
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline.case_report, "_write_pdf", disk_full)
    with pytest.raises(ExportError, match=r"cannot write the report in .*: No space left on device"):
        list(write_case_report(Library(db), ModelSet(), "gate", tmp_path / "full"))
    assert not (tmp_path / "full").exists()


def test_a_case_report_in_cyrillic_is_legible(tmp_path: Path, indexed, frame_of) -> None:
    """A case named and noted in Cyrillic: its PDF drew a black box for every letter (Helvetica has
    none of them), and its folder was 'spotter_report_case'."""
    from pypdf import PdfReader

    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    name, note = "Иванов", "видели у ворот №3"
    assert cli("case", "new", name, "--db", str(db), "--query", str(photo), "--note", note).returncode == 0
    hit = json.loads(cli("search", "--db", str(db), "--query", str(photo), "--json").stdout)["hits"][0]
    video = str(tud().video.resolve())
    cli("case", "add", name, "--db", str(db), "--video", video, "--track", str(hit["track_id"]), "--confirm")
    p = cli("case", "report", name, "--db", str(db), "--out", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    pdf = tmp_path / "out" / f"spotter_report_{name}" / "report.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert f"Spotter case report: {name}" in text and note in text and "■" not in text, text[:300]


def test_a_confirmed_sightings_score_is_not_against_itself(indexed, models, tmp_path: Path) -> None:
    """The report's Score of a confirmed sighting was the track scored against itself (refine uses
    every confirmed track as an example): 1.00 for a wrongly confirmed stranger. It is now the best
    against the case's other examples, as its footnote says (helper's evidence sweep)."""
    from pipeline.refine import sighting_scores
    from pipeline.search import Searcher
    from tests.conftest import pets
    from tests.test_night_footage import photo_of

    searcher = Searcher(indexed, models)
    result = searcher.search(photo_of(3, tmp_path), save=False)
    stranger = indexed.video_tracks(indexed.video_id(pets().video))[0].pk  # not in TUD-Campus
    confirmed = (result.hits[0].track_pk, stranger)
    review = Review((result.vector,), confirmed, (), (result.grey_vector,))
    refined = {h.track_pk: h.score for h in refine(searcher, review).hits}
    likeness = sighting_scores(searcher, review, list(confirmed))
    assert refined[stranger] >= 0.9  # met itself
    crops = indexed.embeddings_of(models.reid_id, "crop", [stranger])[stranger]
    means = indexed.embeddings_of(models.reid_id, "track", [confirmed[0]])[confirmed[0]][0]
    expected = max(float((crops @ result.vector).max()), float((crops @ means).max()))
    assert likeness[stranger] == pytest.approx(expected) and likeness[stranger] < 0.8
    assert likeness[confirmed[0]] == pytest.approx(result.hits[0].score, abs=0.02)  # as the search scored it


def test_case_new_says_whom_it_took_from_a_group_photo_and_takes_whom_it_is_told(
    tmp_path: Path, indexed, frame_of, models
) -> None:
    """A photo of several people: ``case new`` took the largest and said nothing (search says it, and
    takes --person / --box); now it says so, and each --query takes the --person or --box after it."""
    from pipeline.search import Searcher

    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    scene = tmp_path / "scene.jpg"
    cv2.imwrite(str(scene), frame_of(tud().video, 20))
    crop = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    taken = cli("case", "new", "group", "--db", str(db), "--query", str(scene))
    assert taken.returncode == 0 and "people in the photo: took the largest (--person K" in taken.stderr
    box = ["10", "20", "60", "150"]
    p = cli(
        "case", "new", "each", "--db", str(db), "--query", str(crop), "--query", str(scene), "--person", "1",
        "--query", str(scene), "--box", *box,
    )  # fmt: skip
    assert p.returncode == 0 and "took the largest" not in p.stderr, p.stderr
    library = Library(db)
    searcher = Searcher(library, models)
    first, second, third = (v for _, _, v in library.case("each").photos)
    assert np.allclose(first, searcher.prepare(crop)[1], atol=1e-5)
    assert np.allclose(second, searcher.prepare(scene, person=1)[1], atol=1e-5)
    assert not np.allclose(second, searcher.prepare(scene)[1], atol=1e-3)
    assert np.allclose(third, searcher.prepare(scene, box=[float(v) for v in box])[1], atol=1e-5)
    # the case keeps whom it searched for in each photo (its report draws the box): none in a crop
    chosen = searcher.prepare(scene, person=1)[0].box
    assert library.case("each").photo_boxes == (None, chosen, tuple(float(v) for v in box))
    shown = json.loads(cli("case", "show", "each", "--db", str(db), "--json").stdout)["photos"]
    assert [p["box"] for p in shown] == [None, list(chosen), [float(v) for v in box]]
    for args, words in (
        (
            ("--person", "1", "--query", str(crop)),
            "--person chooses the person in a --query photo: give it after",
        ),
        (("--query", str(scene), "--person", "1", "--box", *box), "is chosen already (one --person or --box"),
    ):
        wrong = cli("case", "new", "third", "--db", str(db), *args)
        assert wrong.returncode == 2 and words in wrong.stderr, wrong.stderr
        assert len(wrong.stderr.strip().splitlines()) == 1
    with pytest.raises(StorageError, match="no case named 'third'"):
        library.case("third")  # refused before anything was made


def group_case(tmp_path: Path, indexed, frame_of) -> Path:
    """A copy of the library with a case 'group' made from a TUD-Campus frame of several people, the
    second largest chosen (--person 1), and its best hit confirmed; the library's path."""
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    scene = tmp_path / "scene.jpg"
    cv2.imwrite(str(scene), frame_of(tud().video, 20))
    made = cli("case", "new", "group", "--db", str(db), "--query", str(scene), "--person", "1")
    assert made.returncode == 0, made.stderr
    found = cli("search", "--db", str(db), "--query", str(scene), "--person", "1", "--json")
    track = str(json.loads(found.stdout)["hits"][0]["track_id"])
    video = str(tud().video.resolve())
    assert (
        cli(
            "case", "add", "group", "--db", str(db), "--video", video, "--track", track, "--confirm"
        ).returncode
        == 0
    )
    return db


def test_a_case_report_boxes_the_person_in_a_group_photo(tmp_path: Path, indexed, frame_of) -> None:
    """A query photo of several people: the report showed the photo whole and did not say whom the
    case is about. The box searched is drawn on the photo, and the person shown beside it."""
    from pypdf import PdfReader

    db = group_case(tmp_path, indexed, frame_of)
    p = cli("case", "report", "group", "--db", str(db), "--out", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    x1, y1, x2, y2 = Library(db).case("group").photo_boxes[0]
    pdf = PdfReader(tmp_path / "out" / "spotter_report_group" / "report.pdf")
    # the page's JPEG images, decoded by OpenCV (pypdf's own decoding calls PIL's Image.open with a
    # keyword that Ultralytics' patch of it, once imported by another test, does not take)
    objects = [x.get_object() for x in pdf.pages[0]["/Resources"]["/XObject"].values()]
    jpegs = [o.get_data() for o in objects if "/DCTDecode" in str(o.get("/Filter"))]
    images = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1] for j in jpegs]
    photo = next(im for im in images if im.shape[:2] == (480, 640))
    red = (photo[:, :, 0] > 180) & (photo[:, :, 1] < 70) & (photo[:, :, 2] < 70)
    ys, xs = np.nonzero(red)
    assert red.sum() > (x2 - x1 + y2 - y1) * 2  # a frame around the person, on their box
    assert (
        abs(xs.min() - x1) < 8
        and abs(xs.max() - x2) < 8
        and abs(ys.min() - y1) < 8
        and abs(ys.max() - y2) < 8
    )
    person = [im for im in images if im.shape[:2] == (round(y2) - round(y1), round(x2) - round(x1))]
    assert len(person) == 1  # and the person beside it, as searched


def test_a_case_keeps_a_photo_lying_on_its_side_standing(tmp_path: Path, indexed, frame_of) -> None:
    """A photo lying on its side without a tag is searched upright; the case kept it, and its report
    showed it, lying (a helper's sweep). The case keeps it standing, as searched, its box with it."""
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    upright = np.ascontiguousarray(frame_of(tud().video, 0)[100:480, 0:300])  # a loose crop of a person
    lying = tmp_path / "lying.png"
    cv2.imwrite(str(lying), cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE))
    p = cli("case", "new", "side", "--db", str(db), "--query", str(lying))
    assert p.returncode == 0 and "on its side" in p.stderr, p.stderr
    (photo,) = json.loads(cli("case", "show", "side", "--db", str(db), "--json").stdout)["photos"]
    kept = cv2.imread(photo["path"])
    assert kept.shape == upright.shape and np.array_equal(kept, upright)
    x1, y1, x2, y2 = photo["box"]  # the person, in the standing photo: taller than wide
    assert 0 <= x1 < x2 <= 300 and 0 <= y1 < y2 <= 380 and y2 - y1 > x2 - x1


def test_refine_says_what_it_could_not_use_and_new_refuses_a_taken_name_first(
    tmp_path: Path, frame_of, models
) -> None:
    """A sweep: `case refine` listed hits of a video moved away without the note `search` gives, and
    said 'examples: 0 photo(s)' of a case whose photos were of another ReID model, unexplained;
    `case new` with a taken name ran the models on every photo before refusing it."""
    import shutil

    video = tmp_path / "cam1.mp4"
    shutil.copy(tud().video, video)
    db = tmp_path / "lib.db"
    assert cli("index", str(video), "--db", str(db), "--quiet").returncode == 0
    photo = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    assert cli("case", "new", "gate", "--query", str(photo), "--db", str(db)).returncode == 0
    library = Library(db)
    vector = library.case("gate").vectors(models.reid_id)[0]
    library.create_case(
        "old model", [(str(photo), "other.onnx", vector), (str(photo), models.reid_id, vector)]
    )
    library.close()
    taken = cli(
        "case", "new", "gate", "--query", str(photo), "--reid-model", "/nonexistent.onnx", "--db", str(db)
    )
    assert taken.returncode == 2 and "a case named 'gate' already exists" in taken.stderr, taken.stderr
    p = cli("case", "refine", "old model", "--db", str(db))
    assert p.returncode == 0 and "1 photo(s)" in p.stdout, p.stdout
    assert "note: 1 of the case's photos were embedded with another ReID model (other.onnx)" in p.stderr
    video.rename(tmp_path / "moved.mp4")
    p = cli("case", "refine", "gate", "--db", str(db))
    assert p.returncode == 0 and "hits (" in p.stdout, p.stdout
    assert "not where they were indexed" in p.stderr, p.stderr
