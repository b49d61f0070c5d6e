"""Frames a file stores before the first one it shows, which its container still counts.

Two kinds: those an MP4's edit list hides (``ffmpeg -ss N -c copy`` keeps the group of pictures the
cut falls in, which the decoder needs, and marks the frames before the cut to be dropped), and those
before the file's first key frame (a recording cut inside a group of pictures: without the key frame
they refer to, they cannot decode). An MP4's frame count holds both, so a reader comparing the frames
it decoded with that count called intact files "truncated or damaged" (45 of 60 frames, 35 of 55).
The first kind is editing and goes unsaid; the second is footage the file holds that no one can see,
and the video's note says so.

They are found by reading packets from the start, without decoding them, up to the first whose decode
time reaches the first frame shown: no frame is shown before it is decoded, so none after that packet
comes before that frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import av

# Packets read at most looking for the first frame shown: a group of pictures of 60 s at 30 fps is
# 1,800; a file whose packets carry no decode times is read this far and no further.
MAX_LEAD_PACKETS = 2000


@dataclass(frozen=True)
class Unshown:
    """Frames stored before a file's first frame shown."""

    hidden: int = 0  # dropped by an edit list (decoded as references, never shown)
    undecodable: int = 0  # before the first key frame

    @property
    def total(self) -> int:
        return self.hidden + self.undecodable

    @property
    def note(self) -> str:
        """What the operator is told: only the frames lost to a cut ("" when none)."""
        if not self.undecodable:
            return ""
        return (
            f"the first {self.undecodable} frames cannot be decoded: the file starts without a key frame "
            "(cut from a longer recording)"
        )


def unshown_frames(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, first_pts: int
) -> Unshown:
    """The frames stored before the first one shown, whose timestamp is ``first_pts``, read from the
    packets of a freshly opened ``container``."""
    hidden = undecodable = 0
    last_dts: int | None = None
    for k, packet in enumerate(container.demux(stream)):
        if k >= MAX_LEAD_PACKETS:
            break
        if packet.size == 0:  # the demuxer's end of stream
            continue
        if packet.dts is not None:
            if packet.dts >= first_pts or (last_dts is not None and packet.dts < last_dts):
                break  # decoded at or after the first frame shown, or a clock that jumped back (a wrap)
            last_dts = packet.dts
        if packet.is_discard:
            hidden += 1
        elif packet.pts is not None and packet.pts < first_pts:
            undecodable += 1
    return Unshown(hidden, undecodable)
