"""Footage whose frame rate changes part-way, as recorders write it: a "smart" codec or a recorder
short of disk or bandwidth lowers the rate while the scene is quiet or at night, and raises it again.

``-vfr``: the source's first third at its own rate, the middle third at a fifth of it, the last third
at its own rate again, in one file whose frames carry their true times (a variable frame rate).
A frame's number then no longer tells its time: in the middle third frames are five times further
apart than the first frames say. Ground truth renumbered to the kept frames.
"""

from __future__ import annotations

from pathlib import Path

from bench.sequences import Sequence, derived_files, frames_of, renumber_gt, write_video

SLOWER = 5  # the middle third keeps every SLOWER-th frame


def kept_frames(n: int, slower: int = SLOWER) -> list[int]:
    """Source frames a recorder that slows down in the middle third keeps."""
    third = n // 3
    return [*range(third), *range(third, 2 * third, slower), *range(2 * third, n)]


def variable_rate(seq: Sequence, out: Path) -> Sequence:
    name = f"{seq.name}-vfr"
    video, gt, missing = derived_files(out, name)
    if missing:
        images = list(frames_of(seq.video))
        keep = kept_frames(len(images))
        write_video(video, (images[f] for f in keep), seq.fps, times=[f / seq.fps for f in keep])
        renumber_gt(seq, keep, gt)
    return Sequence(name, video, gt, seq.fps, 1.0, seq.source)
