"""ByteTrack-style multi-person tracker (Zhang et al. 2022), stride-aware.

Each call to :meth:`ByteTracker.update` takes one processed frame's detections and its frame index
(frames in between may have been skipped: the Kalman filter predicts across the gap). Steps:

1. predict every track to this frame;
2. associate confirmed tracks (tracked and lost) with high-score detections by IoU;
3. associate the still-unmatched tracked tracks with low-score detections (occluded people whose
   confidence dropped), then mark the rest lost;
4. associate tentative tracks (seen once) with the remaining high-score detections; unmatched
   tentative tracks are dropped;
5. start tentative tracks from remaining detections scoring at least ``new_track_score``;
6. end lost tracks older than the lost-track buffer.

The detection index of every match is returned, so per-detection data (crops, embeddings) stays
aligned without re-matching boxes afterwards. Track IDs are per tracker (one tracker per video).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.detections import Detections
from pipeline.tracking.kalman import KalmanConfig, KalmanFilter, xyah_to_xyxy, xyxy_to_xyah
from pipeline.tracking.matching import assign, expand_boxes, iou_matrix
from pipeline.tracking.track import Track, TrackState


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker thresholds (scores are detector confidences, IoUs are 0..1).

    high_score: detections at or above this take part in the first association. Raising it moves
        more boxes to the weaker second step.
    low_score: detections between this and ``high_score`` can only extend existing tracks (step 3).
    new_track_score: a detection must reach this to start a track. Higher: fewer spurious short
        tracks from clutter, but people who only ever score low are missed.
    first_match_iou / second_match_iou / tentative_match_iou: least IoU (after score fusion in the
        first step) for a match in steps 2 / 3 / 4. Higher: fewer wrong matches, more broken tracks.
    match_buffer: boxes are grown by this fraction of their size on each side before IoU (buffered
        IoU), which keeps fast or strided motion associable; 0 is plain IoU.
    fuse_score: in step 2 weigh IoU by detection confidence (prefers confident boxes in crowds).
    confirm_hits: matches before a tentative track is confirmed and kept.
    lost_buffer_s: seconds of video a lost track waits to be re-found before it ends. Longer bridges
        longer occlusions but risks handing the ID to someone else.
    crowd_gap: two tracked people whose boxes, grown by this fraction of their size, overlap are
        "close" (see :meth:`ByteTracker.needs_attention`); larger calls for dense detection sooner
        and more often (0: only when the boxes themselves overlap).
    """

    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.5
    first_match_iou: float = 0.2
    second_match_iou: float = 0.5
    tentative_match_iou: float = 0.2
    match_buffer: float = 0.0
    fuse_score: bool = True
    confirm_hits: int = 2
    lost_buffer_s: float = 2.0
    crowd_gap: float = 0.0
    kalman: KalmanConfig = field(default_factory=KalmanConfig)


@dataclass(frozen=True)
class EndedTrack:
    """A track that left the tracker; ``confirmed`` False means it was noise and should be discarded."""

    track_id: int
    confirmed: bool
    start_frame: int
    last_frame: int


@dataclass(frozen=True)
class TrackerStep:
    """Result of one update: which track took which detection, and which tracks ended."""

    frame_index: int
    track_ids: np.ndarray  # (K,) int
    det_indices: np.ndarray  # (K,) int, index into this frame's Detections
    ended: tuple[EndedTrack, ...] = ()


class ByteTracker:
    """Tracks people across the processed frames of one video."""

    def __init__(self, config: TrackerConfig = TrackerConfig(), fps: float = 25.0):
        self.config = config
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.kf = KalmanFilter(config.kalman)
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frames_seen = 0

    @property
    def buffer_frames(self) -> int:
        return max(1, round(self.config.lost_buffer_s * self.fps))

    def _predict(self, frame_index: int) -> None:
        if not self.tracks:
            return
        mean = np.stack([t.mean for t in self.tracks])
        cov = np.stack([t.cov for t in self.tracks])
        for i, t in enumerate(self.tracks):
            if t.state != TrackState.TRACKED:
                mean[i, 7] = 0.0  # lost: stop the height from drifting (ByteTrack)
        dt = np.array([frame_index - t.predicted_frame for t in self.tracks], dtype=np.float64)
        mean, cov = self.kf.predict(mean, cov, np.maximum(dt, 0.0))
        for i, t in enumerate(self.tracks):
            t.mean, t.cov, t.predicted_frame = mean[i], cov[i], frame_index

    def _boxes(self, tracks: list[Track]) -> np.ndarray:
        if not tracks:
            return np.zeros((0, 4))
        return xyah_to_xyxy(np.stack([t.mean[:4] for t in tracks]))

    def _iou(self, tracks: list[Track], dets: Detections, idx: list[int]) -> np.ndarray:
        b = self.config.match_buffer
        return iou_matrix(expand_boxes(self._boxes(tracks), b), expand_boxes(dets.xyxy[idx], b))

    def _match(self, tracks: list[Track], dets: Detections, idx: list[int], min_iou: float, fuse: bool):
        iou = self._iou(tracks, dets, idx)
        if fuse and len(idx):
            iou = iou * dets.score[idx][None, :]
        return assign(1.0 - iou, 1.0 - min_iou)

    def _update_track(self, t: Track, dets: Detections, d: int, frame_index: int) -> None:
        t.mean, t.cov = self.kf.update(t.mean, t.cov, xyxy_to_xyah(dets.xyxy[d])[0])
        t.state = TrackState.TRACKED
        t.last_frame = frame_index
        t.score = float(dets.score[d])
        t.hits += 1
        if t.hits >= self.config.confirm_hits:
            t.confirmed = True

    def update(self, dets: Detections, frame_index: int) -> TrackerStep:
        """Process the detections of ``frame_index`` (frame indices must increase)."""
        cfg = self.config
        self._predict(frame_index)
        high = [i for i in range(len(dets)) if dets.score[i] >= cfg.high_score]
        low = [i for i in range(len(dets)) if cfg.low_score <= dets.score[i] < cfg.high_score]
        pairs: list[tuple[Track, int]] = []

        # Step 2: confirmed tracks (tracked and lost) vs high-score detections.
        pool = [t for t in self.tracks if t.confirmed]
        matches, um_tracks, um_high = self._match(pool, dets, high, cfg.first_match_iou, cfg.fuse_score)
        for ti, di in matches:
            pairs.append((pool[ti], high[di]))
        rest_high = [high[i] for i in um_high]

        # Step 3: still-unmatched tracked tracks vs low-score detections; the rest become lost.
        tracked = [pool[i] for i in um_tracks if pool[i].state == TrackState.TRACKED]
        matches, um_tracked, _ = self._match(tracked, dets, low, cfg.second_match_iou, False)
        for ti, di in matches:
            pairs.append((tracked[ti], low[di]))
        for i in um_tracked:
            tracked[i].state = TrackState.LOST

        # Step 4: tentative tracks vs the remaining high-score detections.
        tentative = [t for t in self.tracks if not t.confirmed]
        matches, um_tent, um_rest = self._match(tentative, dets, rest_high, cfg.tentative_match_iou, False)
        for ti, di in matches:
            pairs.append((tentative[ti], rest_high[di]))
        dropped = {id(tentative[i]) for i in um_tent}
        for t, d in pairs:
            self._update_track(t, dets, d, frame_index)

        # Step 5: new tracks; on a tracker's first frame they are confirmed at once (ByteTrack).
        for i in um_rest:
            d = rest_high[i]
            if dets.score[d] < cfg.new_track_score:
                continue
            mean, cov = self.kf.initiate(xyxy_to_xyah(dets.xyxy[d])[0])
            t = Track(self.next_id, mean, cov, frame_index, frame_index, frame_index, float(dets.score[d]))
            t.confirmed = self.frames_seen == 0 or cfg.confirm_hits <= 1
            self.next_id += 1
            self.tracks.append(t)
            pairs.append((t, d))

        # Step 6: end dropped tentative tracks and lost tracks past the buffer.
        ended = []
        kept = []
        for t in self.tracks:
            expired = t.state == TrackState.LOST and frame_index - t.last_frame > self.buffer_frames
            if id(t) in dropped or expired:
                ended.append(EndedTrack(t.track_id, t.confirmed, t.start_frame, t.last_frame))
            else:
                kept.append(t)
        self.tracks = kept
        self.frames_seen += 1
        return TrackerStep(
            frame_index,
            np.array([t.track_id for t, _ in pairs], dtype=np.int64),
            np.array([d for _, d in pairs], dtype=np.int64),
            tuple(ended),
        )

    def needs_attention(self) -> bool:
        """Whether the scene is hard to track by motion alone, so the detector should look often.

        True while a track is tentative (someone just appeared and needs a second sighting), a track
        was last matched by a low-score detection (someone becoming occluded), or two tracked
        people's boxes, grown by ``crowd_gap``, overlap (crossing paths is where identities get
        swapped). Lost tracks do not count: an occluded person is not seen more by looking more.
        """
        tracked = []
        for t in self.tracks:
            if not t.confirmed:
                return True
            if t.state != TrackState.TRACKED:
                continue
            if t.score < self.config.high_score:
                return True
            tracked.append(xyah_to_xyxy(t.mean[:4])[0])
        if len(tracked) < 2:
            return False
        grown = expand_boxes(np.array(tracked), self.config.crowd_gap / 2)
        close = iou_matrix(grown, grown) > 0
        np.fill_diagonal(close, False)
        return bool(close.any())

    def predicted_boxes(self, frame_index: int) -> np.ndarray:
        """(N, 4) boxes where the confirmed people being followed (tracked or lost) should be at
        ``frame_index``, by their motion; the tracker's state is not changed."""
        live = [t for t in self.tracks if t.confirmed]
        if not live:
            return np.zeros((0, 4))
        mean = np.stack([t.mean for t in live])
        cov = np.stack([t.cov for t in live])
        dt = np.array([max(frame_index - t.predicted_frame, 0) for t in live], dtype=np.float64)
        mean, _ = self.kf.predict(mean, cov, dt)
        return xyah_to_xyxy(mean[:, :4])

    def finish(self) -> tuple[EndedTrack, ...]:
        """End every remaining track (end of video)."""
        ended = tuple(EndedTrack(t.track_id, t.confirmed, t.start_frame, t.last_frame) for t in self.tracks)
        self.tracks = []
        return ended

    def state_dict(self) -> dict[str, Any]:
        """JSON-able snapshot from which :meth:`load_state_dict` resumes exactly."""
        return {
            "next_id": self.next_id,
            "frames_seen": self.frames_seen,
            "tracks": [t.state_dict() for t in self.tracks],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.next_id = int(state["next_id"])
        self.frames_seen = int(state["frames_seen"])
        self.tracks = [Track.from_state_dict(d) for d in state["tracks"]]
