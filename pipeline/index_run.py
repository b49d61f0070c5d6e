"""The state of one indexing run of one video: the tracker, the crop builder, the motion gate, the
detection plan and the report, and what is finished but not yet committed. A checkpoint of it is
what a resumed run starts from.

Time is the recording's, not the frame numbers'. The tracker counts time in frames of the footage's
rate, so it is given each frame's *time* in those frames: a recorder that lowers its rate while the
scene is quiet (a "smart" codec, a recorder short of disk) writes frames five or ten times further
apart than the first frames say, and the tracker's gates, velocities and lost buffer must see that.
A recorder that records on motion or on a schedule writes one file with gaps in it (its timestamps
jump by minutes or hours between two consecutive frames): across such a gap every track ends, as it
would had the recorder kept recording an empty scene, and the report counts the gaps. A gap is a wait
between two consecutive frames, beyond the footage's frame interval, longer than a lost track waits
(``TrackerConfig.lost_buffer_s``, or one frame of snapshots further apart than that); a recorder that
merely lowers its rate (frames a second apart in 10 fps footage) leaves none.

Where a video's pixels are not square (a DVR's D1, Half D1, 2CIF), the run works on each frame
stretched to square pixels along its narrower axis (``pipeline.upright.square_scale``: nothing is
lost) and stores the tracks' boxes in the stored pixels, where the player, clips and the JSON use
them: the detector and the ReID model learnt people's shape from square pixels. Measured with a
one-off script (PETS09-S2L1, TUD-Campus and ADL-Rundle-6 stored at half their width, at half their
height, and squeezed as D1 is, each marked so; query photos from the originals): retrieval F1 0.68
working in the stored pixels, 0.77 in square ones, on average over the eight (README, Measured).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from models.detections import Detections
from models.loader import ModelSet
from models.weights import MarkedDigest
from pipeline.appearance import TrackBuilder, cut_crop
from pipeline.camera_motion import CameraMotion, then
from pipeline.detection_plan import DetectionPlan
from pipeline.image_sequence import content_prefixes, indexed_prefix
from pipeline.index_report import IndexReport
from pipeline.motion import MotionGate, gray_thumbnail
from pipeline.tracking import ByteTracker
from pipeline.types import PATH_X1, TrackRecord
from pipeline.upright import square_scale
from pipeline.video import Frame, VideoInfo, content_sha256, file_content, only_appended

if TYPE_CHECKING:
    from pipeline.indexer import IndexConfig


class IndexRun:
    """State of one indexing run of one video (tracker, crop builder, motion gate, pending records)."""

    def __init__(self, info: VideoInfo, models: ModelSet, config: IndexConfig):
        self.info, self.models, self.config = info, models, config
        self.tracker = ByteTracker(config.tracker, info.fps)
        dense_gap_s = config.strides(info.fps)[0] / info.fps
        self.low_rate = dense_gap_s > config.tracker.low_rate_gap_s
        appearance = config.appearance
        if self.low_rate:  # frames too far apart to see everyone thrice: one sighting is a track
            appearance = dataclasses.replace(appearance, min_observations=1)
        self.square = _SquarePixels(info)  # the frames' geometry as the run works on them
        w, h = self.square.size
        self.builder = TrackBuilder(appearance, info.fps)
        self.motion = MotionGate(config.motion, info.fps)
        self.camera = CameraMotion(config.camera_motion, w, h)
        self._thumbnails: dict[int, np.ndarray] = {}  # small grey copies of the frames admitted
        sparseness = config.sparseness(info.fps)  # frames far apart are looked at larger
        found = config.tracker.high_score  # what the tracker takes for a person is a person found
        self.plan = DetectionPlan(config.plan, models.detector, w, h, sparseness, found)
        self.report = IndexReport(config.report)
        self.pending: list[TrackRecord] = []
        self.stored = 0
        self.detector_runs = 0
        self.last_seen: tuple[int, float] | None = None  # (index, time) of the tracker's last frame
        self.clock: dict[int, int] = {}  # frame index -> its time in frames, for the batch at hand
        self.last_tick = -1  # the tracker's last frame, in its time
        self._late: float | None = 0.0  # the recorder's longest wait since the last frame admitted
        self._lateness: dict[int, float | None] = {}  # ... up to each frame admitted (None: unknown)

    def admit(self, frame: Frame) -> Frame | None:
        """The frame as the run works on it (square pixels), when the detector should run on it (the
        motion gate decides), else None; its small grey copy is kept for the camera motion estimate."""
        late, self._late = self._late, None
        if late is not None and frame.late_s is not None:
            self._late = max(late, frame.late_s)
        frame = self.square.frame(frame)
        if not self.motion.should_detect(frame.index, frame.image):
            return None
        self._lateness[frame.index], self._late = self._late, 0.0
        if self.motion.last_thumbnail is not None:
            self._thumbnails[frame.index] = self.motion.last_thumbnail
        return frame

    def process(self, frames: list[Frame]) -> None:
        """Detect on a batch of frames, then track and collect crops frame by frame."""
        if not frames:
            return
        images, times = [f.image for f in frames], [f.ts for f in frames]
        self.set_clock(frames)
        moves, since = self._camera_motion(frames)
        followed = _Followed(self.tracker, {f.index: m for f, m in zip(frames, since)}, self.clock)
        dets = self.plan.detect(images, times, [f.index for f in frames], followed)
        self.detector_runs += len(frames)
        looks = self._appearances(frames, dets, since)
        self.report.detector_frames += len(frames)
        self.report.detections += sum(len(d) for d in dets)
        for f, d, e, m in zip(frames, dets, looks, moves):
            self.step(f, d, e, m)
        self.camera.people = dets[-1].xyxy

    def _camera_motion(self, frames: list[Frame]) -> tuple[list, list]:
        """The camera's motion into each frame of the batch from the one before, and from the last
        frame the tracker saw (None: still). Corners on the people the tracker follows are left out
        (in the first frame, on the people detected in the last processed one)."""
        moves, since, total = [], [], None
        for k, f in enumerate(frames):
            small = self._thumbnails.pop(f.index, None)
            if small is None:  # a frame given to process() without admit()
                small = gray_thumbnail(f.image, self.config.motion.width)
            people = self.tracker.predicted_boxes(self.clock[frames[k - 1].index], total) if k else None
            move = self.camera.step(small, people)
            total = then(total, move)
            moves.append(move)
            since.append(total)
        self.report.camera_moved += sum(m is not None for m in moves)
        return moves, since

    def _appearances(
        self, frames: list[Frame], dets: list[Detections], cameras: list[np.ndarray | None]
    ) -> list[np.ndarray | None]:
        """Appearance vectors of the detections the tracker wants them for (NaN rows for the others;
        None for every frame when appearance matching is off), one ReID batch for the batch. The
        tracker's state at the start of the batch decides which are wanted: its prediction for the
        later frames of the batch is as good as it gets without their detections."""
        if not self.config.appearance_matching:
            return [None] * len(frames)
        wanted = [
            self.tracker.wants_appearance(d, self.clock[f.index], c) for f, d, c in zip(frames, dets, cameras)
        ]
        crops = []
        for f, d, w in zip(frames, dets, wanted):
            for box in d.xyxy[w]:
                crop = cut_crop(f.image, box, self.config.appearance.max_crop_side)
                crops.append(crop if crop is not None else np.zeros((8, 4, 3), np.uint8))
        dim = self.models.reid.dim  # NaN rows must have the vectors' width even when none was embedded
        emb = self.models.reid.embed(crops) if crops else np.zeros((0, dim), np.float32)
        self.report.embedded += len(crops)
        out: list[np.ndarray | None] = []
        start = 0
        for d, w in zip(dets, wanted):
            vecs = np.full((len(d), emb.shape[1]), np.nan, np.float32)
            n = int(w.sum())
            vecs[w] = emb[start : start + n]
            start += n
            out.append(vecs)
        return out

    def step(
        self,
        frame: Frame,
        dets: Detections,
        looks: np.ndarray | None = None,
        camera: np.ndarray | None = None,
    ) -> None:
        late = self._lateness.pop(frame.index, None)
        gap = late if late is not None else self._unaccounted_s(frame)
        waits_s = self.tracker.buffer_frames / self.info.fps  # as a lost track waits, or a frame
        if gap > waits_s:  # the recorder stopped: nobody is followed across
            self.report.add_gap(gap)
            self.finish()
        self.last_seen = (frame.index, frame.ts)
        tick = self.last_tick = self.clock[frame.index]  # process() set the batch's clock
        step = self.tracker.update(dets, tick, looks, camera)
        self.builder.observe(frame.index, frame.ts, frame.image, dets, step, looks)
        if step.ended:
            self._store(self.builder.finish(step.ended, self.models.reid))

    def set_clock(self, frames: list[Frame]) -> None:
        """Each frame's time in frames of the footage's rate (what the tracker counts in), always
        after the tracker's last frame: the frame's own number wherever the rate holds."""
        tick, self.clock = self.last_tick, {}
        for f in frames:
            tick = max(tick + 1, round(f.ts * self.info.fps))
            self.clock[f.index] = tick

    def _unaccounted_s(self, frame: Frame) -> float:
        """Seconds between the tracker's last frame and this one that their frame numbers do not
        account for (0 for footage at a steady rate, however many frames were skipped): the gap, where
        the reader did not see every frame in between (just after a seek, and in a folder of images)."""
        if self.last_seen is None:
            return 0.0
        index, ts = self.last_seen
        return (frame.ts - ts) - (frame.index - index) / self.info.fps

    def _store(self, records: list[TrackRecord]) -> None:
        self.report.add_tracks(records)
        self.pending += [self.square.stored(r) for r in records]

    def finish(self) -> None:
        self._store(self.builder.finish(self.tracker.finish(), self.models.reid))
        self.report.appearance_gate = self.tracker.appearance_gate()
        self.report.appearance_floor = self.tracker.config.min_appearance
        self.report.distinct_pairs = self.tracker.distinct.pairs

    def checkpoint(self, next_frame: int) -> dict:
        return {
            "next_frame": next_frame,
            "tracker": self.tracker.state_dict(),
            "builder": self.builder.state_dict(),
            "motion": self.motion.state_dict(),
            "camera": self.camera.state_dict(),
            "plan": self.plan.state_dict(),
            "report": self.report.state_dict(),
            "last_seen": list(self.last_seen) if self.last_seen is not None else None,
            "last_tick": self.last_tick,
        } | ({"timed": self.info.images.start is not None} if self.info.images is not None else {})

    def restore(self, state: dict) -> int:
        self.tracker.load_state_dict(state["tracker"])
        self.builder.load_state_dict(state["builder"])
        self.motion.load_state_dict(state.get("motion", {}))
        self.camera.load_state_dict(state.get("camera", {}))
        self.plan.load_state_dict(state.get("plan", {}))
        self.report.load_state_dict(state.get("report", {}))
        seen = state.get("last_seen")
        self.last_seen = (int(seen[0]), float(seen[1])) if seen else None
        tick = state.get("last_tick", state["tracker"].get("last_frame"))  # older checkpoints: its frame
        self.last_tick = -1 if tick is None else int(tick)
        return int(state["next_frame"])


def continues_folder(info: VideoInfo, content: str, state: dict, prefixes: list[str] | None = None) -> bool:
    """Whether ``info`` is a folder of images that a run with checkpoint ``state`` indexed (or began
    to) when the folder's content was ``content`` (``sequence_content``), and that has only gained
    images since, later in time than those: its indexed frames keep their numbers and times, and
    indexing goes on from the checkpoint. An image's time is its own (EXIF or name) unless some
    image has none, when all are ordered by name a second apart, so the checkpoint says which rule
    timed the frames. ``prefixes``: the folder's ``content_prefixes``, when already read."""
    seq = info.images
    if seq is None or state.get("timed") != (seq.start is not None):
        return False
    kept = indexed_prefix(seq, content, prefixes)
    return 0 < kept < len(seq.files) and int(state["next_frame"]) <= kept


def content_checks(
    info: VideoInfo,
) -> tuple[Callable[[], str], Callable[[str, dict], bool], Callable[[int, str], bool]]:
    """What ``Library.start_video`` asks of a video it cannot recognise by its quick fingerprint:
    its whole content's hash, whether it is a folder that only gained images since a run
    (:func:`continues_folder`), and whether it is a file that only grew (:func:`only_appended`). A
    folder's images are read once for both; so is a file (a recording that grew was read twice: its
    whole hash, then its first bytes' hash)."""
    prefixes: list[list[str]] = []  # read on first use, once
    marked: list[MarkedDigest] = []  # a file's, read once for its hash and its first bytes' hash

    def read() -> list[str] | None:
        if info.images is not None and not prefixes:
            prefixes.append(content_prefixes(info.images))
        return prefixes[0] if prefixes else None

    def content() -> str:
        found = read()
        if found:
            return found[-1]
        if info.images is not None:
            return content_sha256(info)
        marked.append(file_content(info))
        return marked[-1].hexdigest

    return (
        content,
        lambda indexed, state: continues_folder(info, indexed, state, read()),
        lambda size, indexed: only_appended(info, size, indexed, marked[-1] if marked else None),
    )


class _Followed:
    """Where the tracker's people should be in each frame of a batch, the camera's motion since the
    tracker's last frame included (what the detection plan asks; see ``detection_plan.Tracked``)."""

    def __init__(self, tracker: ByteTracker, cameras: dict[int, np.ndarray | None], clock: dict[int, int]):
        self.tracker, self.cameras, self.clock = tracker, cameras, clock

    def predicted_boxes(self, frame_index: int) -> np.ndarray:
        return self.tracker.predicted_boxes(self.clock[frame_index], self.cameras.get(frame_index))


class _SquarePixels:
    """A video's frames in square pixels (stretched along their narrower axis, nothing lost), and the
    tracks' boxes back in the stored pixels."""

    def __init__(self, info: VideoInfo):
        sx, sy = square_scale(info.pixel_aspect)
        self.size = (round(info.width * sx), round(info.height * sy))
        self.same = (sx, sy) == (1.0, 1.0)
        self._scale = np.array([sx, sy, sx, sy])

    def frame(self, frame: Frame) -> Frame:
        if self.same:
            return frame
        image = cv2.resize(frame.image, self.size, interpolation=cv2.INTER_LINEAR)
        return dataclasses.replace(frame, image=image)

    def stored(self, record: TrackRecord) -> TrackRecord:
        if self.same:
            return record
        path = record.path.copy()
        path[:, PATH_X1 : PATH_X1 + 4] /= self._scale
        return dataclasses.replace(record, path=path)
