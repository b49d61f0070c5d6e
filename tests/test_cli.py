"""The command line as tools and operators use it: exact JSON, exit codes, one-line errors, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.reid import ReidConfig
from pipeline.storage import Library
from tests.conftest import ROOT, asset, copy_library, load_gt, pets, tud


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ,
    )


def cli_process(*args: str) -> subprocess.Popen:
    """``main.py`` started in the background (output piped), for tests that act while it runs."""
    return subprocess.Popen(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )


def gt_crop(tmp_path: Path, frame_of, seq, person: int, frame: int) -> Path:
    x1, y1, x2, y2 = (round(v) for v in load_gt(seq)[person][frame])
    path = tmp_path / f"query_{person}.jpg"
    cv2.imwrite(str(path), frame_of(seq.video, frame)[max(y1, 0) : y2, max(x1, 0) : x2])
    return path


def test_search_json_contract(tmp_path: Path, indexed, frame_of) -> None:
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    p = cli("search", "--db", str(indexed.db_path), "--query", str(query), "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc) == {"query", "hits"} and doc["query"] == str(query.resolve())
    assert doc["hits"], "the person is in TUD-Campus"
    keys = {"video", "track_id", "score", "start_s", "end_s", "start_frame", "end_frame", "frames"}
    keys |= {"camera", "start_time", "end_time"}  # the clock (null where the video's start is unknown)
    keys |= {"hit_id"}  # what export --hit takes: a script searched and could not export (a sweep)
    scores = []
    for h in doc["hits"]:
        assert set(h) == keys
        assert Path(h["video"]).is_absolute() and Path(h["video"]).exists()
        assert isinstance(h["track_id"], int) and isinstance(h["start_frame"], int)
        assert isinstance(h["end_frame"], int) and 0 <= h["start_frame"] <= h["end_frame"]
        assert (
            isinstance(h["score"], float) and isinstance(h["start_s"], float) and h["start_s"] <= h["end_s"]
        )
        frames = h["frames"]
        assert frames[0][0] == h["start_frame"] and frames[-1][0] == h["end_frame"]
        for f in frames:
            assert len(f) == 5 and isinstance(f[0], int) and f[1] < f[3] and f[2] < f[4]
        scores.append(h["score"])
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(h["hit_id"], int) for h in doc["hits"])
    clip = tmp_path / "first.mp4"
    p = cli(
        "export", "--db", str(indexed.db_path), "--hit", str(doc["hits"][0]["hit_id"]), "--out", str(clip)
    )
    assert p.returncode == 0 and clip.stat().st_size > 0, p.stderr
    top = cli("search", "--db", str(indexed.db_path), "--query", str(query), "--json", "--top", "1")
    assert len(json.loads(top.stdout)["hits"]) == 1
    only = cli(
        "search", "--db", str(indexed.db_path), "--query", str(query), "--json", "--video", str(pets().video)
    )
    assert all(h["video"] == str(pets().video) for h in json.loads(only.stdout)["hits"])


def test_search_text_and_export_by_hit_id(tmp_path: Path, indexed, frame_of) -> None:
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    p = cli("search", "--db", str(indexed.db_path), "--query", str(query))
    assert p.returncode == 0 and "hits" in p.stdout
    hit_id = int(p.stdout.splitlines()[2].split()[0])
    out = tmp_path / "evidence.mp4"
    e = cli("export", "--db", str(indexed.db_path), "--hit", str(hit_id), "--out", str(out), "--annotate")
    assert e.returncode == 0, e.stderr
    assert out.exists() and out.with_suffix(".jpg").exists()
    again = cli("export", "--db", str(indexed.db_path), "--hit", str(hit_id), "--out", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    missing = cli("export", "--db", str(indexed.db_path), "--hit", "999999", "--out", str(tmp_path / "x.mp4"))
    assert missing.returncode == 2 and "no hit 999999" in missing.stderr
    # where the camera's clock is known, the clip is said in it (it was offsets into the video only)
    db = copy_library(indexed.db_path, tmp_path / "clock.db")
    assert (
        cli("videos", "--db", str(db), "--set-start", str(tud().video), "2026-12-01T14:00:00").returncode == 0
    )
    timed = cli("export", "--db", str(db), "--hit", str(hit_id), "--out", str(tmp_path / "timed.mp4"))
    assert (
        timed.returncode == 0 and ", 2026-12-01 14:00:0" in timed.stdout and "into the video" in timed.stdout
    )
    assert "into the video" not in e.stdout, e.stdout
    # the clock time covers the clip's end (0:00.0-0:02.8 read 14:00:00-14:00:02)
    import re

    found = re.search(r"-14:00:(\d\d), (\d+):(\d\d\.\d)-(\d+):(\d\d\.\d) into the video", timed.stdout)
    assert found, timed.stdout
    assert int(found[1]) >= int(found[4]) * 60 + float(found[5]), timed.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just text", "not an image"),
        (b"", "empty file"),
        (
            cv2.imencode(".png", np.full((200, 100, 3), 120, np.uint8))[1].tobytes()[:300],
            "damaged or truncated image",
        ),
    ],
    ids=["text", "empty", "truncated-png"],  # (OpenCV added a warning line of its own to the last)
)
def test_search_with_a_non_image(tmp_path: Path, indexed, content: bytes, message: str) -> None:
    bad = tmp_path / "query.jpg"
    bad.write_bytes(content)
    p = cli("search", "--db", str(indexed.db_path), "--query", str(bad), "--json")
    assert p.returncode == 2 and message in p.stderr
    assert p.stderr.strip().count("\n") == 0 and p.stdout == ""


def test_search_with_a_photo_of_no_one(tmp_path: Path, indexed) -> None:
    photo = tmp_path / "wall.png"
    cv2.imwrite(str(photo), np.full((400, 300, 3), (40, 90, 160), np.uint8))
    p = cli("search", "--db", str(indexed.db_path), "--query", str(photo))
    assert p.returncode == 2 and "no person found" in p.stderr


def test_missing_and_corrupt_weights(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    video = str(tud().video)
    missing = cli(
        "index",
        video,
        str(pets().video),
        "--db",
        str(db),
        "--reid-model",
        str(tmp_path / "osnet_x0_25_msmt17.onnx"),
    )
    assert missing.returncode == 2  # said once, for all the videos, not once per video
    (line,) = missing.stderr.strip().splitlines()
    assert "osnet_x0_25_msmt17.onnx" in line and "install.sh" in line
    bad = tmp_path / "osnet_x0_25_msmt17.onnx"
    data = bytearray(asset("reid/osnet_x0_25_msmt17.onnx").read_bytes())
    data[1000:1100] = b"\0" * 100
    bad.write_bytes(bytes(data))
    corrupt = cli("index", video, "--db", str(db), "--reid-model", str(bad))
    assert corrupt.returncode == 2 and "corrupt" in corrupt.stderr and str(bad) in corrupt.stderr


def test_index_reports_bad_files_and_goes_on(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(10_000))
    db = tmp_path / "lib.db"
    p = cli("index", str(junk), str(tud().video), "--db", str(db))
    assert p.returncode == 1
    assert f"error: {junk}" in p.stderr and "done:" in p.stderr
    videos = cli("videos", "--db", str(db))
    assert "TUD-Campus.mp4" in videos.stdout and "done" in videos.stdout and "junk" not in videos.stdout
    again = cli("index", str(tud().video), "--db", str(db))
    assert again.returncode == 0 and "skipped:" in again.stderr


def test_ctrl_c_cancels_cleanly_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    proc = cli_process("index", str(pets().video), "--db", str(db))
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                videos = Library(db).videos()
                if videos and videos[0].frames_done > 0:
                    break
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "cancelled" in err
    (video,) = Library(db).videos()
    assert video.status == "partial" and video.frames_done > 0


def test_a_second_ctrl_c_aborts_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first Ctrl-C asks the work to stop at its next step; a second (a real SIGINT to this
    process) aborts at once, and the command line says so in one line (exit 130), no traceback."""
    import main
    from pipeline.cli import admin_cmd
    from pipeline.cli.common import ctrl_c_cancels

    def videos_pressed_twice(_args: object) -> int:
        with ctrl_c_cancels("stopping") as cancel:
            os.kill(os.getpid(), signal.SIGINT)
            assert cancel.wait(5)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises in this thread before the sleep ends
        raise AssertionError("the second Ctrl-C did not abort")

    monkeypatch.setattr(admin_cmd, "cmd_videos", videos_pressed_twice)
    lines: list[str] = []
    monkeypatch.setattr(main, "err", lines.append)
    try:
        code = main.main(["videos", "--db", str(tmp_path / "lib.db")])
    except KeyboardInterrupt:
        pytest.fail("the second Ctrl-C came out of main() as a traceback")
    assert code == 130
    assert len(lines) == 1 and lines[0].startswith("aborted:"), lines
    assert "index" not in lines[0]  # a report, a search, the list of videos: no index to resume


def test_a_second_ctrl_c_in_an_index_says_it_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    import main

    def pressed_twice(_argv: list[str]) -> int:
        raise KeyboardInterrupt

    lines: list[str] = []
    monkeypatch.setattr(main, "_main", pressed_twice)
    monkeypatch.setattr(main, "err", lines.append)
    assert main.main(["--db", "lib.db", "index", "cam1.mp4"]) == 130
    assert lines == ["aborted: what was committed before is kept (an interrupted index resumes from it)"]
    assert main.main(["--db", "index", "search", "--query", "index"]) == 130  # a library named "index"
    assert lines[-1] == "aborted: what was committed before is kept"


def test_videos_and_doctor(indexed) -> None:
    v = cli("videos", "--db", str(indexed.db_path))
    assert v.returncode == 0 and "vtest_pets09_s2l1_480x360.mp4" in v.stdout and "TUD-Campus.mp4" in v.stdout
    d = cli("doctor", "--db", str(indexed.db_path))
    assert d.returncode == 0 and ("device: CPU" in d.stdout or "device: GPU" in d.stdout)
    assert f"{ReidConfig().weights}: ok" in d.stdout
    if "device: CPU" in d.stdout:  # what runs the ReID model, and its version, for a site's IT team
        assert (
            ", openvino 20" in d.stdout.splitlines()[0]
            and "osnet_x0_25_msmt17.onnx on OpenVINO CPU" in d.stdout
        )
    wrong = subprocess.run(  # a mistyped SPOTTER_MODELS is pointed out, not passed over in silence
        [sys.executable, "main.py", "doctor", "--db", str(indexed.db_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=os.environ | {"SPOTTER_MODELS": "/nonexistent/weights"},
    )  # fmt: skip
    assert "/nonexistent/weights (no such folder)" in wrong.stdout, wrong.stdout


def test_install_weights_from_a_folder_that_is_not_there_says_so(tmp_path: Path) -> None:
    """It listed six files as 'missing', then 'the default models are missing from' the folder."""
    (tmp_path / "a-file").write_text("x")
    for source in (tmp_path / "nosuch", tmp_path / "a-file"):
        p = cli("install-weights", str(source))
        assert p.returncode == 2 and f"{source} is not a folder" in p.stderr and "missing" not in p.stdout, p


def test_doctor_says_what_is_wrong_with_the_library_and_still_checks_the_models(tmp_path: Path) -> None:
    """A folder given as --db passed as 'database: PATH' (exit 0), and a file that is not a library
    stopped every check after it: the device and models went unsaid."""
    (tmp_path / "text.db").write_text("not a library")
    for db, said in (
        (tmp_path, "is a folder, not a library file"),
        (tmp_path / "text.db", "not a Spotter library"),
    ):
        d = cli("doctor", "--db", str(db))
        assert d.returncode == 2 and said in d.stderr and "device: " in d.stdout, (d.stdout, d.stderr)
    d = cli("doctor", "--db", str(tmp_path / "new.db"))
    assert d.returncode == 0 and "no library there yet" in d.stdout and not (tmp_path / "new.db").exists()


def test_results_go_to_standard_output_and_notes_to_standard_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The one place the commands write through: a script reading `--json` output sees results only."""
    from pipeline.cli.console import err, out

    out(json.dumps({"hits": []}))
    err("note: a note")
    out()
    captured = capsys.readouterr()
    assert captured.out == '{"hits": []}\n\n'
    assert captured.err == "note: a note\n"


def test_a_search_says_which_videos_another_model_indexed(tmp_path: Path, frame_of) -> None:
    """A library indexed partly with another ReID model (--reid-model on one index run): a search
    compares one model's embeddings, so the other videos were left out without a word."""
    from tests.conftest import asset

    db = str(tmp_path / "library.db")
    assert cli("index", str(tud().video), "--db", db, "--quiet").returncode == 0
    snaps = asset("mot17_mini/MOT17-05-FRCNN/img1")
    p = cli("index", str(snaps), "--db", db, "--quiet", "--reid-model", "osnet_x0_5_msmt17.onnx")
    assert p.returncode == 0, p.stderr
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    p = cli("search", "--no-service", "--db", db, "--query", str(query))
    assert p.returncode == 0 and "TUD-Campus" in p.stdout, p.stderr
    assert (
        "note: 1 video(s) indexed with the ReID model osnet_x0_5_msmt17.onnx are not searched with "
        "osnet_x0_25_msmt17.onnx"
    ) in p.stderr, p.stderr


def test_refining_a_case_in_a_library_of_another_model_is_refused_like_a_search(
    tmp_path: Path, frame_of
) -> None:
    """`case refine` in a library indexed only with another ReID model said '0 hits' (exit 0): an
    operator reads that as 'not there'. It is refused as a search is, saying which model to use."""
    from tests.conftest import asset

    db = str(tmp_path / "library.db")
    snaps = asset("mot17_mini/MOT17-05-FRCNN/img1")
    p = cli("index", str(snaps), "--db", db, "--quiet", "--reid-model", "osnet_x0_5_msmt17.onnx")
    assert p.returncode == 0, p.stderr
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    assert cli("case", "new", "gate", "--db", db, "--query", str(query)).returncode == 0
    for args in (["search", "--no-service", "--query", str(query)], ["case", "refine", "gate"]):
        p = cli(*args, "--db", db)
        assert p.returncode == 2 and "indexed with the ReID model osnet_x0_5_msmt17.onnx" in p.stderr, p


def test_a_search_with_nothing_in_its_region_says_so(tmp_path: Path, indexed, frame_of) -> None:
    """It said 'no track indexed' of a library that holds tracks, none of them in the region asked."""
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    p = cli(
        "search", "--no-service", "--db", str(indexed.db_path), "--query", str(query), "--region", "0,0,1,1"
    )
    assert p.returncode == 0, p.stderr
    assert "(no track within the cameras, times or region asked)" in p.stdout, p.stdout


def test_a_scene_photo_says_which_of_its_people_was_searched(tmp_path: Path, indexed, frame_of) -> None:
    """A photo of several people was searched for the largest without a word: the operator who meant
    another got that one's hits."""
    scene = tmp_path / "scene.jpg"
    cv2.imwrite(str(scene), frame_of(tud().video, 20))
    p = cli("search", "--no-service", "--db", str(indexed.db_path), "--query", str(scene))
    assert p.returncode == 0 and "people in the photo: searched the largest (--person K" in p.stderr, p.stderr
    chosen = cli(
        "search", "--no-service", "--db", str(indexed.db_path), "--query", str(scene), "--person", "1"
    )
    assert chosen.returncode == 0 and "people in the photo" not in chosen.stderr, chosen.stderr


def test_db_and_ray_before_the_command_are_the_commands(tmp_path: Path, capsys) -> None:
    """`main.py --db lib.db index ...` indexed into the default library (the option before the
    command was the desktop app's, and the command's own was unset): it is now the command's, and
    refused where the command does not take it or is given another."""
    from pipeline.cli.parser import build_parser

    parse = build_parser("").parse_args
    args = parse(["--db", "lib.db", "--ray", "local", "index", "v.mp4"])
    assert (args.db, args.ray) == ("lib.db", "local")
    assert parse(["--db", "lib.db", "case", "show", "x", "--db", "lib.db"]).db == "lib.db"
    assert parse(["--db", "lib.db"]).app_db == "lib.db" and parse(["--db", "lib.db"]).command is None
    for argv, said in (
        (["--db", "a.db", "videos", "--db", "b.db"], "two values of --db: 'a.db' before the command"),
        (["--ray", "local", "videos"], "--ray does not apply to videos"),
    ):
        with pytest.raises(SystemExit) as stop:
            parse(argv)
        assert stop.value.code == 2 and said in capsys.readouterr().err


def test_a_search_says_which_videos_it_saw_only_in_part(tmp_path: Path, indexed, frame_of) -> None:
    """A search while a video is being indexed, or after a run was cancelled or killed, saw only what
    was indexed of it: its "not found" must not read as "not in this footage" (helper sweep)."""
    from pipeline.video import VideoInfo
    from tests.conftest import copy_library

    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    library = Library(db)
    for name, status in (("cancelled", "partial"), ("killed", None)):
        info = VideoInfo(tmp_path / f"{name}.mp4", 1000, 0.0, name.ljust(64, "0"), 10.0, 100, 320, 240)
        d = library.start_video(info, "det", "reid", {})
        if status:
            library.finish_video(d.video_id, status, 40, "cancelled; index again to resume")
    library.close()
    query = gt_crop(tmp_path, frame_of, tud(), 3, 53)
    p = cli("search", "--db", str(db), "--query", str(query), "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["hits"], p.stderr
    assert "note: 2 video(s) not fully indexed (1 interrupted, 1 partial): only what was indexed" in p.stderr
