"""Seek tables of video files: the key frames a reader may start at, ``(frame index, pts)`` about
``SEEK_SPACING_S`` apart, found by reading the packets without decoding them (a few seconds for an
hour's file), for a video indexed before its table was kept, or for export and the player."""

from __future__ import annotations

import bisect
from pathlib import Path

from pipeline.decoding import open_video

SEEK_SPACING_S = 4.0  # the seek table keeps a key frame at most every this many seconds


def scan_keyframes(path: Path, spacing_s: float = SEEK_SPACING_S) -> list[tuple[int, int]]:
    """Seek table of a file by reading its packets without decoding: ``(frame index, pts)`` of key
    frames about ``spacing_s`` apart. A frame's index is the rank of its pts among the packets that
    come out of the decoder as frames: not those an MP4's edit list discards (what ``ffmpeg -ss N -c
    copy`` leaves before the cut), nor those before the file's first key frame, which cannot decode
    (a recording cut mid-GOP). Counted among all packets, a player showed frames 1.5-2 s away from
    the ones asked for in such files (a sweep)."""
    container, stream = open_video(path)
    try:
        every, keys = [], []
        first_key: int | None = None  # pts of the first key frame: decoding starts there
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            if first_key is None:
                if not packet.is_keyframe:
                    continue
                first_key = packet.pts
            if packet.is_discard or packet.pts < first_key:
                continue  # decoded (a discarded key frame is the start of what follows), never shown
            every.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
    finally:
        container.close()
    every.sort()
    tb = float(stream.time_base or 0)
    table: list[tuple[int, int]] = []
    for pts in sorted(keys):
        if not table or tb == 0 or (pts - table[-1][1]) * tb >= spacing_s:
            table.append((bisect.bisect_left(every, pts), pts))
    return table
