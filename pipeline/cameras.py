"""Which camera a video comes from and when its recording started, as wall-clock time.

Every video belongs to a camera (a name) and may have a known recording start. Spotter fills both in
by itself where it can; the operator corrects them (``main.py videos --set-camera/--set-start``, the
app's library menu), and indexing again never undoes a correction.

- Start: a date and time in the file name as recorders write them (``Cam03_20261121_143000.mp4``,
  ``2026-11-21 14-30-00 Entrance.mp4``; see :mod:`pipeline.timestamps`), else for a folder of
  snapshots the first image's capture time, else the container's ``creation_time`` tag. File names
  and EXIF hold the recorder's local time; the container tag is UTC by convention (ISO 8601 with a
  ``Z``) and is turned into this computer's local time. All clock times are naive local times.
- Camera: the words beside the date and time in the file name (``Cam03``, ``Entrance``), else the
  name of the folder the video or snapshots are in (``/footage/Entrance/0001.mp4`` -> ``Entrance``).

A video with no known start keeps offsets from its start ("0:12.3") wherever a time is shown.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from pipeline.file_names import normal_name
from pipeline.timestamps import time_in_name, times_in_name, without_times
from pipeline.types import clock_at, fmt_time

log = logging.getLogger(__name__)

# where a video's start or camera came from; OPERATOR is never overwritten by a guess
FROM_NAME, FROM_SNAPSHOTS, FROM_CONTAINER, FROM_FOLDER, OPERATOR = (
    "file name",
    "snapshots",
    "container",
    "folder",
    "operator",
)
_WORD_EDGES = " _-.,()[]"
# images whose names are read for a date-named folder's camera: spread over the folder (a day of
# snapshots at 1 fps is 86,400 names; the camera's name is in each, or in none)
CAMERA_NAME_SAMPLE = 64
# what recorders and phones call any image, not a camera: ``CamA/2026-11-25/snapshot_...jpg`` and
# ``CamB/2026-11-25/snapshot_...jpg`` are cameras CamA and CamB, not one camera "snapshot"
GENERIC_IMAGE_NAMES = frozenset({"snapshot", "snapshots", "snap", "image", "img", "capture", "frame"}) | {
    *("photo", "picture", "pic", "still", "shot", "screenshot", "motion", "alarm", "event", "record"),
    *("recording", "video", "export", "jpeg", "jpg"),
}
# a folder named by a day alone (2026-11-25, 20261125, 2026_11_25): a recorder's export of one day
_DATE_ONLY = re.compile(r"^[^\w]*(19|20)\d\d[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])[^\w]*$")
_COUNTER_AFTER_TIME = re.compile(r"^[ _.-]*(\(\d{1,4}\)(?=$|[ _.-])|\d{1,4}$)")


def guess_camera(
    path: str | Path, is_folder: bool | None = None, images: Sequence[Path] = ()
) -> tuple[str, str]:
    """(camera name, where it came from), the name as an operator's is kept (:func:`normal_name`: a
    folder named on macOS is decomposed), see :func:`_guess_camera`."""
    name, source = _guess_camera(path, is_folder, images)
    return normal_name(name), source


def _guess_camera(
    path: str | Path, is_folder: bool | None = None, images: Sequence[Path] = ()
) -> tuple[str, str]:
    """(camera name, where it came from) for a video file or a folder of snapshots (a path that
    cannot be looked at, an unmounted share, is taken as a file). ``is_folder`` says which it is
    when the caller knows (a snapshot of a listed folder), so that no file is looked at. A folder
    named by a date alone (a recorder's export of a day, ``Cam03/2026-11-25``) is no camera: its
    ``images`` name it where every one names the same camera (``Cam03_20261125_100000.jpg``), else
    the folder above does."""
    path = Path(path)
    if images and (is_folder or (is_folder is None and os.path.isdir(path))):
        name, source = guess_camera(path, True)
        if not _DATE_ONLY.match(path.name):
            return name, source
        step = max(1, len(images) // CAMERA_NAME_SAMPLE)
        named = {guess_camera(f, False) for f in [*images[::step], images[-1]]}
        if len(named) == 1 and next(iter(named))[1] == FROM_NAME:
            said = next(iter(named))[0]
            if re.sub(r"[^a-z]", "", said.lower()) not in GENERIC_IMAGE_NAMES:
                return said, FROM_SNAPSHOTS
        return (path.parent.name or name), FROM_FOLDER
    # isdir is False, not an error, for a path that cannot be looked at
    folder_itself = os.path.isdir(path) if is_folder is None else is_folder
    stem = path.name if folder_itself else path.stem
    times = times_in_name(stem)
    if times:
        spans = [span for _, span in times]
        first, last = min(a for a, _ in spans), max(b for _, b in spans)
        # a number that ends the name after the time is a burst's counter (cam1_20261201_142233_1.jpg),
        # a "(2)" right after it a copy's ("Entrance 2026-12-01 14-22-33 (2).mp4"): not the camera's
        # name; a number with more after it may be a channel (NVR_20261201_142233_5_main) and stays
        after = _COUNTER_AFTER_TIME.sub("", stem[last:], count=1)
        rest = without_times(stem[:first] + " " + stem[first:last] + " " + after)
        rest = re.sub(r"\s{2,}", " ", rest).strip(_WORD_EDGES)
        rest = re.sub(r"[ _.-]{2,}", lambda m: m.group(0)[0], rest)
        if any(c.isalpha() for c in rest):
            return rest, FROM_NAME
    folder = path.name if folder_itself else path.parent.name
    return (folder or stem), FROM_FOLDER


def guess_start(
    path: str | Path, snapshots_start: datetime | None = None, container: bool = True
) -> tuple[datetime | None, str]:
    """(recording start as naive local time, where it came from), or (None, "") when unknown;
    ``container=False`` reads no file (the name and the snapshots' time only)."""
    path = Path(path)
    named = time_in_name(path.name if os.path.isdir(path) else path.stem)
    if named is not None:
        return named, FROM_NAME
    if snapshots_start is not None:
        return snapshots_start, FROM_SNAPSHOTS
    if container and os.path.isfile(path):
        created = container_creation_time(path)
        if created is not None:
            return created, FROM_CONTAINER
    return None, ""


def container_creation_time(path: Path) -> datetime | None:
    """The container's ``creation_time`` tag as naive local time (None when absent or unreadable)."""
    import av

    try:
        with av.open(str(path)) as c:
            tags = dict(c.metadata)
            for s in c.streams.video[:1]:
                tags.setdefault("creation_time", s.metadata.get("creation_time", ""))
    except (av.FFmpegError, OSError, ValueError) as e:
        log.debug("%s: no container tags (%s)", path, e)
        return None
    raw = str(tags.get("creation_time") or "").strip()
    if not raw:
        return None
    try:
        when = parse_clock(raw, utc_if_naive=True)
    except ValueError:
        return None
    if when.year < 1990:  # an unset recorder clock (1970, 1904): not a time
        return None
    return when


RECORDING_YEARS = (1900, 2999)  # a time outside these years is a typing error (and would overflow a clock)


def parse_clock(text: str, utc_if_naive: bool = False) -> datetime:
    """An ISO 8601 date and time (``2026-11-21T14:30:00``, ``2026-11-21 14:30``, with ``Z`` or an
    offset) as naive local time; a date alone is its midnight. ValueError names what is wrong."""
    raw = str(text).strip()
    if raw[-1:] in ("Z", "z"):  # UTC; Python 3.10's fromisoformat does not read the Z
        raw = raw[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date and time (ISO 8601, e.g. 2026-11-21T14:30:00 or '2026-11-21 14:30')"
        ) from None
    if not RECORDING_YEARS[0] <= when.year <= RECORDING_YEARS[1]:
        raise ValueError(f"{text!r} is outside the years {RECORDING_YEARS[0]}-{RECORDING_YEARS[1]}")
    if when.tzinfo is None and utc_if_naive:
        when = when.replace(tzinfo=timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return when


def clock_label(start: datetime | None, offset_s: float, camera: str = "") -> str:
    """What an operator reads: ``2026-11-21 14:31:07, Entrance``; ``0:12.3, Entrance`` when the
    video's start is unknown."""
    when = clock_at(start, offset_s)
    shown = when.strftime("%Y-%m-%d %H:%M:%S") if when is not None else fmt_time(offset_s)
    return f"{shown}, {camera}" if camera else shown
