"""Indexing on a real local Ray cluster (2 CPUs): the same library as indexing one video at a time,
on SQLite and on PostgreSQL, also when a worker is killed mid-video; and the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.sequences import cut
from models.loader import ModelConfig
from pipeline.indexer import IndexConfig, index_video
from pipeline.search import SearchConfig, Searcher
from pipeline.storage import Library
from tests.conftest import pets, tud
from tests.test_shared_library import cli, videos_json

pytestmark = pytest.mark.xdist_group("ray")  # one local Ray cluster at a time (tests/conftest.py)

if os.environ.get("SPOTTER_REQUIRE_RAY") == "1":  # .ci/run: Ray is installed (--cluster); never skip
    import ray
else:
    ray = pytest.importorskip("ray")

CONFIG = IndexConfig(chunk_s=2.0)  # small chunks: a killed worker leaves some committed


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [
        cut(pets().video, folder / "pets_a.mp4", 0, 150),
        cut(pets().video, folder / "pets_b.mp4", 400, 120),
        tud().video,
    ]


@pytest.fixture(scope="module")
def one_by_one(clips: list[Path], models, tmp_path_factory: pytest.TempPathFactory) -> Library:
    library = Library(tmp_path_factory.mktemp("ref") / "ref.db")
    for clip in clips:
        for _ in index_video(clip, library, models, CONFIG):
            pass
    return library


@pytest.fixture(scope="module")
def cluster():
    from pipeline.distributed.ray_index import start_ray

    start_ray("local", 2)
    yield
    ray.shutdown()


def contents(library: Library, models, query: np.ndarray) -> tuple[dict, list]:
    """Per video (by file name): status and every track's frames and path; and the search hits."""
    per_video = {}
    for v in library.videos():
        tracks = library.video_tracks(v.video_id)
        per_video[Path(v.path).name] = (
            v.status,
            sorted((t.track_id, t.first_frame, t.last_frame, t.path.round(3).tobytes()) for t in tracks),
        )
    hits = Searcher(library, models).search(query, save=False).hits
    return per_video, [(Path(h.video_path).name, h.track_id, round(h.score, 4)) for h in hits]


def run_job(clips: list[Path], library: Library, kill_one: bool = False) -> list:
    from pipeline.distributed.ray_index import RayIndexJob

    job = RayIndexJob(clips, library, ModelConfig(device="cpu"), CONFIG, workers=2)
    updates, killed = [], False
    for p in job.run():
        updates.append(p)
        if kill_one and not killed:
            live = ray.get(job.board.snapshot.remote())
            busy = [(v, pid) for v, (done, total, pid, *_) in live.items() if 0 < done < total * 0.8]
            if busy:
                os.kill(busy[0][1], signal.SIGKILL)  # the worker process dies mid-video
                killed = True
    assert not kill_one or killed
    return updates


@pytest.mark.parametrize(
    "library_db, kill_one",
    [("sqlite", False), ("postgresql", True)],  # a worker killed mid-video, on the shared library
    ids=["sqlite", "postgresql-worker-killed"],
    indirect=["library_db"],
)
def test_a_ray_job_gives_the_library_of_one_by_one(
    cluster, clips, one_by_one, models, frame_of, library_db: str, kill_one: bool
) -> None:
    library = Library(library_db)
    updates = run_job(clips, library, kill_one)
    assert updates[-1].videos_done == 3 and all(u.finished.stage == "done" for u in updates if u.finished)
    assert any(u.retried for u in updates) == kill_one
    query = frame_of(tud().video, 40)[100:400, 300:420]
    assert contents(library, models, query) == contents(one_by_one, models, query)


def test_the_cli_indexes_on_ray_as_a_user_runs_it(clips, tmp_path: Path, frame_of) -> None:
    """`main.py index ... --ray local --workers 2`, then `videos --json` and `search --json`: the same
    as indexing the same videos one by one."""
    videos = [str(c) for c in clips]
    p = cli("index", *videos, "--db", str(tmp_path / "ray.db"), "--ray", "local", "--workers", "2")
    assert p.returncode == 0, p.stderr[-3000:]
    assert cli("index", *videos, "--db", str(tmp_path / "one.db"), "--quiet").returncode == 0
    on_ray, alone = videos_json(str(tmp_path / "ray.db")), videos_json(str(tmp_path / "one.db"))
    assert {k: (v["status"], v["tracks"]) for k, v in on_ray.items()} == {
        k: (v["status"], v["tracks"]) for k, v in alone.items()
    }
    query = tmp_path / "q.jpg"
    cv2.imwrite(str(query), frame_of(tud().video, 40)[100:400, 300:420])

    def hits(db: str) -> list:
        out = cli("search", "--query", str(query), "--db", db, "--json")
        assert out.returncode == 0, out.stderr
        return [(Path(h["video"]).name, h["track_id"], h["score"]) for h in json.loads(out.stdout)["hits"]]

    assert hits(str(tmp_path / "ray.db")) == hits(str(tmp_path / "one.db"))


def test_workers_without_ray_is_a_clear_error(tmp_path: Path) -> None:
    p = cli("index", str(tud().video), "--db", str(tmp_path / "x.db"), "--workers", "2")
    assert p.returncode == 2 and "--ray" in p.stderr and "Traceback" not in p.stderr


def test_a_cluster_that_does_not_answer_is_one_clear_line(tmp_path: Path) -> None:
    """Ray would retry for minutes; Spotter says at once that nothing answers at that address."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nothing listens on it after the with
    p = cli(
        "index", str(tud().video), "--db", str(tmp_path / "x.db"), "--ray", f"127.0.0.1:{port}", timeout=60
    )
    assert p.returncode == 2 and "cannot reach the Ray cluster" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_cancelling_a_ray_job_keeps_what_finished_and_resumes(
    cluster, clips, one_by_one, models, frame_of, tmp_path: Path
) -> None:
    """Ctrl-C (``cancel``) stops the workers at their next batch: a finished video stays done, a
    video in progress stays as 'partial' with its checkpoint, and the next job completes the library."""
    from pipeline.distributed.ray_index import RayIndexJob

    library = Library(tmp_path / "lib.db")
    job = RayIndexJob(clips, library, ModelConfig(device="cpu"), CONFIG, workers=2)
    stages = []
    for p in job.run():
        if p.finished is not None:
            stages.append(p.finished.stage)
            job.cancel()  # after the first video is done
    assert stages[0] == "done" and "cancelled" in stages
    statuses = sorted(v.status for v in library.videos())
    assert statuses.count("done") >= 1 and "partial" in statuses
    assert all(u.finished.stage in ("done", "skipped") for u in run_job(clips, library) if u.finished)
    query = frame_of(tud().video, 40)[100:400, 300:420]
    assert contents(library, models, query) == contents(one_by_one, models, query)


def frame_f1(library: Library, models, query: np.ndarray, truth: set[int]) -> float:
    """F1 of the frames the hits cover against the frames the person is in, by the search rule before
    ``SearchConfig.one_place``: that rule drops a look-alike beside the person only where the person
    ranks first, and a look-alike split at a segment boundary has more crops, so more chances of a
    lucky one (person 19: the look-alike at 0.789 above them at 0.749 in the split library, below
    them in the whole one); with it the whole run gains 0.42 F1 on that person and the split run
    nothing (means 0.872 and 0.818). This test compares the indexing, not that rule."""
    hits = Searcher(library, models, SearchConfig(one_place=False)).search(query, save=False).hits
    found = {f for h in hits for f in range(h.start_frame, h.end_frame + 1)}
    right = len(found & truth)
    return 2 * right / (len(found) + len(truth)) if found or truth else 1.0


def test_a_long_video_split_in_segments_finds_what_the_whole_run_finds(
    cluster, models, frame_of, tmp_path: Path
) -> None:
    """The first 40 s of PETS09-S2L1 in four 10 s segments on two workers, stitched: every
    ground-truth person in them, searched with their tallest crop, is found at about the same moments
    as after one unsplit run (mean frame F1 within 0.05), with about as many tracks (at most two more
    per boundary; measured 14 against 15, F1 0.851 against 0.825). The whole 80 s in four 20 s
    segments measured 0.794 against 0.826, and 0.818 against 0.850 on 2026-12-01, 29 tracks
    against 25."""
    from pipeline.distributed.ray_index import RayIndexJob

    video = cut(pets().video, tmp_path / "pets_40s.mp4", 0, 400)
    whole = Library(tmp_path / "whole.db")
    for _ in index_video(video, whole, models, IndexConfig()):
        pass
    split = Library(tmp_path / "split.db")
    job = RayIndexJob([video], split, ModelConfig(device="cpu"), IndexConfig(), 2, segment_s=10)
    for _ in job.run():
        pass
    (w,), (s,) = whole.videos(), split.videos()
    assert s.status == "done" and s.frame_count == w.frame_count
    assert json.loads(s.report_json)["segments"] == 4
    assert w.tracks - 3 <= s.tracks <= w.tracks + 2 * 3  # stitching may also join what one run left apart
    gt = np.loadtxt(pets().gt, delimiter=",")
    gt = gt[gt[:, 0] <= 400]  # MOT frames count from 1
    scores = {"whole": [], "split": []}
    for person in sorted(set(gt[:, 1].astype(int))):
        rows = gt[gt[:, 1] == person]
        row = rows[np.argmax(rows[:, 5])]
        x, y, bw, bh = (row[2:6] * pets().scale).round().astype(int)
        query = frame_of(pets().video, int(row[0]) - 1)[y : y + bh, x : x + bw]
        truth = set((rows[:, 0] - 1).astype(int).tolist())
        scores["whole"].append(frame_f1(whole, models, query, truth))
        scores["split"].append(frame_f1(split, models, query, truth))
    differ = sum(abs(a - b) > 0.05 for a, b in zip(scores["whole"], scores["split"]))
    print(
        f"tracks whole {w.tracks} split {s.tracks}; mean frame F1 whole {np.mean(scores['whole']):.3f} "
        f"split {np.mean(scores['split']):.3f}; people found differently: {differ} of {len(scores['whole'])}"
    )
    assert np.mean(scores["split"]) >= np.mean(scores["whole"]) - 0.05, scores


def test_a_known_content_is_not_indexed_again_and_a_bad_file_does_not_stop_the_job(
    cluster, tmp_path: Path
) -> None:
    """On an SQLite library the driver makes the start decision, as a local run does: a copy of an
    indexed video under another name is listed with it instead of indexed twice (no duplicate hits),
    and a file that is not a video fails alone, in one line, while the job goes on."""
    import shutil

    from pipeline.distributed.ray_index import RayIndexJob

    library = Library(tmp_path / "lib.db")
    run_job([tud().video], library)
    copy = tmp_path / "Entrance_copy.mp4"
    shutil.copy(tud().video, copy)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 1000)
    job = RayIndexJob([copy, junk], library, ModelConfig(device="cpu"), CONFIG, workers=2)
    outcomes = {Path(p.finished.video).name: p.finished for p in job.run() if p.finished}
    assert (
        outcomes["Entrance_copy.mp4"].stage == "skipped"
        and "same content" in outcomes["Entrance_copy.mp4"].message
    )
    assert outcomes["junk.mp4"].stage == "failed" and "\n" not in outcomes["junk.mp4"].message
    (video,) = library.videos()
    assert video.aliases == (str(copy.resolve()),)


def test_two_copies_in_one_job_are_indexed_once(cluster, tmp_path: Path) -> None:
    """Two copies of a recording given to one job, neither indexed before: the driver's decision for
    the second sees the first registered (being indexed), so the second is listed with it, not
    indexed by another worker at the same time (every hit twice)."""
    import shutil

    from pipeline.distributed.ray_index import RayIndexJob

    library = Library(tmp_path / "lib.db")
    copies = [tmp_path / "cam_a.mp4", tmp_path / "cam_b.mp4"]
    for copy in copies:
        shutil.copy(tud().video, copy)
    job = RayIndexJob(copies, library, ModelConfig(device="cpu"), CONFIG, workers=2)
    stages = sorted((p.finished.stage, "same content" in p.finished.message) for p in job.run() if p.finished)
    assert stages == [("done", False), ("skipped", True)]
    (video,) = library.videos()
    assert video.status == "done" and len(video.aliases) == 1
    assert {video.path, *video.aliases} == {str(c.resolve()) for c in copies}


def test_ctrl_c_stops_a_ray_job_keeps_what_finished_and_the_next_run_completes(tmp_path: Path) -> None:
    """A real SIGINT to `main.py index --ray local` after the first video is done: exit 130, the
    finished video kept, the other 'partial'; indexing again finishes it under the same video id."""
    import signal
    import subprocess
    import sys

    from models.providers import cuda_device_name
    from tests.conftest import ROOT

    if cuda_device_name() is not None:
        pytest.skip("this machine's CUDA works: the GPU declared to Ray would be a real one")

    db = str(tmp_path / "lib.db")
    longer = cut(pets().video, tmp_path / "pets_30s.mp4", 0, 300)  # still indexing when TUD-Campus is done
    videos = [str(longer), str(tud().video)]
    args = [sys.executable, "main.py", "index", *videos, "--db", db, "--ray", "local", "--workers", "2"]
    proc = subprocess.Popen(args, cwd=ROOT, env=os.environ.copy(), stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.startswith("done:"):
            break
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    before = videos_json(db)
    assert before["TUD-Campus.mp4"]["status"] == "done"
    assert before[longer.name]["status"] == "partial"
    assert cli("index", *videos, "--db", db, "--ray", "local", "--workers", "2").returncode == 0
    after = videos_json(db)
    assert {k: v["status"] for k, v in after.items()} == {"TUD-Campus.mp4": "done", longer.name: "done"}
    assert {k: v["id"] for k, v in after.items()} == {k: v["id"] for k, v in before.items()}


GPU_JOB = """
import json, logging, os, sys
import ray
from models.loader import ModelConfig
from pipeline.distributed.ray_index import ROOT, RayIndexJob
from pipeline.errors import SpotterError
from pipeline.indexer import IndexConfig
from pipeline.storage import Library

device, video, db = sys.argv[1:4]
env = {"PYTHONPATH": str(ROOT), "SPOTTER_MODELS": os.environ.get("SPOTTER_MODELS", "")}
ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False,
         runtime_env={"env_vars": env})
warnings = []
logging.getLogger("pipeline.distributed.ray_index").addHandler(
    type("H", (logging.Handler,), {"emit": lambda self, r: warnings.append(r.getMessage())})()
)
library = Library(db)
try:
    *_, last = RayIndexJob([video], library, ModelConfig(device=device), IndexConfig(), workers=1).run()
    result = {"status": [v.status for v in library.videos()], "warnings": warnings, "hardware": last.hardware}
except SpotterError as e:
    result = {"error": str(e), "videos": len(library.videos())}
print(json.dumps(result))
"""


def test_a_gpu_the_models_cannot_use_is_said_and_the_job_runs_on_cpus(clips, tmp_path: Path) -> None:
    """A cluster that lists a GPU its workers cannot run the models on (a node without
    onnxruntime-gpu or a driver; here a GPU declared to Ray on a machine without CUDA): with device
    auto the job says why and indexes on a CPU worker; with device cuda it stops with that reason
    before indexing anything."""
    import subprocess
    import sys

    from models.providers import cuda_device_name
    from tests.conftest import ROOT

    if cuda_device_name() is not None:
        pytest.skip("this machine's CUDA works: the GPU declared to Ray would be a real one")

    def job(device: str) -> dict:
        db = tmp_path / f"{device}.db"
        p = subprocess.run(
            [sys.executable, "-c", GPU_JOB, device, str(clips[2]), str(db)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr[-2000:]
        # the job's answer is its last JSON line: Ray's own log lines (a worker it killed while
        # shutting down, "(raylet) A worker died...") may come after it on stdout
        return json.loads([line for line in p.stdout.splitlines() if line.startswith("{")][-1])

    auto = job("auto")
    assert auto["status"] == ["done"]
    assert any("GPU" in w and "CUDA" in w and "indexing on CPUs" in w for w in auto["warnings"]), auto
    assert auto["hardware"] == "Ray: 1 worker, on CPUs (the cluster's GPU cannot run the models)"
    cuda = job("cuda")
    assert "cannot use it" in cuda["error"] and "CUDA" in cuda["error"] and cuda["videos"] == 0, cuda


def test_a_folder_that_gained_images_is_indexed_on_by_a_ray_job(
    cluster, models, tmp_path: Path, library_db: str
) -> None:
    """A camera's upload folder indexed, a track marked, then six snapshots added and the folder given
    to a Ray job (as a long one: ``segment_s`` below its length): the job goes on from what was indexed,
    as one task, and the library holds the tracks of the whole folder with the mark on its track."""
    from pipeline.distributed.ray_index import RayIndexJob
    from tests.test_folder_growth import _marked_case, _tracks, uploads
    from tests.test_image_sequence import tud_frames

    upload = uploads(tmp_path, tud_frames(5))  # TUD-Campus at 5 fps: 15 snapshots, 3 s
    whole = Library(tmp_path / "whole.db")
    list(index_video(tmp_path / "camera", whole, models, CONFIG))
    upload(0, 9)
    library = Library(library_db)
    list(index_video(tmp_path / "cam", library, models, CONFIG))
    (video,) = library.videos()
    crossing = max(library.video_tracks(video.video_id), key=lambda t: (t.last_frame, -t.first_frame))
    _marked_case(library, crossing.pk)
    upload(9, 15)
    job = RayIndexJob([tmp_path / "cam"], library, ModelConfig(device="cpu"), CONFIG, 1, segment_s=1.0)
    (outcome,) = [p.finished for p in job.run() if p.finished]
    assert outcome.stage == "done" and outcome.frames == 15
    (video,) = library.videos()
    assert video.status == "done" and "segments" not in json.loads(video.report_json)
    assert _tracks(library) == _tracks(whole)
    assert library.case("gate").marked("confirmed") == (crossing.pk,)
