"""Bad input, as a hostile but realistic user gives it: every case is one clear line (exit 2 at the
command line), never a traceback, and nothing already in the library is lost or changed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.storage import Library
from tests.conftest import ROOT, copy_library, tud
from tests.test_cli import cli, cli_process


def one_line_error(p: subprocess.CompletedProcess, *words: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "[Errno" not in lines[0], lines[0]  # an OS or FFmpeg error number means nothing to an operator
    for w in words:
        assert w in lines[0], lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----- numbers the command line refuses ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["search", "--query", "q.jpg", "--threshold", "5"], ["--threshold", "from 0 to 1"]),
        (["search", "--query", "q.jpg", "--threshold", "-1"], ["--threshold"]),
        (["search", "--query", "q.jpg", "--threshold", "nan"], ["--threshold"]),
        (["search", "--query", "q.jpg", "--top", "-3"], ["--top", "whole number"]),
        (["search", "--query", "q.jpg", "--top", "0"], ["--top"]),
        (["search", "--query", "q.jpg", "--box", "1", "2", "nan", "4"], ["--box"]),
        (["search", "--query", "q.jpg", "--box", "1", "2", "3", "4", "--person", "1"], ["--person", "--box"]),
        (["index", "v.mp4", "--stride", "0"], ["--stride"]),
        (["index", "v.mp4", "--stride", "-1"], ["--stride"]),
        (["index", "v.mp4", "--max-input", "-64"], ["--max-input", "32"]),
        (["index", "v.mp4", "--max-input", "1"], ["--max-input"]),
        (["export", "--hit", "1", "--out", "x.mp4", "--margin", "nan"], ["--margin"]),
        (["export", "--hit", "1", "--out", "x.mp4", "--margin", "inf"], ["--margin"]),
        (["export", "--hit", "1", "--out", "x.mp4", "--margin", "-1"], ["--margin"]),
        (["export", "--hit", "abc", "--out", "x.mp4"], ["--hit"]),
    ],
)
def test_numbers_out_of_range_are_one_line(args: list[str], words: list[str]) -> None:
    one_line_error(cli(*args), *words)


def test_config_dataclasses_enforce_the_same_ranges() -> None:
    from models.detector import DetectorConfig
    from models.validation import ConfigError
    from pipeline.export import ExportConfig
    from pipeline.indexer import IndexConfig
    from pipeline.search import SearchConfig

    for make in (
        lambda: SearchConfig(min_score=5),
        lambda: SearchConfig(min_score=float("nan")),
        lambda: IndexConfig(stride=0),
        lambda: DetectorConfig(max_input=1),
        lambda: ExportConfig(margin_s=float("inf")),
    ):
        with pytest.raises(ConfigError):
            make()


# ----- ids that an operator or a script holds ------------------------------------------------------


def test_hit_ids_are_never_reused(tmp_path: Path) -> None:
    from tests.test_search import add_video

    library = Library(tmp_path / "lib.db")
    rng = np.random.default_rng(0)
    vid = add_video(library, "cam1", [rng.normal(size=16) for _ in range(3)])
    pks = [t.pk for t in library.video_tracks(vid)]
    first_search, first_hits = library.save_search(
        "/q.jpg", None, "test-reid", {}, np.ones(16), [(pks[0], 0.9)]
    )
    library.remove_video(vid)  # the video is indexed again: its tracks and their hits go
    assert library.hit(first_hits[0]) is None
    vid = add_video(library, "cam1", [rng.normal(size=16) for _ in range(3)])
    pks = [t.pk for t in library.video_tracks(vid)]
    search, hits = library.save_search("/q.jpg", None, "test-reid", {}, np.ones(16), [(pks[0], 0.8)])
    assert search > first_search and hits[0] > first_hits[0]
    library.close()
    reopened = Library(tmp_path / "lib.db")  # the high-water mark survives a restart
    _, again = reopened.save_search("/q.jpg", None, "test-reid", {}, np.ones(16), [(pks[0], 0.8)])
    assert again[0] > hits[0]


# ----- the command line as a pipe and without a display -------------------------------------------


def test_output_to_a_closed_pipe_exits_quietly(indexed) -> None:
    for args in (
        ["videos", "--db", str(indexed.db_path)],
        ["videos", "--json", "--db", str(indexed.db_path)],
    ):
        p = subprocess.run(
            f"{sys.executable} main.py {' '.join(args)} | true",
            shell=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=os.environ,
        )
        assert p.returncode == 0 and "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


def test_the_app_without_a_display_names_the_command_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    p = subprocess.run([sys.executable, "main.py"], cwd=ROOT, capture_output=True, text=True, env=env)
    one_line_error(p, "needs a display", "--help")


def test_symlink_loop_given_as_a_video(tmp_path: Path) -> None:
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(tmp_path / "loop.mp4")
    p = cli(
        "index", str(loop), str(tmp_path / "missing.mp4"), str(tud().video), "--db", str(tmp_path / "lib.db")
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr  # a mistake in the command
    assert f"error: {loop}: cannot resolve the path" in p.stderr
    assert f"error: {tmp_path / 'missing.mp4'}: no such file" in p.stderr
    assert "done:" in p.stderr  # the good input was still indexed


def test_a_library_with_a_video_is_not_touched_by_refused_input(tmp_path: Path, models) -> None:
    from pipeline.indexer import index_video

    library = Library(tmp_path / "lib.db")
    for _ in index_video(tud().video, library, models):
        pass
    library.close()
    before = digest(tmp_path / "lib.db")
    for args in (["search", "--query", "q.jpg", "--threshold", "5"], ["index", "v.mp4", "--stride", "0"]):
        cli(*args, "--db", str(tmp_path / "lib.db"))
    assert digest(tmp_path / "lib.db") == before


def test_two_indexers_of_one_video_do_not_collide(tmp_path: Path) -> None:
    """The second skips the video with a message while the first indexes it; nothing fails."""
    import time

    from bench.sequences import cut
    from tests.conftest import pets

    db = tmp_path / "lib.db"
    video = cut(pets().video, tmp_path / "pets_40s.mp4", 0, 400)  # long enough to be busy meanwhile
    first = cli_process("index", str(video), "--db", str(db), "--quiet")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until it has registered the video
            if db.exists() and Library(db).videos():
                break
            time.sleep(0.3)
        second = cli("index", str(video), "--db", str(db))
        assert second.returncode == 0, second.stderr
        assert (
            "being indexed by another Spotter process" in second.stderr and "Traceback" not in second.stderr
        )
        _, err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert first.returncode == 0, err
    (entry,) = Library(db).videos()
    assert entry.status == "done" and entry.tracks > 5


# ----- files that change, move, or come twice ---------------------------------------------------


@pytest.fixture(scope="module")
def _indexed_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A copy of TUD-Campus indexed once from the command line at a fixed place, and a pristine copy
    of the video (its times kept) and of the library beside it."""
    import shutil

    root = tmp_path_factory.mktemp("indexed_copy")
    video, db = root / "work" / "camera" / "clip.mp4", root / "work" / "lib.db"
    video.parent.mkdir(parents=True)
    shutil.copy(tud().video, video)
    assert cli("index", str(video), "--db", str(db)).returncode == 0
    (root / "pristine").mkdir()
    shutil.copy2(video, root / "pristine" / "clip.mp4")
    copy_library(db, root / "pristine" / "lib.db")
    return video, db, root / "pristine"


@pytest.fixture
def indexed_copy(_indexed_once: tuple[Path, Path, Path]) -> tuple[Path, Path]:
    """A copy of TUD-Campus, indexed from the command line: each test gets the video and library back
    as indexing left them, at the path indexed (indexed once for all: the same bytes and times)."""
    import shutil

    video, db, pristine = _indexed_once
    work = db.parent
    shutil.rmtree(work)
    video.parent.mkdir(parents=True)
    shutil.copy2(pristine / "clip.mp4", video)
    copy_library(pristine / "lib.db", db)
    return video, db


def test_a_video_changed_in_place_is_indexed_again_and_says_why(indexed_copy) -> None:
    video, db = indexed_copy
    data = bytearray(video.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 65536] = os.urandom(65536)  # same size, 64 KB rewritten in the middle
    video.write_bytes(bytes(data))
    p = cli("index", str(video), "--db", str(db))
    assert "already indexed" not in p.stderr and "skipped" not in p.stderr, p.stderr
    assert "file changed: its content differs" in p.stderr and "done:" in p.stderr
    assert "damaged packet(s) that do not decode left out" in p.stderr  # the rewritten middle, said


def test_a_touched_video_with_the_same_content_is_skipped(indexed_copy) -> None:
    video, db = indexed_copy
    os.utime(video, (1_000_000_000, 1_000_000_000))  # new time, same bytes
    p = cli("index", str(video), "--db", str(db))
    assert p.returncode == 0 and "skipped:" in p.stderr and "already indexed" in p.stderr


def test_the_same_content_under_a_second_name_is_indexed_once(indexed_copy, tmp_path: Path) -> None:
    import shutil

    video, db = indexed_copy
    twin = tmp_path / "elsewhere" / "same.mp4"
    twin.parent.mkdir()
    shutil.copy(video, twin)
    p = cli("index", str(twin), "--db", str(db))
    assert p.returncode == 0 and "same content as" in p.stderr and "indexed once" in p.stderr
    (entry,) = json.loads(cli("videos", "--json", "--db", str(db)).stdout)["videos"]
    assert entry["path"] == str(video.resolve()) and entry["aliases"] == [str(twin.resolve())]


def test_export_refuses_a_source_replaced_after_indexing(indexed_copy, tmp_path: Path, frame_of) -> None:
    import shutil

    import cv2

    from tests.conftest import load_gt, pets

    video, db = indexed_copy
    x1, y1, x2, y2 = (round(v) for v in load_gt(tud())[3][53])
    query = tmp_path / "q.jpg"
    cv2.imwrite(str(query), frame_of(tud().video, 53)[y1:y2, x1:x2])
    found = cli("search", "--query", str(query), "--db", str(db))
    hit_id = found.stdout.splitlines()[2].split()[0]
    shutil.copy(pets().video, video)  # different footage, same name
    p = cli("export", "--hit", hit_id, "--out", str(tmp_path / "clip.mp4"), "--db", str(db))
    one_line_error(p, "has changed since it was indexed")
    assert not (tmp_path / "clip.mp4").exists()


def test_export_cuts_from_a_copy_when_the_indexed_file_moved(indexed_copy, tmp_path: Path, frame_of) -> None:
    """The file indexed was moved (or replaced) and the library knew a copy with the same content
    (indexed once, listed as an alias), yet export and case report were refused: 'cannot be read
    now'. The copy is used (its whole content checked); the summary names it. Without a copy left,
    still refused."""
    import shutil

    import cv2

    from tests.conftest import load_gt, pets

    video, db = indexed_copy
    twin = tmp_path / "elsewhere" / "same.mp4"
    twin.parent.mkdir()
    shutil.copy(video, twin)
    assert "indexed once" in cli("index", str(twin), "--db", str(db)).stderr
    x1, y1, x2, y2 = (round(v) for v in load_gt(tud())[3][53])
    query = tmp_path / "q.jpg"
    cv2.imwrite(str(query), frame_of(tud().video, 53)[y1:y2, x1:x2])
    hit = json.loads(cli("search", "--query", str(query), "--db", str(db), "--json").stdout)["hits"][0]
    hit_id = cli("search", "--query", str(query), "--db", str(db)).stdout.splitlines()[2].split()[0]
    video.rename(video.with_name("moved.mp4"))
    p = cli("export", "--hit", hit_id, "--out", str(tmp_path / "clip.mp4"), "--db", str(db))
    assert p.returncode == 0 and "its copy" in p.stderr and str(twin.resolve()) in p.stderr, p.stderr
    clip = cv2.VideoCapture(str(tmp_path / "clip.mp4"))
    assert clip.get(cv2.CAP_PROP_FRAME_COUNT) >= hit["end_frame"] - hit["start_frame"] + 1
    shutil.copy(pets().video, twin)  # the copy changed too: nothing left to cut from
    p = cli("export", "--hit", hit_id, "--out", str(tmp_path / "clip2.mp4"), "--db", str(db))
    one_line_error(p, "cannot be read now")


# ----- model files that carry code ----------------------------------------------------------------


class _Payload:
    """Unpickling this runs code: it writes the marker file named in ``MARKER``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("name", ["evil.pt", "yolov8n_rebuilt.pt"])  # unknown, and a known model's name
def test_a_pickle_model_file_never_runs_its_code(tmp_path: Path, name: str) -> None:
    import pickle

    marker = tmp_path / "marker.txt"
    evil = tmp_path / name
    evil.write_bytes(pickle.dumps(_Payload(marker)))
    video = str(tud().video)
    p = cli("index", video, "--db", str(tmp_path / "lib.db"), "--detector", str(evil))
    assert p.returncode in (1, 2) and "Traceback" not in p.stderr
    assert ("refusing to load" in p.stderr) or ("corrupt or not the expected" in p.stderr), p.stderr
    q = cli("export-detector", str(evil), "--out", str(tmp_path / "out.onnx"))
    assert q.returncode == 2 and "Traceback" not in q.stderr
    assert not marker.exists(), "the model file's code ran"


def test_a_photo_a_thousand_times_taller_than_wide_is_one_line(tmp_path: Path) -> None:
    """A 10x10000 px query photo crashed inside OpenCV (its network input came out 0 px wide)."""
    photo = tmp_path / "tall.png"
    cv2.imwrite(str(photo), np.random.default_rng(1).integers(0, 255, (10000, 10, 3), dtype=np.uint8))
    one_line_error(cli("search", "--query", str(photo), "--db", str(tmp_path / "lib.db"), "--no-service"))


def test_a_folder_with_nothing_to_index_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    (tmp_path / "x.mp4").mkdir()  # a folder named like a video
    (empty / "readme.txt").write_text("no videos here")
    for folder in (empty, tmp_path / "x.mp4"):
        p = cli("index", str(folder), "--db", str(tmp_path / "lib.db"))
        assert p.returncode == 1 and "no videos and no folders of images" in p.stderr, p.stderr
    (empty / "cam").mkdir()  # one snapshot is a photo, not a sequence: the error says so
    cv2.imwrite(str(empty / "cam" / "only.jpg"), np.full((64, 64, 3), 90, np.uint8))
    p = cli("index", str(empty), "--db", str(tmp_path / "lib.db"))
    assert p.returncode == 1 and "no folder of at least 2 images" in p.stderr, p.stderr
    assert str(empty / "cam") in p.stderr and "search --query" in p.stderr
