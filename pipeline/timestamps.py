"""Dates and times written in file names, as recorders and cameras write them.

NVRs and cameras name exports and snapshots after the moment they start, in a handful of layouts:
``Cam03_20261121_143000.mp4``, ``2026-11-21 14-30-00 Entrance.mp4``, ``IMG_20261121_143000_250.jpg``,
``snapshot_2026-11-21T14:30:00.250.jpg``. :func:`time_in_name` finds such a date and time (with
milliseconds where given) and refuses digit runs that are not one (frame numbers, ids): the year must
be plausible and every field in range.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

MIN_YEAR, MAX_YEAR = 1990, 2100  # a recorded time outside these years is a clock never set (0000, 1970)
FUTURE_SLACK = timedelta(days=1)  # a capture time later than now by more than this is a wrong clock


def plausible(when: datetime) -> bool:
    """Whether a recorded (naive local) time can be a real capture time: not from a clock never set
    (before ``MIN_YEAR``), nor later than now (by more than ``FUTURE_SLACK``: time zones, drift)."""
    return MIN_YEAR <= when.year <= MAX_YEAR and when <= datetime.now() + FUTURE_SLACK


# Fractions of a second: any digits after a decimal point or comma (ISO 8601); after "_" or "-", or
# glued to the seconds (``20261121143000250``, as Hikvision names snapshots), only milliseconds or
# microseconds: ``_1``, ``_2`` ... ``_12`` are a burst's counter, not tenths (read as fractions,
# ``_10`` would come before ``_2``).
_FRACTION = r"(?:[.,](?P<f>\d{1,6})|[_-]?(?P<g>\d{6}|\d{3}))?(?!\d)"
_PATTERNS = (
    # 2026-11-21 14-30-00(.250)  2026-11-21T14:30:00  2026_11_21_14_30_00
    re.compile(
        r"(?<!\d)(?P<Y>\d{4})[-_.](?P<m>\d{2})[-_.](?P<d>\d{2})[ _T-]?(?P<H>\d{2})[-_.:h](?P<M>\d{2})"
        r"[-_.:m](?P<S>\d{2})" + _FRACTION
    ),
    # 20261121_143000(_250)  20261121T143000  20261121143000  20261121143000250
    re.compile(
        r"(?<!\d)(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})[ _T-]?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})" + _FRACTION
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
            frac = m["f"] or m["g"] or ""
            micro = int(frac.ljust(6, "0")[:6]) if frac else 0
            try:
                when = datetime(y, mo, d, h, mi, s, micro)
            except ValueError:  # month 13, 25 o'clock: not a time
                continue
            if plausible(when):
                out.append((when, m.span()))
    return out
