"""Clock changes (daylight saving) inside a folder of snapshots: EXIF times put on one clock.

Cameras and recorders write local time. The night the clocks go back, local times repeat an hour,
and ordered as written, the images of the two passes through that hour interleave (a track then
jumps between two people an hour apart); the night they go forward, an hour is skipped, and the
folder shows a gap that never was. What tells the two passes apart is EXIF ``OffsetTimeOriginal``
(or ``OffsetTime``), the local time's offset from UTC, where the camera writes it: every time is
then moved onto the offset of the folder's earliest image.

Times read from file names carry no offset, and are left as written. The files' modification times
were considered (UTC, so their difference from a name's local time is the offset) and not used: a
copy that did not keep them writes every file at one moment, and two motion events an hour apart,
copied so, look exactly like a clock change. Moving a true time by an hour would be worse than the
interleaving it would mend.

Written here: no library reads a folder's clock change (``dateutil`` and ``zoneinfo`` convert a time
whose zone is known; here the zone is unknown, and only the change is seen).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path


def exif_offset(raw: object) -> timedelta | None:
    """An EXIF offset from UTC ("+01:00", "-05:30"); None when absent or malformed."""
    m = re.fullmatch(r"([+-])(\d\d):(\d\d)", str(raw or "").strip().rstrip("\x00"))
    if m is None or int(m[2]) > 14 or int(m[3]) > 59:
        return None
    sign = 1 if m[1] == "+" else -1
    return sign * timedelta(hours=int(m[2]), minutes=int(m[3]))


def on_one_offset(
    times: dict[Path, datetime], offsets: dict[Path, timedelta | None]
) -> tuple[dict[Path, datetime], timedelta | None, set[timedelta]]:
    """Local ``times`` moved onto the offset from UTC of the earliest image, where every image has
    an offset and they differ; with that offset and the offsets seen (None and an empty set where
    nothing moved)."""
    seen = {offsets.get(f) for f in times}
    if len(seen) < 2 or None in seen:
        return times, None, set()
    first = min(times, key=lambda f: times[f] - offsets[f])
    ref = offsets[first]
    return {f: t - (offsets[f] - ref) for f, t in times.items()}, ref, seen  # type: ignore[operator]


def exif_offsets_note(ref: timedelta, seen: set[timedelta]) -> str:
    shown = ", ".join(offset_text(o) for o in sorted(seen))
    return f"EXIF times with UTC offsets {shown} (daylight saving): put on {offset_text(ref)}"


def offset_text(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
