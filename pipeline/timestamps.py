"""Dates and times written in file names, as recorders and cameras write them.

NVRs and cameras name exports and snapshots after the moment they start, in a handful of layouts:
``Cam03_20261121_143000.mp4``, ``2026-11-21 14-30-00 Entrance.mp4``, ``IMG_20261121_143000_250.jpg``,
``snapshot_2026-11-21T14:30:00.250.jpg``. :func:`time_in_name` finds such a date and time (with
milliseconds where given) and refuses digit runs that are not one (frame numbers, ids): the year must
be plausible and every field in range.
"""

from __future__ import annotations

import re
from datetime import datetime

MIN_YEAR, MAX_YEAR = 1990, 2100  # a recorded time outside these years is a clock never set (0000, 1970)

_SEP = r"[-_.: ]?"
_PATTERNS = (
    # 2026-11-21 14-30-00(.250)  2026-11-21T14:30:00  2026_11_21_14_30_00
    re.compile(
        r"(?<!\d)(?P<Y>\d{4})[-_.](?P<m>\d{2})[-_.](?P<d>\d{2})[ _T-]?(?P<H>\d{2})[-_.:h](?P<M>\d{2})"
        r"[-_.:m](?P<S>\d{2})(?:[.,_](?P<f>\d{1,6}))?(?!\d)"
    ),
    # 20261121_143000(_250)  20261121T143000  20261121143000
    re.compile(
        r"(?<!\d)(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})[ _T-]?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})"
        r"(?:[.,_-](?P<f>\d{1,6}))?(?!\d)"
    ),
)


def time_in_name(name: str) -> datetime | None:
    """The date and time in a file name (naive local time, as the recorder wrote it), or None."""
    found = times_in_name(name)
    return found[0][0] if found else None


def without_times(name: str) -> str:
    """The name with every date and time in it cut out (what is left names the camera, often)."""
    for _, (start, end) in sorted(times_in_name(name), key=lambda t: -t[1][0]):
        name = name[:start] + " " + name[end:]
    return name


def times_in_name(name: str) -> list[tuple[datetime, tuple[int, int]]]:
    """Every date and time in a file name with where it is (start, end), first layout first."""
    out: list[tuple[datetime, tuple[int, int]]] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(name):
            if any(a < m.end() and m.start() < b for _, (a, b) in out):
                continue
            y, mo, d = int(m["Y"]), int(m["m"]), int(m["d"])
            h, mi, s = int(m["H"]), int(m["M"]), int(m["S"])
            if not MIN_YEAR <= y <= MAX_YEAR:
                continue
            frac = m["f"] or ""
            micro = int(frac.ljust(6, "0")[:6]) if frac else 0
            try:
                out.append((datetime(y, mo, d, h, mi, s, micro), m.span()))
            except ValueError:  # month 13, 25 o'clock: not a time
                continue
    return out
