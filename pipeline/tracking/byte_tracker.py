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

Appearance-assisted matching. When the detections of a frame come with appearance vectors (the
indexer's default), steps 2-4 match by where people can be and what they look like instead of box
overlap alone: a detection matches a track when it lies within the distance a person can walk since
the track was last seen (in the person's own heights, so the gate holds for any camera, resolution
and frame rate), has a similar height, and resembles the track's remembered appearance; the cost
blends the two. Box overlap fails where people cross (identities swap) and where frames are far
apart (a walker leaves their own box between two frames of a 1-6 fps recorder or a snapshot
folder); measured on PETS09-S2L1, TUD-Campus and ADL-Rundle-6 and on them subsampled to 1-5 fps,
it finds each person's whole walk more often at every rate (README, "Measured"). Where motion
cannot vouch for a match (the track unseen for over ``low_rate_gap_s``) between people the ReID
model sees in detail, the appearance must beat how alike different people seen together in this
video look (:mod:`pipeline.tracking.distinct`). Without vectors the tracker is ByteTrack as it is.

Low frame rates. When the time between processed frames exceeds ``low_rate_gap_s`` a person may be
seen once or twice only, so a single confident sighting starts a confirmed track.

The detection index of every match is returned, so per-detection data (crops, embeddings) stays
aligned without re-matching boxes afterwards. Track IDs are per tracker (one tracker per video).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.detections import Detections
from pipeline.tracking.config import TrackerConfig
from pipeline.tracking.distinct import DistinctPeople
from pipeline.tracking.kalman import KalmanFilter, warp, xyah_to_xyxy, xyxy_to_xyah
from pipeline.tracking.matching import assign, expand_boxes, iou_matrix
from pipeline.tracking.track import Track, TrackState


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
        self.kf = KalmanFilter(config.kalman, self.fps)
        self.tracks: list[Track] = []
        self.next_id = 1
        self.frames_seen = 0
        self.last_frame: int | None = None  # the previous processed frame
        self.camera_moved = False  # the view moved into the previous processed frame
        self.distinct = DistinctPeople()  # how alike different people look here (the appearance gate)

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

    def low_rate(self, frame_index: int) -> bool:
        """Whether the time since the previous processed frame makes one sighting a confirmed track."""
        if self.last_frame is None:
            return False
        return (frame_index - self.last_frame) / self.fps > self.config.low_rate_gap_s

    def _iou(self, tracks: list[Track], dets: Detections, idx: list[int]) -> np.ndarray:
        b = self.config.match_buffer
        return iou_matrix(expand_boxes(self._boxes(tracks), b), expand_boxes(dets.xyxy[idx], b))

    def _match(
        self,
        tracks: list[Track],
        dets: Detections,
        idx: list[int],
        min_iou: float,
        fuse: bool,
        frame: int,
        low: bool,
        emb: np.ndarray | None,
    ):
        if emb is not None and tracks and idx:
            return assign(self._appearance_cost(tracks, dets, idx, frame, emb), 1.0)
        iou = self._iou(tracks, dets, idx)
        if fuse and len(idx):
            iou = iou * dets.score[idx][None, :]
        return assign(1.0 - iou, 1.0 - min_iou)

    def _appearance_cost(
        self, tracks: list[Track], dets: Detections, idx: list[int], frame: int, emb: np.ndarray
    ) -> np.ndarray:
        """Matching cost with appearance: how far the detection is from where the track's motion puts
        it, relative to how far a person can walk since the track was last seen (in box heights),
        blended with the appearance distance; inf outside the gates."""
        cfg = self.config
        t_xyah = xyxy_to_xyah(self._boxes(tracks))
        d_xyah = xyxy_to_xyah(dets.xyxy[idx])
        h = np.maximum(t_xyah[:, None, 3], d_xyah[None, :, 3])
        dist = np.linalg.norm(t_xyah[:, None, :2] - d_xyah[None, :, :2], axis=2) / h
        unseen_s = np.array([(frame - t.last_frame) / self.fps for t in tracks])
        # a track seen twice has a velocity: it only errs by part of a walk (how much: the config)
        walk = np.array([1.0 if t.hits < 2 else cfg.predicted_walk for t in tracks])
        reach = (cfg.walk_speed * walk * unseen_s)[:, None] + cfg.low_rate_slack
        ratio = d_xyah[None, :, 3] / t_xyah[:, None, 3]
        cost = dist / reach
        bad = (cost > 1.0) | (ratio > cfg.max_height_ratio) | (ratio < 1 / cfg.max_height_ratio)
        feats = [t.feature for t in tracks]
        cos = np.array([emb[idx] @ f if f is not None else np.full(len(idx), np.nan) for f in feats])
        # unknown (a detection not embedded because only one track could take it, or a track not
        # seen by appearance yet): motion decides, with a typical same-person appearance distance
        cos = np.where(np.isfinite(cos), cos, cfg.unknown_appearance)
        w = cfg.appearance_weight
        cost = (1 - w) * cost + w * (1.0 - cos)
        # where the track was unseen for longer than motion can vouch for, people the ReID model sees in
        # full detail must look more alike than different people here do
        detailed = np.minimum(t_xyah[:, None, 3], d_xyah[None, :, 3]) >= cfg.detail_height
        detailed &= (unseen_s > cfg.low_rate_gap_s)[:, None]
        bad |= cos < np.where(detailed, self.appearance_gate(), cfg.min_appearance)
        cost[bad] = np.inf
        return cost

    def appearance_gate(self) -> float:
        """The least appearance similarity for a match between people seen in full detail here."""
        cfg = self.config
        return self.distinct.gate(
            cfg.min_appearance, cfg.distinct_quantile, cfg.distinct_min_pairs, cfg.max_appearance
        )

    def _update_track(
        self, t: Track, dets: Detections, d: int, frame_index: int, emb: np.ndarray | None
    ) -> None:
        if emb is not None:
            t.remember_look(emb[d], self.config.appearance_momentum, frame_index)
        t.mean, t.cov = self.kf.update(t.mean, t.cov, xyxy_to_xyah(dets.xyxy[d])[0])
        t.state = TrackState.TRACKED
        t.last_frame = frame_index
        t.score = float(dets.score[d])
        t.hits += 1
        if t.hits >= self.config.confirm_hits:
            t.confirmed = True

    def update(
        self,
        dets: Detections,
        frame_index: int,
        embeddings: np.ndarray | None = None,
        camera: np.ndarray | None = None,
    ) -> TrackerStep:
        """Process the detections of ``frame_index`` (frame indices must increase). ``embeddings``
        (N, D), the detections' L2-normalised appearance vectors, turn on appearance-assisted
        matching; without them the tracker matches by box overlap alone (ByteTrack). ``camera``, the
        2x3 motion of the view since the previous processed frame (``pipeline.camera_motion``),
        moves every track by it first."""
        cfg = self.config
        low = self.low_rate(frame_index)
        emb = embeddings if embeddings is not None and len(embeddings) == len(dets) else None
        self.camera_moved = camera is not None
        if camera is not None and self.tracks:
            mean, cov = warp(
                np.stack([t.mean for t in self.tracks]), np.stack([t.cov for t in self.tracks]), camera
            )
            for t, m, c in zip(self.tracks, mean, cov):
                t.mean, t.cov = m, c
        self._predict(frame_index)
        if emb is not None:
            self.distinct.observe(emb, dets.score >= cfg.high_score)
        high = [i for i in range(len(dets)) if dets.score[i] >= cfg.high_score]
        weak = [i for i in range(len(dets)) if cfg.low_score <= dets.score[i] < cfg.high_score]
        pairs: list[tuple[Track, int]] = []

        # Step 2: confirmed tracks (tracked and lost) vs high-score detections.
        pool = [t for t in self.tracks if t.confirmed]
        matches, um_tracks, um_high = self._match(
            pool, dets, high, cfg.first_match_iou, cfg.fuse_score, frame_index, low, emb
        )
        for ti, di in matches:
            pairs.append((pool[ti], high[di]))
        rest_high = [high[i] for i in um_high]

        # Step 3: still-unmatched tracked tracks vs low-score detections; the rest become lost.
        tracked = [pool[i] for i in um_tracks if pool[i].state == TrackState.TRACKED]
        matches, um_tracked, _ = self._match(
            tracked, dets, weak, cfg.second_match_iou, False, frame_index, low, emb
        )
        for ti, di in matches:
            pairs.append((tracked[ti], weak[di]))
        for i in um_tracked:
            tracked[i].state = TrackState.LOST

        # Step 4: tentative tracks vs the remaining high-score detections.
        tentative = [t for t in self.tracks if not t.confirmed]
        matches, um_tent, um_rest = self._match(
            tentative, dets, rest_high, cfg.tentative_match_iou, False, frame_index, low, emb
        )
        for ti, di in matches:
            pairs.append((tentative[ti], rest_high[di]))
        dropped = {id(tentative[i]) for i in um_tent}
        for t, d in pairs:
            self._update_track(t, dets, d, frame_index, emb)

        # Step 5: new tracks; on a tracker's first frame they are confirmed at once (ByteTrack), at
        # low frame rates too (a person may be seen once only), and when matching by appearance
        # (a tentative stage only keeps clutter from stealing tracks, which appearance does; a
        # tentative track missed once is dropped, which cuts people in crowds into pieces)
        for i in um_rest:
            d = rest_high[i]
            if dets.score[d] < cfg.new_track_score:
                continue
            mean, cov = self.kf.initiate(xyxy_to_xyah(dets.xyxy[d])[0])
            t = Track(self.next_id, mean, cov, frame_index, frame_index, frame_index, float(dets.score[d]))
            t.confirmed = self.frames_seen == 0 or cfg.confirm_hits <= 1 or low or emb is not None
            if emb is not None:
                t.remember_look(emb[d], cfg.appearance_momentum, frame_index)
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
        self.last_frame = frame_index
        return TrackerStep(
            frame_index,
            np.array([t.track_id for t, _ in pairs], dtype=np.int64),
            np.array([d for _, d in pairs], dtype=np.int64),
            tuple(ended),
        )

    def needs_attention(self) -> bool:
        """Whether the scene is hard to track by motion alone, so the detector should look often.

        True while a track is tentative (someone just appeared and needs a second sighting), a track
        was last matched by a low-score detection (someone becoming occluded), two tracked
        people's boxes, grown by ``crowd_gap``, overlap (crossing paths is where identities get
        swapped), or the camera moved into the last frame (its motion is measured between processed
        frames only: the nearer they are, the better people are followed and their boxes between
        two of them interpolated). Lost tracks do not count: an occluded person is not seen more by
        looking more.
        """
        if self.camera_moved:
            return True
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

    def wants_appearance(
        self, dets: Detections, frame_index: int, camera: np.ndarray | None = None
    ) -> np.ndarray:
        """Which detections of ``frame_index`` the tracker needs appearance vectors for: all but the
        unambiguous ones (one followed person could take them and nobody else is near; see
        ``TrackerConfig.ambiguity_buffer``). Embedding only these saves most ReID runs where people
        walk apart, and none where they cross."""
        cfg = self.config
        wanted = np.ones(len(dets), bool)
        live = [t for t in self.tracks if t.confirmed]
        if not len(dets) or not live:
            return wanted
        grow = cfg.ambiguity_buffer
        near = iou_matrix(
            expand_boxes(self.predicted_boxes(frame_index, camera), grow), expand_boxes(dets.xyxy, grow)
        )
        near = near > 0  # (tracks, detections)
        fresh = np.array(
            [
                t.feature is not None and (frame_index - t.feature_frame) / self.fps < cfg.refresh_s
                for t in live
            ]
        )
        single = near.sum(axis=0) == 1  # detections near exactly one track
        owner = near.argmax(axis=0)
        alone = near.sum(axis=1) == 1  # tracks near exactly one detection
        wanted &= ~(single & alone[owner] & fresh[owner])
        return wanted

    def predicted_boxes(self, frame_index: int, camera: np.ndarray | None = None) -> np.ndarray:
        """(N, 4) boxes where the confirmed people being followed (tracked or lost) should be at
        ``frame_index``, by their motion (and the ``camera``'s since the last processed frame); the
        tracker's state is not changed."""
        live = [t for t in self.tracks if t.confirmed]
        if not live:
            return np.zeros((0, 4))
        mean = np.stack([t.mean for t in live])
        cov = np.stack([t.cov for t in live])
        if camera is not None:
            mean, cov = warp(mean, cov, camera)
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
            "last_frame": self.last_frame,
            "camera_moved": self.camera_moved,
            "tracks": [t.state_dict() for t in self.tracks],
            "distinct": self.distinct.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.next_id = int(state["next_id"])
        self.frames_seen = int(state["frames_seen"])
        self.last_frame = None if state.get("last_frame") is None else int(state["last_frame"])
        self.camera_moved = bool(state.get("camera_moved", False))
        self.tracks = [Track.from_state_dict(d) for d in state["tracks"]]
        self.distinct.load_state_dict(state.get("distinct"))  # absent in a checkpoint from before it
