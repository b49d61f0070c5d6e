"""The tracker's thresholds, in one place (see :mod:`pipeline.tracking.byte_tracker` for the steps
they act in)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.tracking.kalman import KalmanConfig


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
    confirm_hits: matches before a tentative track is confirmed and kept (when matching by box
        overlap alone; with appearance vectors a track is confirmed at once).
    lost_buffer_s: seconds of video a lost track waits to be re-found before it ends. Longer bridges
        longer occlusions but risks handing the ID to someone else.
    crowd_gap: two tracked people whose boxes, grown by this fraction of their size, overlap are
        "close" (see :meth:`ByteTracker.needs_attention`); larger calls for dense detection sooner
        and more often (0: only when the boxes themselves overlap).
    low_rate_gap_s: seconds between processed frames above which one sighting makes a confirmed
        track. At 10-30 fps with the detector every 0.1-0.3 s this never happens.
    walk_speed: how far a person may move per second, in their own heights; with appearance a
        detection may be this times the seconds since the track was last seen (plus
        ``low_rate_slack``) from where the track's motion puts it. Larger follows runners and risks
        swapping people who pass each other.
    low_rate_slack: distance (in heights) allowed on top of the walk, for the motion model's error.
    predicted_walk: share of the walk allowed for a track seen at least twice, whose motion model
        predicts where it went (a walker changes course by part of their step, not all of it).
    max_height_ratio: with appearance, largest ratio between a track's height and a detection's.
    min_appearance: least cosine similarity between a track's appearance and a detection's for a
        match. Higher: fewer swapped identities, more broken tracks.
    detail_height: between a track unseen for over ``low_rate_gap_s`` and a detection, both at least
        this tall (pixels; the ReID model's input is 256 high, and smaller crops carry less of a
        person's look), the gate rises to what ``distinct_quantile`` of the pairs of people seen
        together in this video stay below (:mod:`.distinct`), never below ``min_appearance`` nor
        above ``max_appearance``.
    distinct_quantile: that share (0: no rise).
    distinct_min_pairs: pairs of people seen together needed before the video's own figure is used.
    max_appearance: the most the gate rises to (a video of identical uniforms would otherwise cut
        every walk into single sightings).
    appearance_weight: share of the appearance distance in the matching cost (the rest is the walk
        distance as a fraction of its gate).
    appearance_momentum: weight of a track's remembered appearance against each new sighting.
    unknown_appearance: similarity assumed where a detection or track has no appearance vector.
    ambiguity_buffer / refresh_s: a detection needs no appearance vector when it is unambiguous:
        its box, grown by ``ambiguity_buffer`` of its size, meets the predicted box (grown alike) of
        exactly one followed person, whose box meets no other detection, and whose appearance was
        refreshed less than ``refresh_s`` seconds ago (see :meth:`ByteTracker.wants_appearance`).
        A larger buffer or a shorter refresh embeds more (slower, safer).
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
    low_rate_gap_s: float = 0.35
    walk_speed: float = 1.0
    low_rate_slack: float = 0.5
    predicted_walk: float = 0.5
    max_height_ratio: float = 1.5
    min_appearance: float = 0.65
    detail_height: float = 128.0
    distinct_quantile: float = 0.99
    distinct_min_pairs: int = 200
    max_appearance: float = 0.8
    appearance_weight: float = 0.5
    appearance_momentum: float = 0.8
    unknown_appearance: float = 0.8
    ambiguity_buffer: float = 0.5
    refresh_s: float = 1.0
    kalman: KalmanConfig = field(default_factory=KalmanConfig)
