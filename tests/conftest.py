"""Shared fixtures: real assets from ../shared/assets, models loaded once, videos indexed once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("SPOTTER_ASSETS", ROOT.parent / "shared" / "assets")).resolve()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("SPOTTER_MODELS", str(ASSETS))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist's ``--dist loadgroup`` (README's test command), each test file runs whole on
    one worker, so that its module fixtures (an indexed library, a Ray cluster) are made once; the
    files marked ``xdist_group("ray")`` share one worker, so that two local Ray clusters never run at
    once."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def asset(rel: str) -> Path:
    """Path of a shared asset; fails (not skips) when missing: CI has them all."""
    path = ASSETS / rel
    if not path.exists():
        pytest.fail(f"missing test asset {path} (set SPOTTER_ASSETS to the shared assets folder)")
    return path


@dataclass(frozen=True)
class Sequence:
    name: str
    video: Path
    gt: Path
    scale: float  # gt pixels -> video pixels


def pets() -> Sequence:
    return Sequence(
        "PETS09-S2L1",
        asset("video/vtest_pets09_s2l1_480x360.mp4"),
        asset("mot15/PETS09-S2L1/gt/gt.txt"),
        0.625,
    )


def tud() -> Sequence:
    return Sequence(
        "TUD-Campus", asset("mot15/TUD-Campus/TUD-Campus.mp4"), asset("mot15/TUD-Campus/gt/gt.txt"), 1.0
    )


def copy_library(source: Path, target: Path) -> Path:
    """A private copy of a library (its pages and its write-ahead log, as one file), free to write to."""
    import contextlib
    import sqlite3

    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
    return target


def load_gt(seq: Sequence) -> dict[int, dict[int, tuple[float, float, float, float]]]:
    """{identity: {video frame (0-based): (x1, y1, x2, y2)}} in video pixels (MOT gt is 1-based)."""
    out: dict[int, dict[int, tuple[float, float, float, float]]] = {}
    for row in np.loadtxt(seq.gt, delimiter=",", ndmin=2):
        x, y, w, h = (float(v) * seq.scale for v in row[2:6])
        out.setdefault(int(row[1]), {})[int(row[0]) - 1] = (x, y, x + w, y + h)
    return out


@pytest.fixture(scope="session")
def models():
    from models.loader import ModelSet

    ms = ModelSet()
    ms.detector, ms.reid  # noqa: B018 - load both once for the session
    return ms


@pytest.fixture(scope="session")
def indexed(tmp_path_factory: pytest.TempPathFactory, models):
    """A library with PETS09-S2L1 and TUD-Campus indexed with the default settings (read-only use)."""
    from pipeline.indexer import index_video
    from pipeline.storage import Library

    library = Library(tmp_path_factory.mktemp("indexed") / "library.db")
    for seq in (pets(), tud()):
        for _ in index_video(seq.video, library, models):
            pass
    return library


@pytest.fixture(scope="session")
def tud_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TUD-Campus alone, indexed through the command line (read-only use; a few seconds)."""
    import subprocess
    import sys

    db = tmp_path_factory.mktemp("tud_cli") / "lib.db"
    p = subprocess.run(
        [sys.executable, "main.py", "index", str(tud().video), "--db", str(db), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    return db


@pytest.fixture
def frame_of():
    """Decode frame k of a video (BGR)."""
    from pipeline.video import read_frame

    return read_frame


TINY_SEQUENCES = ("MOT17-05-FRCNN", "MOT17-09-FRCNN", "MOT17-11-FRCNN")


@pytest.fixture(scope="session")
def tiny_market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Market training layout cut from three MOT17 sample sequences (17 people)."""
    from pipeline.reid_training.mot_market import write_market_from_mot

    out = tmp_path_factory.mktemp("market")
    write_market_from_mot([asset(f"mot17_mini/{s}") for s in TINY_SEQUENCES], out)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_market: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Two epochs on the tiny set (seconds): the model and its card."""
    from models.reid_training.loop import TrainConfig
    from pipeline.reid_training.dataset import load_market_train
    from pipeline.reid_training.job import TrainingJob

    out = tmp_path_factory.mktemp("trained") / "tiny.onnx"
    config = TrainConfig(epochs=2, ids_per_batch=4, images_per_id=2, lr=1e-3, warmup_epochs=0)
    job = TrainingJob(load_market_train(tiny_market), asset("reid/osnet_x0_25_msmt17.onnx"), out, config)
    for _ in job.run():
        pass
    return out, job.finish()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for this test session (see tests/pg_server.py)."""
    from tests.pg_server import PostgresServer

    try:
        import psycopg  # noqa: F401

        server = PostgresServer()
    except (ImportError, FileNotFoundError) as e:
        if os.environ.get("SPOTTER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (SPOTTER_REQUIRE_POSTGRES=1) but cannot run: {e}")
        pytest.skip(f"no PostgreSQL: {e}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def library_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's library lives: an SQLite file, then a fresh PostgreSQL database (same tests)."""
    if request.param == "sqlite":
        return str(tmp_path / "lib.db")
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def library(library_db: str):
    """A library for the test, on an SQLite file and then on a PostgreSQL database."""
    from pipeline.storage import Library

    return Library(library_db)
