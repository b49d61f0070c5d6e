"""ByteTrack-style tracking: Kalman motion, two-stage association, lost-track buffer."""

from pipeline.tracking.byte_tracker import ByteTracker, EndedTrack, TrackerConfig, TrackerStep

__all__ = ["ByteTracker", "EndedTrack", "TrackerConfig", "TrackerStep"]
