"""Index many videos on a Ray cluster: ``main.py index VIDEOS... --ray local|ADDRESS [--workers N]``.

Ray does the scheduling, placement and process supervision; this module only says what runs where:

- One :class:`~pipeline.distributed.worker.IndexWorker` actor per worker (the models load once per
  worker). Where the cluster has GPUs, up to one worker per GPU asks for ``num_gpus=1`` and runs its
  models on CUDA; the others ask for one CPU and run on the CPU.
- Videos are handed to whichever worker is free (longest first, so the job does not end waiting for
  one long file). A worker that dies (kill -9, a lost node) fails its call with ``RayActorError``:
  the video goes back in the queue for another (new) worker, up to ``MAX_ATTEMPTS`` times. Nothing is
  stored twice: on a server library the retry resumes the dead worker's committed chunks under the
  per-video lock; for an SQLite library the dead worker's private library is lost with it, and the
  driver copies in only a finished (or cancelled) video, replacing any copy of it.
- The driver yields one :class:`JobProgress` per update (all videos together: one bar), and
  ``cancel()`` stops the workers at their next batch: what finished is kept, a cancelled video is
  kept as ``partial`` and resumes when indexed again.

Videos and model files must be reachable at the same paths on every node (a shared folder), and
Spotter installed at the same path (workers import it from there: ``PYTHONPATH``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.loader import ModelConfig
from models.validation import Range
from pipeline.distributed.worker import IndexWorker, ProgressBoard, VideoOutcome
from pipeline.errors import SpotterError
from pipeline.indexer import IndexConfig
from pipeline.storage import Library

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
RAY_RULES = {"workers": Range(1, 4096, integer=True)}
MAX_ATTEMPTS = 3  # tries of one video before the job reports it failed (workers that died under it)
POLL_S = 0.25  # how often the driver collects finished videos and progress


class ClusterError(SpotterError):
    """The Ray cluster cannot be started or reached, or Ray is not installed."""


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


def start_ray(address: str, workers: int) -> None:
    """Connect to a cluster (``address``) or start one on this machine for the job (``local``)."""
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
    try:
        if address == "local":
            ray.init(address="local", num_cpus=max(workers, 1), include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ClusterError(f"cannot start or reach the Ray cluster {address!r}: {e}") from e


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
        workers: int,
        force: bool = False,
    ):
        import ray

        self.ray, self.library, self.force = ray, library, force
        self.models, self.config = models, config
        self.videos = sorted((Path(v).expanduser().resolve() for v in videos), key=_size, reverse=True)
        self.n_workers = max(1, min(workers, len(self.videos)))
        self.board = ray.remote(ProgressBoard).options(num_cpus=0).remote()
        self._cancel = threading.Event()
        gpus = int(ray.cluster_resources().get("GPU", 0))
        self._gpu_slots = min(gpus, self.n_workers) if models.device in ("auto", "cuda") else 0

    def cancel(self) -> None:
        """Stop at the workers' next batch (what is committed stays; see the module docstring)."""
        self._cancel.set()
        self.board.cancel.remote()

    def _new_worker(self, gpu: bool) -> object:
        from dataclasses import replace

        server = self.library.location.url if self.library.location.is_server else None
        cfg = replace(self.models, device="cuda" if gpu else "cpu")
        options = {"num_gpus": 1, "num_cpus": 0} if gpu else {"num_cpus": 1}
        actor = self.ray.remote(IndexWorker).options(max_restarts=0, **options)
        return actor.remote(cfg, self.config, server, self.board)

    def run(self) -> Iterator[JobProgress]:
        """Index every video; yields progress until the last one is done (or the job cancelled)."""
        ray = self.ray
        queue = [(v, 1) for v in self.videos]
        free = [self._new_worker(gpu=k < self._gpu_slots) for k in range(self.n_workers)]
        is_gpu = {id(w): k < self._gpu_slots for k, w in enumerate(free)}
        running: dict[object, tuple[object, Path, int]] = {}
        totals: dict[str, int] = {}
        finished, done_frames = 0, 0
        with tempfile.TemporaryDirectory(prefix="spotter-seeds-") as tmp:
            while queue or running:
                while queue and free and not self._cancel.is_set():
                    video, attempt = queue.pop(0)
                    worker = free.pop()
                    seed = b"" if self.library.location.is_server else _seed(self.library, video, Path(tmp))
                    running[worker.index.remote(str(video), self.force, seed)] = (worker, video, attempt)
                if not running:
                    break  # cancelled with videos still queued: they stay for the next run
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                for ref in ready:
                    worker, video, attempt = running.pop(ref)
                    try:
                        outcome = ray.get(ref)
                        free.append(worker)
                    except ray.exceptions.RayActorError as e:  # the worker died: replace it
                        gpu = is_gpu.pop(id(worker), False)
                        fresh = self._new_worker(gpu)
                        is_gpu[id(fresh)] = gpu
                        free.append(fresh)
                        if attempt < MAX_ATTEMPTS:
                            log.warning("%s: its worker died (%s); trying again on another", video, e)
                            queue.insert(0, (video, attempt + 1))
                            yield self._progress(totals, done_frames, finished, retried=str(video))
                            continue
                        why = f"{MAX_ATTEMPTS} workers died indexing it"
                        outcome = VideoOutcome(str(video), "failed", why, 0, 0, 0)
                    self._store(outcome)
                    finished += 1
                    done_frames += outcome.frames
                    totals[outcome.video] = outcome.frames
                    yield self._progress(totals, done_frames, finished, finished=outcome)
                if not ready:
                    yield self._progress(totals, done_frames, finished)
        for w in free:
            ray.kill(w)

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

    def _progress(
        self, totals: dict[str, int], done_frames: int, n_finished: int, **extra: object
    ) -> JobProgress:
        live = self.ray.get(self.board.snapshot.remote())
        done = done_frames + sum(d for v, (d, _, _) in live.items() if v not in totals)
        total = sum(totals.values()) + sum(t for v, (_, t, _) in live.items() if v not in totals)
        return JobProgress(done, total, n_finished, len(self.videos), self.n_workers, **extra)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())
    except OSError:
        return 0
