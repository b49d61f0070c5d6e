"""Fuzzing with real files: a few hundred seeded mutations of a real video and of a real photo go
through indexing and query preparation. Every outcome is a result or a one-line Spotter error: no
other exception, no hang (each case has a time limit), and what the library held before is intact."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.sequences import frames_of, write_video
from models.errors import SpotterError
from pipeline.indexer import index_video
from pipeline.query import prepare_query
from pipeline.storage import Library
from tests.conftest import load_gt, tud

CASES = 150  # per kind of file
LIMIT_S = 60  # per case: a case that takes longer is a hang


class HangError(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def fire(_sig: int, _frame: object) -> None:
        raise HangError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One of: flipped bytes, a zeroed block, a random block, a cut, a duplicated span, garbage added."""
    b = bytearray(data)
    n = len(b)
    kind = rng.integers(0, 6)
    if kind == 0:
        for i in rng.integers(0, n, size=int(rng.integers(1, 64))):
            b[i] ^= int(rng.integers(1, 256))
    elif kind == 1:
        start = int(rng.integers(0, n))
        b[start : start + int(rng.integers(16, 8192))] = b"\0" * len(b[start : start + 8192])
    elif kind == 2:
        start = int(rng.integers(0, n))
        size = int(rng.integers(16, 4096))
        b[start : start + size] = rng.integers(
            0, 256, size=len(b[start : start + size]), dtype=np.uint8
        ).tobytes()
    elif kind == 3:
        b = b[: int(rng.integers(0, n))]
    elif kind == 4:
        a, z = sorted(int(x) for x in rng.integers(0, n, size=2))
        b = b[:z] + b[a:z] + b[z:]
    else:
        b += rng.integers(0, 256, size=int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()
    return bytes(b)


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 25 frames of TUD-Campus, halved (320x240), H.264."""
    path = tmp_path_factory.mktemp("fuzz") / "small.mp4"
    frames = (cv2.resize(f, (320, 240)) for k, f in enumerate(frames_of(tud().video)) if k < 25)
    write_video(path, frames, 25.0)
    return path


def test_mutated_videos_index_or_fail_cleanly(tmp_path: Path, small_video: Path, models) -> None:
    library = Library(tmp_path / "lib.db")
    for _ in index_video(small_video, library, models):
        pass
    (kept,) = library.videos()
    rng = np.random.default_rng(2026)
    original = small_video.read_bytes()
    outcomes = {"indexed": 0, "refused": 0}
    for k in range(CASES):
        case = tmp_path / f"case{k:03d}.mp4"
        case.write_bytes(mutate(original, rng))
        try:
            with time_limit(LIMIT_S):
                for _ in index_video(case, library, models):
                    pass
            outcomes["indexed"] += 1
        except SpotterError as e:
            assert "\n" not in str(e), str(e)
            outcomes["refused"] += 1
        case.unlink()
    print(outcomes)
    assert outcomes["indexed"] > 0 and outcomes["refused"] > 0  # both kinds of damage occurred
    again = next(v for v in library.videos() if v.video_id == kept.video_id)
    assert (again.status, again.tracks) == (kept.status, kept.tracks)  # nothing already indexed lost
    with library.engine.connect() as c:
        from sqlalchemy import text

        assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_mutated_photos_are_queries_or_clean_errors(tmp_path: Path, models, frame_of) -> None:
    x1, y1, x2, y2 = (round(v) for v in load_gt(tud())[3][53])
    crop = frame_of(tud().video, 53)[y1:y2, x1:x2]
    rng = np.random.default_rng(7)
    outcomes = {"searched": 0, "refused": 0}
    for ext in (".jpg", ".png"):
        original = cv2.imencode(ext, crop)[1].tobytes()
        for k in range(CASES // 2):
            case = tmp_path / f"case{k:03d}{ext}"
            case.write_bytes(mutate(original, rng))
            try:
                with time_limit(LIMIT_S):
                    prepare_query(case, models.detector)
                outcomes["searched"] += 1
            except SpotterError as e:
                assert "\n" not in str(e), str(e)
                outcomes["refused"] += 1
    print(outcomes)
    assert outcomes["searched"] > 0 and outcomes["refused"] > 0


def test_the_command_line_never_shows_a_traceback_for_a_mutated_video(
    tmp_path: Path, small_video: Path
) -> None:
    import os
    import sys

    from tests.conftest import ROOT

    rng = np.random.default_rng(11)
    original = small_video.read_bytes()
    for k in range(8):
        case = tmp_path / f"cli{k}.mp4"
        case.write_bytes(mutate(original, rng))
        p = subprocess.run(
            [sys.executable, "main.py", "index", str(case), "--db", str(tmp_path / "lib.db")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=os.environ,
            timeout=300,
        )
        assert p.returncode in (0, 1) and "Traceback" not in p.stderr, p.stderr
