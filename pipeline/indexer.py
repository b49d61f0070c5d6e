"""Index a video: detect people, track them, embed each track from its best crops, store it all.

:func:`index_video` is a generator of :class:`ProgressEvent` that checks a cancel flag between
batches, so a CLI progress bar and a GUI worker thread drive it the same way. Work is committed in
chunks (tracks finished so far + a checkpoint of the tracker), so a crash or Ctrl-C loses at most the
chunk in flight and the next run resumes from the checkpoint; a cancel commits what is done first.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from models.loader import ModelSet
from models.validation import Range, check_fields
from pipeline.appearance import AppearanceConfig
from pipeline.calibration import calibrate_video
from pipeline.camera_motion import CameraMotionConfig
from pipeline.cameras import guess_camera, guess_start
from pipeline.detection_plan import DetectionPlanConfig
from pipeline.errors import SpotterError
from pipeline.index_report import ReportConfig
from pipeline.index_run import IndexRun, content_checks
from pipeline.linking import LinkConfig, link_tracks
from pipeline.mark_matching import drop_stale
from pipeline.motion import MotionConfig
from pipeline.storage import Library
from pipeline.tracking import TrackerConfig
from pipeline.types import ProgressEvent, Stage
from pipeline.upright import square_scale
from pipeline.video import Frame, VideoInfo, VideoReader, probe

log = logging.getLogger(__name__)


INDEX_RULES = {
    "min_gap_s": Range(0.0, 60.0),
    "max_gap_s": Range(0.0, 60.0),
    "stride": Range(1, 100_000, integer=True),
    "chunk_s": Range(0.01, 3600.0),
    "progress_interval_s": Range(0.0, 60.0),
}


@dataclass(frozen=True)
class IndexConfig:
    """How a video is indexed.

    The detector does not run on every frame: the tracker's motion model carries people between
    detections. How often it runs adapts to the scene: every ``max_gap_s`` seconds while everyone is
    tracked easily, every ``min_gap_s`` while the scene needs attention (someone appearing, occluded
    or close to someone else; see ``ByteTracker.needs_attention``).

    min_gap_s: detector interval, in seconds of video, in difficult scenes. Smaller tracks crowds
        better (fewer swapped identities) and costs proportionally more time.
    max_gap_s: detector interval in easy scenes. Larger is faster; too large and fast movers outrun
        the motion model.
    stride: a fixed detector interval in frames, overriding both (``--stride``).
    appearance_matching: give the tracker every detection's appearance vector, so that it matches
        people frame to frame by appearance as well as motion (see ``pipeline.tracking``): fewer
        swapped identities where people cross and at low frame rates, for one ReID run per
        detection (indexing takes about 1.5x as long on a CPU).
    chunk_s: seconds of video per committed chunk: the most a crash can lose.
    progress_interval_s: least wall time between two progress events.
    """

    min_gap_s: float = 0.1
    max_gap_s: float = 0.3
    appearance_matching: bool = True
    stride: int | None = None
    chunk_s: float = 30.0
    progress_interval_s: float = 0.1
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    camera_motion: CameraMotionConfig = field(default_factory=CameraMotionConfig)
    linking: LinkConfig = field(default_factory=LinkConfig)
    plan: DetectionPlanConfig = field(default_factory=DetectionPlanConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def strides(self, fps: float) -> tuple[int, int]:
        """(dense, sparse) detector strides in frames for a video of this frame rate."""
        if self.stride:
            return max(1, int(self.stride)), max(1, int(self.stride))
        dense = max(1, round(fps * self.min_gap_s))
        # never wait so long between detector runs that the tracker must change its rules (see
        # TrackerConfig.low_rate_gap_s), unless the footage itself is that slow
        same_rules = max(dense, math.floor(fps * self.tracker.low_rate_gap_s))
        return dense, min(max(dense, round(fps * self.max_gap_s)), same_rules)

    def sparseness(self, fps: float) -> float:
        """How many times further apart a video's frames are than ``min_gap_s`` (1 for footage at
        1 / ``min_gap_s`` fps and faster): the detection plan looks at such frames larger. The
        footage's own rate, not ``stride``: a chosen stride is a choice of speed."""
        return max(1.0, 1.0 / (fps * self.min_gap_s)) if fps > 0 else 1.0

    def __post_init__(self) -> None:
        check_fields(self, INDEX_RULES)


CancelFlag = Callable[[], bool]


def _never() -> bool:
    return False


def settings_for(config: IndexConfig, models: ModelSet, info: VideoInfo) -> dict:
    """Everything that changes what indexing produces; a resume needs the same."""
    square = square_scale(info.pixel_aspect)  # only where pixels are not square (older keys stay)
    return ({"square_pixels": list(square)} if square != (1.0, 1.0) else {}) | {
        "strides": config.strides(info.fps),
        "detector": dataclasses.asdict(models.config.detector),
        "tracker": dataclasses.asdict(config.tracker),
        "appearance": dataclasses.asdict(config.appearance),
        "motion": dataclasses.asdict(config.motion),
        "camera_motion": dataclasses.asdict(config.camera_motion),
        "linking": dataclasses.asdict(config.linking),
        "plan": dataclasses.asdict(config.plan),
        "appearance_matching": config.appearance_matching,
    }


def index_video(
    path: str | Path,
    library: Library,
    models: ModelSet,
    config: IndexConfig = IndexConfig(),
    cancel: CancelFlag = _never,
    force: bool = False,
    segment: tuple[int, int] | None = None,
) -> Iterator[ProgressEvent]:
    """Index one video, yielding progress; raises :class:`SpotterError` subclasses on failure.

    Stages: PROBING, INDEXING (repeated), then DONE, SKIPPED or CANCELLED. With ``segment`` (first
    frame, end frame) only those frames are indexed, starting afresh at the first, and the tracks are
    not linked or calibrated: a part of a long video indexed on its own, whose parts are joined by
    ``pipeline.distributed.stitch``.
    """
    yield ProgressEvent(str(path), Stage.PROBING, message="reading file")
    info = probe(path)
    with library.video_lock(info.path) as lock:
        if not lock.acquired:
            message = "being indexed by another Spotter process right now; skipped (index again later)"
            yield ProgressEvent(str(info.path), Stage.SKIPPED, message=message)
            return
        yield from _index(info, library, models, config, cancel, force, segment)


def _index(
    info: VideoInfo,
    library: Library,
    models: ModelSet,
    config: IndexConfig,
    cancel: CancelFlag,
    force: bool,
    segment: tuple[int, int] | None = None,
) -> Iterator[ProgressEvent]:
    vpath = str(info.path)
    settings = settings_for(config, models, info)
    if segment is not None:
        settings["segment"] = [int(segment[0]), int(segment[1])]
    decision = library.start_video(
        info,
        models.detector_id,
        models.reid_id,
        settings,
        force,
        *content_checks(info),
        ready=lambda: (models.detector, models.reid),  # a model that cannot load changes nothing
    )
    library.record_clock_guess(
        decision.video_id,
        vpath,
        guess_camera(info.path, images=info.images.files if info.images else ()),
        guess_start(info.path, info.images.start if info.images else None),
    )
    if decision.action == "skip":  # decided without loading any model: instant
        stored = library.track_count(decision.video_id)
        yield ProgressEvent(
            vpath,
            Stage.SKIPPED,
            decision.frames_done,
            info.frame_count,
            tracks=stored,
            message=decision.reason,
            video_id=decision.video_id,
        )
        return
    yield ProgressEvent(
        vpath, Stage.PROBING, message="loading models", video_id=decision.video_id, reason=decision.reason
    )
    device = models.device.label
    batch_size = max(1, models.detector.config.batch)  # loads the detector
    models.reid  # noqa: B018 - load the embedder now, not at the first finished track
    run = IndexRun(info, models, config)
    dense, sparse = config.strides(info.fps)
    start = run.restore(decision.checkpoint) if decision.checkpoint else segment[0] if segment else 0
    run.stored = library.track_count(decision.video_id) if start else 0  # counts include what was kept
    stride = int(decision.checkpoint.get("stride", dense)) if decision.checkpoint else dense
    if start:
        log.info("%s: resuming at frame %d", vpath, start)
    chunk_frames = max(sparse, round(config.chunk_s * info.fps))

    def next_boundary(frame_index: int) -> int:
        """Chunks end on fixed multiples of the chunk length, so a resumed run batches (and so
        samples) the frames exactly as an uninterrupted one."""
        return (frame_index // chunk_frames + 1) * chunk_frames

    t0 = time.perf_counter()
    last_event = 0.0
    next_commit = next_boundary(start)
    batch: list[Frame] = []
    batch_from, motion_before = start, run.motion.state_dict()  # where the unprocessed frames begin
    last_ts, next_frame = 0.0, start
    first_ts: float | None = None  # the time of the first frame this run read (a folder's: its own)
    seek = decision.checkpoint.get("seek", []) if decision.checkpoint else []
    reader = VideoReader(info, start_frame=start, stride=stride, seek_table=seek)

    # a folder of images keeps its last state when done, from before its last tracks were ended:
    # images added to it later are indexed on from there (see Library.start_video), as a resumed
    # run would, its last tracks continued (stored again in place) and its newest people, too
    # briefly seen to be kept yet, kept in view
    keeps_state = info.images is not None and segment is None

    def checkpoint(next_at: int) -> dict:
        return run.checkpoint(next_at) | {"stride": reader.stride, "seek": reader.seek_table}

    def commit(
        next_at: int, final: bool = False, motion: dict | None = None, kept: dict | None = None
    ) -> None:
        state = kept
        if not final:
            state = checkpoint(next_at)
            if motion is not None:
                state["motion"] = motion
        run.stored += library.commit_chunk(decision.video_id, run.pending, next_at, state, models.reid_id)
        run.pending = []

    def event(
        stage: Stage, done: int, message: str = "", report: str = "", tracks: int | None = None
    ) -> ProgressEvent:
        return ProgressEvent(
            vpath,
            stage,
            done,
            info.frame_count,
            time.perf_counter() - t0,
            0.0 if first_ts is None else last_ts - first_ts,  # seconds of footage this run read
            run.stored + len(run.pending) + len(run.builder) if tracks is None else tracks,
            message,
            device,
            decision.video_id,
            report,
        )

    def stop(next_at: int, motion: dict | None = None) -> ProgressEvent:
        commit(next_at, motion=motion)
        library.finish_video(decision.video_id, "partial", next_at, "cancelled; index again to resume")
        return event(Stage.CANCELLED, next_at, "cancelled", tracks=run.stored)  # (those being built go)

    end = None  # the frame a segment stopped at
    try:
        for frame in reader:
            if segment is not None and frame.index >= segment[1]:
                end = segment[1]
                break
            run.report.frames_seen += 1
            if not batch and batch_from is None:
                batch_from, motion_before = frame.index, run.motion.state_dict()
            admitted = run.admit(frame)  # in square pixels
            if admitted is not None:
                batch.append(admitted)
            last_ts, next_frame = frame.ts, frame.index + reader.stride
            first_ts = frame.ts if first_ts is None else first_ts
            if cancel():  # before the next detector batch: stop where the unprocessed frames begin
                yield stop(batch_from, motion_before)
                return
            if len(batch) < batch_size and next_frame < next_commit:
                continue
            run.process(batch)
            batch, batch_from = [], None
            reader.stride = dense if run.tracker.needs_attention() else sparse
            next_frame = frame.index + reader.stride
            if next_frame >= next_commit:
                commit(next_frame)
                next_commit = next_boundary(next_frame)
            if cancel():
                yield stop(next_frame)
                return
            now = time.perf_counter()
            if now - last_event >= config.progress_interval_s:
                last_event = now
                yield event(Stage.INDEXING, next_frame)
        run.process(batch)
        frames_read = end if end is not None else reader.frames_read
        kept = checkpoint(frames_read) if keeps_state else None
        run.finish()
        commit(frames_read, final=True, kept=kept)
        notes, dropped = [], ""
        if segment is None:  # what a run indexing the video again did not find again goes now
            dropped = drop_stale(library, decision.video_id)  # (the cases', not indexing's: no report note)
            link_video(library, decision.video_id, models.reid_id, config.linking)
            calibrate_video(library, decision.video_id, models.reid_id)
        if reader.truncated and end is None:
            notes.append(f"truncated or damaged: {reader.shortfall}")
        if reader.rescaled_frames:  # the camera changed resolution part-way: boxes stay in one size
            notes.append(
                f"picture size changed part-way: {reader.rescaled_frames} frames scaled to "
                f"{info.width}x{info.height}"
            )
        if info.pixel_aspect != 1.0:  # a DVR's D1: what shows the picture stretches it
            shape = Fraction(info.pixel_aspect).limit_denominator(100)
            w, h = info.display_size
            notes.append(f"pixels {shape.numerator}:{shape.denominator}, not square: shown at {w}x{h}")
        if reader.deinterlaced_frames:  # an analogue camera's fields, woven: made whole pictures
            notes.append(f"interlaced: {reader.deinterlaced_frames} frames deinterlaced")
        if reader.damaged_packets:  # what did not decode is left out: said, not left to a log line
            what = "image(s)" if info.images is not None else "damaged packet(s)"
            notes.append(f"{reader.damaged_packets} {what} that do not decode left out")
        note = "; ".join(notes)
        message = "; ".join(n for n in (note, dropped) if n)
        sampling = {
            "fps": round(info.fps, 3),
            "dense_s": round(dense / info.fps, 3),
            "sparse_s": round(sparse / info.fps, 3),
            "low_rate": run.low_rate,
        } | ({"stride": config.stride} if config.stride else {})
        plan = run.plan.describe() | asdict(run.plan.stats)
        report = run.report.to_json(frames_read, plan, sampling, [info.note, note])
        library.finish_video(
            decision.video_id,
            "done",
            frames_read,
            message,
            frames_read,
            reader.seek_table,
            report,
            keeps_state,
            reader.end_s if end is None else 0.0,
        )
        log.info("%s: %d tracks; %s", vpath, run.stored, report)
        yield event(Stage.DONE, frames_read, message, json.dumps(report))
    except SpotterError as e:
        _mark_failed(library, decision.video_id, str(e))
        raise


def link_video(library: Library, video_id: int, reid_id: str, config: LinkConfig) -> None:
    """Link the fragments of each person in a finished video (see :mod:`pipeline.linking`). Tracks are
    read a page at a time and kept only as what linking looks at (the first few observations, the
    last few, the appearance vector), so memory grows with the number of tracks, not of frames."""
    keep = config.velocity_frames + 1
    tracks, vectors, page = [], {}, []

    def flush() -> None:
        found = library.embeddings_of(reid_id, "track", [t.pk for t in page])
        vectors.update({pk: v[0] for pk, v in found.items()})
        tracks.extend(t for t in page if t.pk in found)
        page.clear()

    for t in library.iter_video_tracks(video_id):
        if len(t.path) > 2 * keep:
            t = dataclasses.replace(t, path=np.concatenate([t.path[:keep], t.path[-keep:]]))
        page.append(t)
        if len(page) >= 500:
            flush()
    flush()
    library.set_persons(video_id, link_tracks(tracks, vectors, config))


def _mark_failed(library: Library, video_id: int, message: str) -> None:
    try:
        library.finish_video(video_id, "failed", message=message)
    except SpotterError as e:  # e.g. the disk is still full: the checkpoint in the DB is intact
        log.warning("could not record the failure: %s", e)
