"""Index many videos on a Ray cluster: ``main.py index VIDEOS... --ray local|ADDRESS [--workers N]``.

Ray does the scheduling, placement and process supervision; this module only says what runs where:

- One :class:`~pipeline.distributed.worker.IndexWorker` actor per worker (the models load once per
  worker). Where the cluster has GPUs, up to one worker per GPU asks for ``num_gpus=1`` and runs its
  models on CUDA; the others ask for one CPU and run on the CPU. A GPU worker is asked first whether
  its models can run on CUDA there (a node may list a GPU without onnxruntime-gpu or a driver): if
  not, the job says why and runs on CPU workers (with ``device="cuda"`` it stops with that error).
- Videos are handed to whichever worker is free (longest first, so the job does not end waiting for
  one long file). A worker that dies (kill -9, a lost node) fails its call with ``RayActorError``:
  the video goes back in the queue for another (new) worker, up to ``MAX_ATTEMPTS`` times. Nothing is
  stored twice: on a server library the retry resumes the dead worker's committed chunks under the
  per-video lock; for an SQLite library the dead worker's private library is lost with it, and the
  driver copies in only a finished (or cancelled) video, replacing any copy of it.
- On an SQLite library the driver makes each video's start decision first (skip it unchanged, list a
  copy of known content with its twin, resume, or start afresh) and seeds the worker's private library
  with it; on a server each worker decides under the video's lock. A long video is split into segments
  that several workers index at once and the driver stitches (:mod:`pipeline.distributed.long_video`).
- The driver yields one :class:`JobProgress` per update (all videos together: one bar; per video for
  the app's rows). ``cancel()`` stops the workers at their next batch, ``cancel_video()`` one video:
  what finished is kept, a cancelled video is kept as ``partial`` and resumes when indexed again.

Videos and model files must be reachable at the same paths on every node (a shared folder), and
Spotter installed at the same path (workers import it from there: ``PYTHONPATH``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import ModelError, first_line
from models.loader import ModelConfig
from models.validation import Range
from pipeline.distributed.long_video import SEGMENT_S, SegmentedVideo, plan_video
from pipeline.distributed.stitch import StitchConfig
from pipeline.distributed.worker import IndexWorker, ProgressBoard, VideoOutcome
from pipeline.errors import SpotterError
from pipeline.indexer import IndexConfig
from pipeline.storage import Library

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
RAY_RULES = {"workers": Range(1, 4096, integer=True), "segment_s": Range(0.0, 86_400.0)}
CPUS_PER_WORKER = 1  # cores a CPU worker asks Ray for, and the threads its models may use
CONNECT_TIMEOUT_S = 5.0  # how long a cluster address may take to answer before the job gives up
MAX_ATTEMPTS = 3  # tries of one video before the job reports it failed (workers that died under it)
POLL_S = 0.25  # how often the driver collects finished videos and progress
PROBE_TIMEOUT_S = 120.0  # how long a GPU worker may take to start and say whether CUDA runs there


class ClusterError(SpotterError):
    """The Ray cluster cannot be started or reached, or Ray is not installed."""


@dataclass(frozen=True)
class Task:
    """One unit of work: a whole video, or one segment (by index) of a long one."""

    video: Path
    segment: int | None = None
    attempt: int = 1


@dataclass(frozen=True)
class JobProgress:
    """The whole job: frames done of all videos, videos finished, and the outcome just finished."""

    frames_done: int
    frames_total: int
    videos_done: int
    videos_total: int
    workers: int
    finished: VideoOutcome | None = None  # set on the update that reports a finished video
    retried: str = ""  # a video sent to another worker because its worker died
    hardware: str = "Ray"  # what the workers run on, for people ("Ray: 2 workers, on CPUs")
    # video -> (frames done, frames total, tracks so far, seconds of video done)
    per_video: dict[str, tuple[int, int, int, float]] = field(default_factory=dict)


def start_ray(address: str, workers: int | None = None) -> None:
    """Connect to a cluster (``address``) or start one on this machine for the job (``local``: as
    many CPUs as ``workers``, by default this machine's cores)."""
    try:
        import ray
    except ImportError as e:
        raise ClusterError("indexing on Ray needs the cluster extras: ./install.sh --cluster") from e
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    for name in ("SPOTTER_MODELS", "YOLO_OFFLINE", "YOLO_AUTOINSTALL"):
        if name in os.environ:
            env[name] = os.environ[name]
    kwargs = {"runtime_env": {"env_vars": env}, "log_to_driver": False, "logging_level": logging.WARNING}
    if ray.is_initialized():
        return
    if address != "local":
        check_reachable(address)
    try:
        if address == "local":
            cpus = max(workers or os.cpu_count() or 1, 1)
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ClusterError(f"cannot start or reach the Ray cluster {address!r}: {e}") from e


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast, in one line, where a ``HOST:PORT`` cluster address answers nothing (Ray itself
    retries for minutes, logging as it goes)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as e:
        raise ClusterError(
            f"cannot reach the Ray cluster at {address} ({e.strerror or e}); is `ray start --head` "
            "running there, and the port open?"
        ) from e


def _seed(library: Library, path: Path, folder: Path) -> bytes:
    """A private library holding what ``library`` has of this video (its checkpoint, its tracks), so
    the worker decides skip / resume / afresh exactly as a local run would; empty when it has none."""
    if library.video_id(path) is None:
        return b""
    seed = Library(folder / f"seed-{os.getpid()}-{abs(hash(str(path)))}.db")
    seed.copy_video_from(library, str(path))
    seed.close()
    from pipeline.distributed.worker import _sqlite_bytes

    return _sqlite_bytes(seed.db_path)


class RayIndexJob:
    """Index ``videos`` into ``library`` on the connected Ray cluster with ``workers`` actors."""

    def __init__(
        self,
        videos: Sequence[Path],
        library: Library,
        models: ModelConfig,
        config: IndexConfig,
        workers: int | None = None,
        force: bool = False,
        segment_s: float = SEGMENT_S,
    ):
        import ray

        self.ray, self.library, self.force = ray, library, force
        self.segment_s = segment_s or math.inf  # 0: never split
        self.models, self.config = models, config
        self.videos = sorted((Path(v).expanduser().resolve() for v in videos), key=_size, reverse=True)
        workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))  # default: the cluster's CPUs
        self.n_workers = max(1, min(workers, len(self.videos)))
        self.board = ray.remote(ProgressBoard).options(num_cpus=0).remote()
        self._cancel = threading.Event()
        self._dropped: set[str] = set()  # videos cancelled one by one (thread-safe: set.add)
        gpus = int(ray.cluster_resources().get("GPU", 0))
        self._gpu_slots = min(gpus, self.n_workers) if models.device in ("auto", "cuda") else 0
        self._actors: list[object] = []
        self.hardware = "Ray"  # what the workers run on, once they are started

    def cancel(self) -> None:
        """Stop at the workers' next batch (what is committed stays; see the module docstring)."""
        self._cancel.set()
        self.board.cancel.remote()

    def cancel_video(self, video: str | Path) -> None:
        """Stop one video: dropped if it has not started, stopped at its worker's next batch if it
        has (callable from another thread, e.g. the app's)."""
        path = str(Path(video).expanduser().resolve())
        self._dropped.add(path)
        self.board.cancel_video.remote(path)

    def _new_worker(self, gpu: bool) -> object:
        from dataclasses import replace

        server = self.library.location.url if self.library.location.is_server else None
        cfg = replace(self.models, device="cuda" if gpu else "cpu")
        options = {"num_gpus": 1, "num_cpus": 0} if gpu else {"num_cpus": CPUS_PER_WORKER}
        actor = self.ray.remote(IndexWorker).options(max_restarts=0, **options)
        worker = actor.remote(cfg, self.config, server, self.board, 0 if gpu else CPUS_PER_WORKER)
        self._actors.append(worker)  # every worker ever started goes when the job ends, however
        return worker

    def _start_workers(self) -> tuple[list[object], dict[int, bool]]:
        """One actor per worker. The GPU workers are asked (all at once) whether their models run on
        CUDA before any is given work; if one cannot, each GPU worker is replaced by a CPU worker and
        the job says why, or with device ``cuda`` the job stops with that reason. Sets ``hardware``."""
        gpu = [k < self._gpu_slots for k in range(self.n_workers)]
        workers = [self._new_worker(g) for g in gpu]
        probes = {k: workers[k].device.remote() for k, g in enumerate(gpu) if g}
        problem = next((p for p in map(self._without_cuda, probes.values()) if p), None)
        if problem:
            if self.models.device == "cuda":
                raise ModelError(f"the cluster lists a GPU but its worker cannot use it: {problem}")
            log.warning("a GPU of the cluster cannot run the models (%s); indexing on CPUs", problem)
            for k in probes:
                self.ray.kill(workers[k])
                workers[k], gpu[k] = self._new_worker(gpu=False), False
        n, on_gpu = len(workers), sum(gpu)
        self.hardware = f"Ray: {n} worker{'s' * (n != 1)}, " + (f"{on_gpu} on GPU" if on_gpu else "on CPUs")
        if problem:
            self.hardware += " (the cluster's GPU cannot run the models)"
        return workers, {id(w): g for w, g in zip(workers, gpu)}

    def _without_cuda(self, probe: object) -> str | None:
        """Why a GPU worker's models would not run on CUDA (``probe``: its ``device()`` call), or None
        when they do. A worker Ray cannot place within ``PROBE_TIMEOUT_S`` counts as one that cannot."""
        try:
            label = self.ray.get(probe, timeout=PROBE_TIMEOUT_S)
        except self.ray.exceptions.RayError as e:  # the model error inside it, a lost node, a timeout
            return first_line(getattr(e, "cause", None) or e)
        return None if label.startswith("GPU") else f"its models run on the {label}"

    def run(self) -> Iterator[JobProgress]:
        """Index every video; yields progress until the last one is done (or the job cancelled)."""
        try:
            yield from self._schedule()
        finally:  # done, cancelled, failed or closed early: no worker outlives its job
            for worker in self._actors:
                with contextlib.suppress(Exception):
                    self.ray.kill(worker)

    def _schedule(self) -> Iterator[JobProgress]:
        ray = self.ray
        queue: list[Task] = []
        long: dict[Path, SegmentedVideo] = {}
        finished = 0
        decide = not self.library.location.is_server  # on a server, each worker decides for itself
        free, is_gpu = self._start_workers()  # first: a GPU that cannot be used stops before any write
        for video in self.videos:
            plan = plan_video(
                self.library, video, self.models, self.config, self.segment_s, self.force, decide
            )
            if isinstance(plan, VideoOutcome):  # nothing to do (already indexed), or not a video
                finished += 1
                yield self._progress(finished, finished=plan)
            elif plan is not None:
                long[video] = plan
                queue += [Task(video, k) for k in range(len(plan.ranges))]
            else:
                queue.append(Task(video))
        running: dict[object, tuple[object, Task]] = {}
        with tempfile.TemporaryDirectory(prefix="spotter-seeds-") as tmp:
            while queue or running:
                for task in [t for t in queue if str(t.video) in self._dropped]:
                    queue.remove(task)
                    if task.segment is None:
                        finished += 1
                        yield self._progress(finished, finished=_cancelled(task.video))
                while queue and free and not self._cancel.is_set():
                    task, worker = queue.pop(0), free.pop()
                    running[self._submit(worker, task, long, Path(tmp))] = (worker, task)
                if not running:
                    break  # cancelled with videos still queued: they stay for the next run

                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    worker, task = running.pop(ref)
                    try:
                        outcome = ray.get(ref)
                        free.append(worker)
                    except ray.exceptions.RayActorError as e:  # the worker died: replace it
                        gpu = is_gpu.pop(id(worker), False)
                        fresh = self._new_worker(gpu)
                        is_gpu[id(fresh)] = gpu
                        free.append(fresh)
                        if task.attempt < MAX_ATTEMPTS:
                            log.warning("%s: its worker died (%s); trying it again", task.video, e)
                            queue.insert(0, Task(task.video, task.segment, task.attempt + 1))
                            yield self._progress(finished, retried=str(task.video))
                            continue
                        why = f"{MAX_ATTEMPTS} workers died indexing it"
                        outcome = VideoOutcome.without_work(task.video, "failed", why)
                    if task.segment is not None:
                        whole = long[task.video]
                        whole.parts[task.segment] = outcome
                        if not whole.complete:
                            continue
                        outcome = whole.finish(self.library, self.config, StitchConfig())
                    else:
                        self._store(outcome)
                    finished += 1
                    yield self._progress(finished, finished=outcome)
                if not ready:
                    yield self._progress(finished)
            left = [self.library.video_id(t.video) for t in queue if t.segment is None]  # never started
            left += [whole.video_id for whole in long.values() if not whole.complete]
            for vid in (v for v in left if v is not None):  # kept for the next run
                self.library.finish_video(vid, "partial", None, "cancelled; index again")
                finished += 1
                yield self._progress(finished, finished=_cancelled(self.library.video_identity(vid)[0]))

    def _submit(self, worker: object, task: Task, long: dict[Path, SegmentedVideo], tmp: Path) -> object:
        if task.segment is not None:
            whole = long[task.video]
            first, _, end = whole.ranges[task.segment]
            return worker.index.remote(str(task.video), False, b"", (first, end), whole.label(task.segment))
        seed = b"" if self.library.location.is_server else _seed(self.library, task.video, tmp)
        return worker.index.remote(str(task.video), self.force, seed)

    def _store(self, outcome: VideoOutcome) -> None:
        """Copy an SQLite job's finished (or cancelled) video from the worker's private library."""
        if not outcome.library_bytes:
            return
        with tempfile.TemporaryDirectory(prefix="spotter-part-") as tmp:
            part = Path(tmp) / "part.db"
            part.write_bytes(outcome.library_bytes)
            private = Library(part)
            self.library.copy_video_from(private, outcome.stored_path)
            private.close()

    def _progress(self, n_finished: int, **extra: object) -> JobProgress:
        live = self.ray.get(self.board.snapshot.remote())
        per_video: dict[str, tuple[int, int, int, float]] = {}
        for key, (d, t, _, n, spf) in live.items():  # a long video's segments add up
            done, total, tracks, seconds = per_video.get(key.split("@")[0], (0, 0, 0, 0.0))
            per_video[key.split("@")[0]] = (done + d, total + t, tracks + n, seconds + d * spf)
        done, total = sum(v[0] for v in per_video.values()), sum(v[1] for v in per_video.values())
        return JobProgress(
            done,
            total,
            n_finished,
            len(self.videos),
            self.n_workers,
            per_video=per_video,
            hardware=self.hardware,
            **extra,
        )


def _cancelled(video: str | Path) -> VideoOutcome:
    return VideoOutcome.without_work(video, "cancelled", "cancelled")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())
    except OSError:
        return 0
