"""``bench.children.watch_index``: the benchmarks' one way to run ``main.py index`` while reading its
memory, and to kill it part way as a crash would (the hour-long bench's resume test)."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from bench.children import watch_index
from bench.long_video import progress
from bench.sequences import ASSETS

TUD = ASSETS / "mot15" / "TUD-Campus" / "TUD-Campus.mp4"


def _indexing(db: Path) -> list[psutil.Process]:
    """Live `main.py index` processes writing to ``db``."""
    out = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = p.info["cmdline"] or []
        if "index" in cmd and str(db) in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            out.append(p)
    return out


def test_a_watched_run_reports_its_memory_to_the_end(tmp_path: Path) -> None:
    samples: list[tuple[float, float]] = []

    def sample(seconds: float, rss: float) -> bool:
        samples.append((seconds, rss))
        return True

    db = tmp_path / "lib.db"
    assert watch_index(TUD, db, 0.1, sample) is True
    assert samples, "no memory reading while it ran"
    assert max(rss for _, rss in samples) > 100  # Python with numpy, ONNX Runtime and the models loaded
    assert [s for s, _ in samples] == sorted(s for s, _ in samples)
    done, total = progress(db)
    assert total > 0 and done == total


def test_a_killed_run_leaves_no_process_and_the_next_run_completes(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    assert watch_index(TUD, db, 0.1, lambda seconds, rss: False) is False
    assert not _indexing(db), "the killed index process is still running"
    assert watch_index(TUD, db, 0.1, lambda seconds, rss: True) is True
    done, total = progress(db)
    assert total > 0 and done == total


def test_a_failed_run_raises_with_its_error(tmp_path: Path) -> None:
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_bytes(b"this is not a video")
    with pytest.raises(RuntimeError) as e:
        watch_index(not_a_video, tmp_path / "lib.db", 0.1, lambda seconds, rss: True)
    assert "notes.mp4" in str(e.value)


def test_a_run_that_writes_more_errors_than_a_pipe_holds_ends_and_raises(tmp_path: Path) -> None:
    """500 unreadable files give about 120 KB of error lines: more than a pipe holds (64 KiB). Read
    only at the end, they would stall the child until the watcher gave up (here: after 120 s)."""
    folder = tmp_path / "exported"
    folder.mkdir()
    for k in range(500):
        (folder / f"camera_export_with_a_long_file_name_{k:04d}.mp4").write_text("not a video")
    waited: list[float] = []

    def patient(seconds: float, rss: float) -> bool:
        waited.append(seconds)
        return seconds < 120

    with pytest.raises(RuntimeError) as e:
        watch_index(folder, tmp_path / "lib.db", 0.2, patient)
    assert "not a video FFmpeg can read" in str(e.value)
    assert "camera_export_with_a_long_file_name_0499.mp4" in str(e.value)  # the end of the output
