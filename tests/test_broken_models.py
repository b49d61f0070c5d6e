"""A model file that exists but cannot be loaded (empty, damaged, not a model at all): one clear line,
and the library as it was: an interrupted video keeps its checkpoint and resumes from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.errors import ModelError
from models.loader import ModelConfig, ModelSet
from models.onnx_file import check_onnx_file
from models.reid import ReidConfig
from pipeline.indexer import IndexConfig, index_video
from pipeline.storage import Library
from pipeline.types import Stage
from tests.conftest import tud
from tests.test_bad_input import one_line_error
from tests.test_cli import cli

SMALL_CHUNKS = IndexConfig(chunk_s=0.4)  # TUD-Campus (2.8 s) commits every 10 frames


def broken(tmp_path: Path) -> dict[str, Path]:
    """Model files that exist and are no model: empty, a JPEG, a truncated ONNX file."""
    real = ModelSet().store.resolve(ReidConfig().weights)
    files = {
        "empty": tmp_path / "empty.onnx",
        "a photo": tmp_path / "photo.onnx",
        "cut": tmp_path / "cut.onnx",
    }
    files["empty"].write_bytes(b"")
    shutil.copy(tud().video, files["a photo"])  # any other kind of file
    files["cut"].write_bytes(real.read_bytes()[: real.stat().st_size // 3])
    return files


def interrupted(library: Library, models: ModelSet) -> tuple[int, int]:
    """TUD-Campus indexed part-way (cancelled after three progress events): (frames done, tracks)."""
    seen = []
    for ev in index_video(tud().video, library, models, SMALL_CHUNKS, cancel=lambda: len(seen) >= 3):
        seen.append(ev)
    assert seen[-1].stage == Stage.CANCELLED
    (video,) = library.videos()
    assert video.status == "partial" and 0 < video.frames_done < 71
    return video.frames_done, video.tracks


@pytest.mark.parametrize("kind", ["a photo"])  # (every kind is refused alike: see the file check below)
def test_a_model_that_cannot_load_keeps_the_interrupted_run(tmp_path: Path, models, kind: str) -> None:
    library = Library(tmp_path / "library.db")
    done, tracks = interrupted(library, models)
    bad = ModelSet(ModelConfig(reid=ReidConfig(weights=str(broken(tmp_path)[kind]))))
    with pytest.raises(ModelError):
        for _ in index_video(tud().video, library, bad, SMALL_CHUNKS):
            pass
    (video,) = library.videos()
    assert (video.status, video.frames_done, video.tracks) == ("partial", done, tracks)
    events = list(index_video(tud().video, library, models, SMALL_CHUNKS))
    assert any(ev.reason == "resuming an interrupted run" for ev in events), [ev.reason for ev in events]
    assert events[-1].stage == Stage.DONE


def test_a_finished_video_forced_with_a_broken_model_stays_finished(tmp_path: Path, models) -> None:
    library = Library(tmp_path / "library.db")
    assert list(index_video(tud().video, library, models))[-1].stage == Stage.DONE
    (before,) = library.videos()
    bad = ModelSet(ModelConfig(reid=ReidConfig(weights=str(broken(tmp_path)["a photo"]))))
    with pytest.raises(ModelError):
        for _ in index_video(tud().video, library, bad, force=True):
            pass
    (after,) = library.videos()
    assert (after.status, after.tracks, after.frames_done) == (
        before.status,
        before.tracks,
        before.frames_done,
    )
    assert list(index_video(tud().video, library, models))[-1].stage == Stage.SKIPPED


@pytest.mark.parametrize(
    ("option", "kind"),
    [("--reid-model", "empty"), ("--reid-model", "a photo"), ("--reid-model", "cut"), ("--detector", "cut")],
)
def test_a_model_file_that_is_no_model_is_one_plain_line(tmp_path: Path, option: str, kind: str) -> None:
    model = broken(tmp_path)[kind]
    p = cli("index", str(tud().video), "--db", str(tmp_path / "lib.db"), option, str(model))
    one_line_error(p, model.name)
    assert "ONNXRuntimeError" not in p.stderr and "PROTOBUF" not in p.stderr, p.stderr


def test_the_file_check_takes_every_shipped_model_and_no_cut_or_foreign_file(tmp_path: Path) -> None:
    store = ModelSet().store
    for weights in ("reid/osnet_x0_25_msmt17.onnx", "detector/yolov8n_dynamic.onnx"):
        data = store.resolve(weights).read_bytes()
        check_onnx_file(store.resolve(weights), "model")  # a real model passes
        for cut in (1, 7, 100, len(data) // 2, len(data) - 1):
            (tmp_path / "cut.onnx").write_bytes(data[:cut])
            with pytest.raises(ModelError, match="not an ONNX model"):
                check_onnx_file(tmp_path / "cut.onnx", "model")
    rng = np.random.default_rng(0)
    for k in range(200):  # noise is no model
        (tmp_path / "noise.onnx").write_bytes(rng.integers(0, 256, 64 + k, np.uint8).tobytes())
        with pytest.raises(ModelError, match="not an ONNX model"):
            check_onnx_file(tmp_path / "noise.onnx", "model")
    with pytest.raises(ModelError, match="cannot read"):
        check_onnx_file(tmp_path, "model")  # a folder


def test_model_files_are_checked_without_loading_them(tmp_path: Path) -> None:
    """What a Ray job's head checks before it registers a video (its workers load the models)."""
    ModelSet().check_files()  # the shipped models
    for kind, model in broken(tmp_path).items():
        ms = ModelSet(ModelConfig(reid=ReidConfig(weights=str(model))))
        with pytest.raises(ModelError, match=model.name):
            ms.check_files()
        assert ms._reid is None and ms._detector is None, kind  # nothing was loaded


def test_a_video_indexed_already_is_skipped_without_loading_a_model(tmp_path: Path, models) -> None:
    own = tmp_path / "own_reid.onnx"  # a model of the site's own (not in the manifest)
    shutil.copy(models.reid.weights, own)
    library = Library(tmp_path / "library.db")
    indexing = ModelSet(ModelConfig(reid=ReidConfig(weights=str(own))))
    assert list(index_video(tud().video, library, indexing))[-1].stage == Stage.DONE
    own.write_bytes(b"")  # the same model by its name, whose file would not load now
    unloaded = ModelSet(ModelConfig(reid=ReidConfig(weights=str(own))))
    assert list(index_video(tud().video, library, unloaded))[-1].stage == Stage.SKIPPED
    assert unloaded._reid is None and unloaded._detector is None


def test_a_folder_given_as_a_model_is_said_to_be_a_folder(tmp_path: Path) -> None:
    p = cli("index", str(tud().video), "--db", str(tmp_path / "lib.db"), "--reid-model", str(tmp_path))
    one_line_error(p, "is a folder, not a model file")
