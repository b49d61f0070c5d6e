"""Files written whole or not at all: what a killed writer left (kill -9 in the middle of a clip) is
removed by the next writer into that folder, and nothing that may still be in use is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.export import export_track
from pipeline.partial_files import PART_PREFIX, STALE_PART_S, new_part, sweep_parts
from tests.conftest import ROOT, pets


def kill_when_writing(script: str) -> None:
    """Run a Python ``script`` until it prints WRITING, then kill it with SIGKILL (kill -9)."""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "WRITING"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def _aged(path: Path, seconds: float) -> Path:
    path.write_bytes(b"x")
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_only_the_parts_of_writers_gone_are_removed(tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(ended.stdout)
    mine = new_part(tmp_path, ".mp4")
    building = new_part(tmp_path, directory=True)  # a report being built: this process's
    host = mine.name[len(PART_PREFIX) :].rsplit("-", 2)[0]
    dead = tmp_path / f"{PART_PREFIX}{host}-{dead_pid}-abc123.mp4"
    dead.write_bytes(b"x")
    alive = tmp_path / f"{PART_PREFIX}{host}-{os.getppid()}-abc123.mp4"  # the test runner's parent
    alive.write_bytes(b"x")
    # made before this machine last started: its writer's number runs another process now
    machine, boot = host.rsplit("-", 1)
    other_boot = f"{(int(boot, 16) + 1) & 0xFFFFFFFF:08x}"
    reused = _aged(tmp_path / f"{PART_PREFIX}{machine}-{other_boot}-{os.getppid()}-ghi789.mp4", 60)
    far_old = _aged(tmp_path / f"{PART_PREFIX}other.host-{boot}-{dead_pid}-abc123.mp4", STALE_PART_S + 60)
    far_new = _aged(tmp_path / f"{PART_PREFIX}other.host-{boot}-{dead_pid}-def456.mp4", 60)
    legacy_old = _aged(tmp_path / ".spotter-k2j4x_9a.mp4", STALE_PART_S + 60)
    legacy_index = _aged(tmp_path / ".spotter-index-k2j4x_9a", STALE_PART_S + 60)
    legacy_new = _aged(tmp_path / ".spotter-a1b2c3d4.jpg", 60)
    unrelated = [
        _aged(tmp_path / n, STALE_PART_S + 60) for n in (".spotter-settings", "clip.mp4", "x.spotter-case")
    ]
    report = tmp_path / f"{PART_PREFIX}{host}-{dead_pid}-k2j4x_9a"  # a report built half-way
    (report / "clips").mkdir(parents=True)
    (report / "clips" / "a.mp4").write_bytes(b"x")
    assert sweep_parts(tmp_path) == 6
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {p.name for p in (mine, alive, far_new, legacy_new, building, *unrelated)}
    for gone in (dead, reused, far_old, legacy_old, legacy_index, report):
        assert gone.name not in left
    assert sweep_parts(tmp_path / "missing") == 0


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9")
def test_an_export_killed_mid_clip_leaves_nothing_after_the_next(tmp_path: Path, indexed) -> None:
    """An export killed with kill -9 left its hidden part file (a clip of a long hit: megabytes) in
    the evidence folder for good (a sweep). The next export into that folder removes it."""
    tracks = indexed.video_tracks(indexed.video_id(pets().video))
    track = max(tracks, key=lambda t: t.last_frame - t.first_frame)
    out = tmp_path / "evidence"
    out.mkdir()
    script = textwrap.dedent(f"""
        import time
        from pipeline.export import iter_export_track
        from pipeline.storage import Library
        track = Library({str(indexed.db_path)!r}).tracks([{track.pk}])[{track.pk}]
        steps = iter_export_track(track, {str(out / "first.mp4")!r}, annotate=True)
        for _ in range(20):
            next(steps)
        print("WRITING", flush=True)
        time.sleep(600)
    """)
    kill_when_writing(script)
    (part,) = out.iterdir()
    assert part.name.startswith(PART_PREFIX) and part.stat().st_size > 0
    export_track(track, out / "second.mp4")
    assert sorted(p.name for p in out.iterdir()) == ["second.jpg", "second.mp4"]
