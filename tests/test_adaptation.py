"""Adapting the ReID model to a library: pseudo-identities from its tracks (co-occurring people never
merged), the errors of a library too small to adapt on, and re-embedding (killed half-way: still
searchable with the old model; resumed: switched, and the library's model used by default)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, copy_library
from tests.test_cli import cli

pytest.importorskip("torch")


def test_adaptation_needs_usable_tracks(indexed, tmp_path: Path) -> None:
    from pipeline.reid_training.library_set import AdaptationError, AdaptConfig, library_training_set

    lib_path = copy_library(indexed.db_path, tmp_path / "lib.db")
    from pipeline.storage import Library

    lib = Library(lib_path)
    with pytest.raises(AdaptationError, match="no track long and clean enough"):
        library_training_set(
            lib, "osnet_x0_25_msmt17.onnx", config=replace(AdaptConfig(), min_observations=10**6)
        )
    lib.close()
    Library(tmp_path / "empty.db").close()  # a library with nothing indexed
    p = cli("adapt-reid", "--db", str(tmp_path / "empty.db"), "--out", str(tmp_path / "a.onnx"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "has no indexed video to adapt on" in p.stderr
    assert not (tmp_path / "a.onnx").exists()
    p = cli("adapt-reid", "--db", str(lib_path), "--video", "1", "999", "--out", str(tmp_path / "a.onnx"))
    assert p.returncode == 2 and "--video: 999 is not a video of the library" in p.stderr


def test_library_training_set_pseudo_identities(indexed, tmp_path: Path) -> None:
    from pipeline.reid_training.library_set import co_occur, library_training_set
    from pipeline.storage import Library

    lib = Library(copy_library(indexed.db_path, tmp_path / "lib.db"))
    data, stats = library_training_set(lib, "osnet_x0_25_msmt17.onnx")
    assert (
        stats["videos"] == 2
        and stats["pseudo_identities"] >= 10
        and len(data) >= 10 * stats["pseudo_identities"]
    )
    assert data.images.shape[1:] == (256, 128, 3)
    assert set(np.unique(data.cams)) == {v.video_id for v in lib.videos()}
    # no pseudo-identity holds two tracks seen at the same time in one video
    from pipeline.reid_training.library_set import Candidate

    tracks = [t for v in lib.videos() for t in lib.video_tracks(v.video_id)]
    a = Candidate((1, 1), (tracks[0],), np.zeros(2))
    assert co_occur(a, a)
    lib.close()


REEMBED_SCRIPT = """
import sys, time
from pathlib import Path
from models.reid import ReidEmbedder
from pipeline.reid_training.reembed import reembed_library
from pipeline.storage import Library
lib = Library(Path(sys.argv[1]))
for ev in reembed_library(lib, ReidEmbedder(Path(sys.argv[2])), Path(sys.argv[2]).name):
    print("skipped" if ev.skipped else "switched" if ev.switched else "done", ev.done, flush=True)
    if sys.argv[3] == "stop-half":
        time.sleep(600)
"""


def search_hits(db: Path, photo: Path) -> list[tuple[int, float]]:
    p = cli("search", "--db", str(db), "--query", str(photo), "--json")
    assert p.returncode == 0, p.stderr
    return [(h["track_id"], round(h["score"], 4)) for h in json.loads(p.stdout)["hits"]]


def test_reembed_killed_half_way_keeps_the_old_model_then_resumes_and_switches(
    indexed, tiny_model: tuple[Path, dict], tmp_path: Path, frame_of
) -> None:
    from tests.conftest import pets
    from tests.test_cli import gt_crop

    model, _ = tiny_model
    db = copy_library(indexed.db_path, tmp_path / "lib.db")
    photo = gt_crop(tmp_path, frame_of, pets(), 1, 554)
    before = search_hits(db, photo)
    assert before
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", REEMBED_SCRIPT, str(db), str(model), "stop-half"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout.readline().split() == ["done", "1"]  # type: ignore[union-attr]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert search_hits(db, photo) == before  # half re-embedded: the old model's search, unchanged
    p = subprocess.run(
        [sys.executable, "-c", REEMBED_SCRIPT, str(db), str(model), "run"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert p.stdout.split("\n")[:3] == ["skipped 1", "done 2", "switched 2"], p.stderr
    after = search_hits(db, photo)  # the library's own model now, with no --reid-model
    assert after and after != before
    d = cli("doctor", "--db", str(db))
    assert d.returncode == 0 and f"library ReID model: tiny.onnx ({model.resolve()}" in d.stdout
    assert f"reid: {model.resolve()}" in d.stdout
    assert cli("doctor", "--db", str(tmp_path / "none.db")).returncode == 0
    assert not (tmp_path / "none.db").exists()  # doctor looks, never creates a library
    p = cli("search", "--db", str(db), "--query", str(photo), "--reid-model", "reid/osnet_x0_25_msmt17.onnx")
    assert p.returncode == 2 and "indexed with the ReID model tiny.onnx" in p.stderr
    model.with_name("moved.onnx").write_bytes(model.read_bytes())
    moved = model.rename(model.with_name("gone.onnx"))
    try:
        p = cli("search", "--db", str(db), "--query", str(photo))
        assert p.returncode == 2 and "which is missing" in p.stderr and p.stderr.count("\n") == 1
    finally:
        moved.rename(model)


def test_confident_merges_never_join_people_seen_together(indexed) -> None:
    from pipeline.reid_training.library_set import Candidate, merge_confident

    tracks = {t.track_id: t for t in indexed.video_tracks(indexed.videos()[0].video_id)}
    by_start = sorted(tracks.values(), key=lambda t: t.start_s)
    a = by_start[0]
    together = next(t for t in by_start[1:] if t.start_s <= a.end_s)  # on screen with a
    apart = next(t for t in by_start if t.start_s > a.end_s + 1)  # only after a left
    v = np.array([1.0, 0.0])
    w = np.array([0.0, 1.0])
    cands = [Candidate((1, 1), (a,), v), Candidate((1, 2), (together,), v)]
    assert merge_confident(cands, 0.85).tolist() == [0, 1]  # alike, but seen at the same time
    cands = [Candidate((1, 1), (a,), v), Candidate((1, 2), (apart,), v)]
    assert merge_confident(cands, 0.85).tolist() == [0, 0]  # alike and never together: one person
    cands = [Candidate((1, 1), (a,), v), Candidate((1, 2), (apart,), w)]
    assert merge_confident(cands, 0.85).tolist() == [0, 1]  # not alike enough
