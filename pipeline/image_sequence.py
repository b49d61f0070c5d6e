"""A folder of still images (NVR snapshots, photos) read as one video: frames in capture order, each
with its capture time.

The capture time of an image is its EXIF ``DateTimeOriginal`` (with ``SubSecTimeOriginal``; moved to
the folder's first offset from UTC where ``OffsetTimeOriginal`` changes in it), else a date and time
in its file name (:mod:`pipeline.timestamps`); a folder where some images have neither
is ordered by name, and times are then only the order (``ASSUMED_INTERVAL_S`` apart), which the
probe's note says. Frame ``k`` is the ``k``-th image in that order; its time is its capture time
relative to the first image's. Images of another size than most are scaled to that size (one
camera's frames share a size; the note says when they did not).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from pipeline.clock_changes import (
    exif_offset,
    exif_offsets_note,
    on_one_offset,
)
from pipeline.errors import VideoError
from pipeline.file_names import shown
from pipeline.image_files import (
    IMAGE_EXTENSIONS,
    read_image,
    too_many_pixels,
)
from pipeline.timestamps import plausible, time_in_name
from pipeline.upright import orientation_left, oriented_size, read_exif

log = logging.getLogger(__name__)

MIN_IMAGES = 2  # a folder with fewer images is not a sequence
ASSUMED_INTERVAL_S = 1.0  # seconds between images whose capture times are unknown
MIN_TIMED_SHARE = 0.5  # least share of timed images that confirms names follow the capture times
CLOCKS_AGREE_S = 2.0  # an image's EXIF and file-name times further apart than this are two clocks
EXIF_IFD = 0x8769
DATETIME_ORIGINAL, SUBSEC_ORIGINAL = 36867, 37521
OFFSET_TIME, OFFSET_TIME_ORIGINAL = 0x9010, 0x9011  # the local time's offset from UTC ("+01:00")


def images_in(folder: Path) -> list[Path]:
    """The image files directly inside a folder (by extension; the listing says which entries are
    files, so a folder of 100,000 snapshots is not looked at file by file)."""
    try:
        with os.scandir(folder) as entries:
            return [
                folder / e.name
                for e in entries
                if os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS and e.is_file()
            ]
    except OSError as e:
        raise VideoError(f"{folder}: cannot list the folder ({e.strerror or e})") from e


class ImageFacts(NamedTuple):
    """What one look at an image file's header says (one Pillow open per image: a day of 1 fps
    snapshots is 86,400 of them)."""

    time: datetime | None  # EXIF DateTimeOriginal (+ sub-seconds), None when absent or unreadable
    size: tuple[int, int] | None  # (width, height) upright by its EXIF orientation; None: unreadable, or
    # beyond MAX_IMAGE_PIXELS (a decompression bomb must not set the sequence's size)
    offset: timedelta | None = None  # EXIF's offset of ``time`` from UTC, where the camera wrote it


def image_facts(path: Path) -> ImageFacts:
    """The capture time and upright size of an image file, from its header (pixels not decoded)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            exif = read_exif(img)  # a PNG's pixels are not decoded for it
            size = oriented_size(img.size, orientation_left(img, exif))
            sub_ifd = exif.get_ifd(EXIF_IFD)
    except Exception:  # any failure of Pillow's header parsers: the header does not open
        return ImageFacts(None, None)
    size = (int(size[0]), int(size[1]))
    offset = exif_offset(sub_ifd.get(OFFSET_TIME_ORIGINAL) or sub_ifd.get(OFFSET_TIME))
    return ImageFacts(_exif_time(sub_ifd), None if too_many_pixels(size) else size, offset)


def _exif_time(exif: Mapping[int, object]) -> datetime | None:
    raw = exif.get(DATETIME_ORIGINAL)
    if not raw:
        return None
    try:
        when = datetime.strptime(str(raw).strip()[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if not plausible(when):  # a camera whose clock was never set (or set wrong): no time at all
        return None
    sub = str(exif.get(SUBSEC_ORIGINAL) or "").strip()
    if sub.isdigit():
        when = when.replace(microsecond=int(sub.ljust(6, "0")[:6]))
    return when


@dataclass(frozen=True)
class Sequence:
    """The images of a folder in capture order, their times (seconds from the first), and what was
    assumed."""

    files: tuple[Path, ...]
    times: tuple[float, ...]
    start: datetime | None  # capture time of the first image, when known
    note: str
    sizes: tuple[tuple[int, int] | None, ...] = ()  # upright size of each file (None: unreadable)


def _one_camera(folder: Path, sizes: list[tuple[int, int] | None]) -> None:
    """Refuse a folder whose images share no size: one camera's snapshots share its picture size (or
    have runs of each), photos gathered from anywhere do not (a sweep: a case folder's two photos of
    the suspect were indexed as a camera, and each search for the suspect listed them)."""
    known = Counter(size for size in sizes if size is not None)
    if len(known) > 1 and max(known.values()) < MIN_IMAGES:
        raise VideoError(
            f"{folder}: its {len(sizes)} images are each of another size: photos, not one camera's "
            "snapshots (those share a size); not indexed (search with a photo: main.py search --query IMAGE)"
        )


def read_sequence(folder: Path) -> Sequence:
    """Order a folder's images by capture time; :class:`VideoError` if it holds too few images."""
    files = images_in(folder)
    if len(files) < MIN_IMAGES:
        raise VideoError(
            f"{folder}: a folder with {len(files)} image(s) is not an image sequence "
            "(give a video file, or a folder of at least two snapshots)"
        )
    mixed = cameras_named(files)
    named = ", ".join(shown(c) for c in mixed[:4]) + (", ..." if len(mixed) > 4 else "")
    mixed_note = (
        f"the file names name {len(mixed)} cameras ({named}): indexed as one camera their people are "
        "mixed up; give each camera's images a folder of its own"
        if mixed
        else ""
    )
    facts = {f: image_facts(f) for f in files}
    stamps, clock_note = _one_clock(files, facts)
    broken_note = ""
    if not all(stamps.values()):
        # a file without a time that is no image at all (a recorder's zero-byte file) must neither
        # cost the others their capture times nor be counted as an image without one: it is left
        # out, and said. Only files whose header does not even open are decoded to make sure.
        broken = {f for f in files if stamps[f] is None and facts[f].size is None and read_image(f) is None}
        if broken:
            files = [f for f in files if f not in broken]
            names = ", ".join(sorted(shown(f.name) for f in broken)[:3]) + (
                ", ..." if len(broken) > 3 else ""
            )
            broken_note = f"{len(broken)} file(s) that do not decode left out ({names})"
    _one_camera(folder, [facts[f].size for f in files])
    mixed_note = "; ".join(n for n in (mixed_note, broken_note, clock_note) if n)
    missing = sum(1 for f in files if stamps[f] is None)
    files.sort(key=lambda f: name_order(f.name))
    placed = _placed_by_name(files, stamps) if missing else stamps
    if placed is not None:
        files.sort(key=lambda f: (placed[f], name_order(f.name)))
        first = placed[files[0]]
        times = _spread([placed[f] for f in files])
        if missing:
            mixed_note = "; ".join(
                n
                for n in (
                    f"{missing} of {len(files)} images carry no usable capture time (EXIF or file name): "
                    "placed by name among the others, their times between their neighbours'",
                    mixed_note,
                )
                if n
            )
        return Sequence(tuple(files), tuple(times), first, mixed_note, tuple(facts[f].size for f in files))
    note = (
        f"{missing} of {len(files)} images carry no usable capture time (EXIF or file name): ordered by "
        f"name, assumed {ASSUMED_INTERVAL_S:g} s apart"
    )
    note = "; ".join(n for n in (note, mixed_note) if n)
    times = tuple(k * ASSUMED_INTERVAL_S for k in range(len(files)))
    return Sequence(tuple(files), times, None, note, tuple(facts[f].size for f in files))


def _one_clock(files: list[Path], facts: dict[Path, ImageFacts]) -> tuple[dict[Path, datetime | None], str]:
    """Each image's capture time, from one clock for the whole folder where it can be: EXIF (the
    camera's), else the file name (the recorder's) -- but the names' where every name has a time and
    EXIF does not (a folder timed half by one clock, half by another, is put out of order where the
    clocks differ); and a note where the two disagree. EXIF times are put on one offset from UTC
    where the camera's changed in the folder (:mod:`pipeline.clock_changes`)."""
    exif = {f: facts[f].time for f in files}
    named = {f: time_in_name(f.name) for f in files}
    names_only = all(named.values()) and not all(exif.values())
    timed = {f: t for f, t in exif.items() if t is not None}
    shifted, ref, seen = on_one_offset(timed, {f: facts[f].offset for f in timed})
    stamps = {f: named[f] if names_only else shifted.get(f) or named[f] for f in files}
    notes = [exif_offsets_note(ref, seen) if ref is not None and not names_only else ""]
    apart = [abs((exif[f] - named[f]).total_seconds()) for f in files if exif[f] and named[f]]
    differ = [a for a in apart if a > CLOCKS_AGREE_S]
    if differ:
        used = "the file names'" if names_only else "EXIF's where there is one"
        notes.insert(
            0,
            f"{len(differ)} images' EXIF times differ from the times in their names (by up to "
            f"{max(differ) / 3600:.1f} h): {used} used",
        )
    return stamps, "; ".join(n for n in notes if n)


def _spread(stamps: list[datetime]) -> list[float]:
    """Capture times (in order) as seconds from the first, strictly increasing: images that share a
    time written to the whole second (a camera taking several a second, its names without fractions)
    share that second evenly, up to the next image's time; other equal times keep their order a
    millisecond apart."""
    times = [(t - stamps[0]).total_seconds() for t in stamps]
    out = list(times)
    k = 0
    while k < len(out):
        j = k
        while j + 1 < len(out) and times[j + 1] == times[k]:
            j += 1
        if j > k:
            span = min(1.0, times[j + 1] - times[k]) if j + 1 < len(times) else 1.0
            step = span / (j - k + 1) if stamps[k].microsecond == 0 else 1e-3
            out[k : j + 1] = [times[k] + n * step for n in range(j - k + 1)]
        k = j + 1
    for k in range(1, len(out)):  # (a millisecond apart may reach the next image's time)
        out[k] = max(out[k], out[k - 1] + 1e-6)
    return out


def _placed_by_name(files: list[Path], stamps: dict[Path, datetime | None]) -> dict[Path, datetime] | None:
    """Times for images without one, where the names are confirmed to follow the capture times:
    ``files`` in name order, at least ``MIN_TIMED_SHARE`` of them timed and their times never going
    back in that order. An image without a time then lies between its named neighbours, its time
    between theirs (before the first or after the last timed image: the timed images' typical step
    away). None when the names are not confirmed (the folder is ordered by name alone)."""
    timed = [(k, stamps[f]) for k, f in enumerate(files) if stamps[f] is not None]
    if len(timed) < max(2, MIN_TIMED_SHARE * len(files)):
        return None
    pairs = list(itertools.pairwise(timed))
    if any(tb < ta for (_, ta), (_, tb) in pairs):
        return None
    steps = [(tb - ta).total_seconds() / (kb - ka) for (ka, ta), (kb, tb) in pairs]
    step = timedelta(seconds=float(np.median([s for s in steps if s > 0] or [ASSUMED_INTERVAL_S])))
    (k0, t0), (k1, t1) = timed[0], timed[-1]
    out = {files[k]: t0 - step * (k0 - k) for k in range(k0)}  # before the first timed image
    for (ka, ta), (kb, tb) in pairs:
        for k in range(ka, kb):
            out[files[k]] = ta + (tb - ta) * ((k - ka) / (kb - ka))
    out |= {files[k]: t1 + step * (k - k1) for k in range(k1, len(files))}  # the last and after it
    return out


def name_order(name: str) -> tuple[tuple[tuple[int, int | str], ...], str]:
    """Sort key of a file name as people order names: numbers by their value (``shot_2`` before
    ``shot_10``, a burst's counter), the rest by its characters (then the name itself: ``shot_01``
    and ``shot_1`` keep one order)."""
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p)
    return parts, name


def cameras_named(files: list[Path]) -> list[str]:
    """The cameras whose names the images' file names give beside their times (``CH01_20261121_
    143000.jpg``, ``CH02_...``), when they name more than one, each for several images (a name that
    changes with every image is a counter, not a camera); else []."""
    from pipeline.cameras import FROM_NAME, guess_camera

    named: dict[str, int] = {}
    for f in files:
        name, source = guess_camera(f, is_folder=False)  # images_in lists files
        if source == FROM_NAME:
            named[name] = named.get(name, 0) + 1
    several = sorted(n for n, count in named.items() if count >= MIN_IMAGES)
    return several if len(several) > 1 else []


def sequence_fingerprint(seq: Sequence) -> str:
    """Quick identity of a folder's content: names, sizes and modification times of its images, plus
    the bytes at the start and end of each (the folder's counterpart of a video's sampled
    fingerprint: a change is caught by a size or a time, and then :func:`sequence_content`)."""
    return _digest_after(_running_digests(seq, mtimes=True))


def sequence_content(seq: Sequence) -> str:
    """A folder's content: its images' names, sizes and whole bytes, in order, without modification
    times (a folder whose images were only touched, or copied without their times, has the same
    content). Whole images, as a video's content is its whole file: until 2026-12-02 only each
    image's first and last :data:`ENDS_ONLY` bytes were read (:func:`ends_only_content`), so an image
    altered in its middle was not told from the one indexed."""
    prefixes = content_prefixes(seq)
    return prefixes[-1] if prefixes else hashlib.sha256().hexdigest()


def content_prefixes(seq: Sequence) -> list[str]:
    """The :func:`sequence_content` of the folder's first 1, 2, ... n images (the last is the whole
    folder's): one read of every image answers both whether the folder is unchanged and how many
    of its first images are those indexed (:func:`indexed_prefix`)."""
    return [d.hexdigest() for d in _running_digests(seq, mtimes=False, whole=True)]


def ends_only_content(seq: Sequence) -> str:
    """The content a library of before 2026-12-02 kept of a folder (each image's name, size and
    first and last :data:`ENDS_ONLY` bytes): it cannot prove the images unchanged, so it is never
    taken for :func:`sequence_content`; it only tells why such a folder must be indexed again."""
    return _digest_after(_running_digests(seq, mtimes=False))


def indexed_prefix(seq: Sequence, content: str, prefixes: list[str] | None = None) -> int:
    """How many of the sequence's first images are, in the same order and with the same content
    (modification times aside), the images whose :func:`sequence_content` is ``content`` (0: none;
    all of them: the folder is unchanged). A camera's upload folder that gained images after it was
    indexed keeps its first images; an image added in between, changed or removed leaves 0.
    ``prefixes``: the folder's :func:`content_prefixes`, when already read."""
    found = content_prefixes(seq) if prefixes is None else prefixes
    return found.index(content) + 1 if content in found else 0


ENDS_ONLY = 4096  # bytes read at each end of an image by the quick fingerprint (and older contents)
BLOCK = 1 << 20  # bytes read at a time when an image is hashed whole


def _digest_after(digests: Iterator[hashlib._Hash]) -> str:
    final = hashlib.sha256()
    for final in digests:  # noqa: B007 - the last is the whole folder's
        pass
    return final.hexdigest()


def _running_digests(seq: Sequence, mtimes: bool = True, whole: bool = False) -> Iterator[hashlib._Hash]:
    """The hash after each image in turn (the same object, updated): each image's name, size (and
    modification time), and its bytes, ``whole`` or its first and last :data:`ENDS_ONLY`."""
    digest = hashlib.sha256()
    for f in seq.files:
        try:
            st = f.stat()
            when = f"{st.st_mtime_ns}\0" if mtimes else ""
            digest.update(os.fsencode(f.name) + f"\0{st.st_size}\0{when}".encode())
            with open(f, "rb") as fh:
                if whole:
                    while block := fh.read(BLOCK):
                        digest.update(block)
                else:
                    digest.update(fh.read(ENDS_ONLY))
                    if st.st_size > 2 * ENDS_ONLY:
                        fh.seek(st.st_size - ENDS_ONLY)
                        digest.update(fh.read(ENDS_ONLY))
        except OSError as e:  # unreadable (permissions), gone since it was listed, a share gone
            raise VideoError(f"{shown(f)}: cannot read this image ({e.strerror or e})") from e
        yield digest


def image_at(seq: Sequence, index: int, size: tuple[int, int]) -> np.ndarray | None:
    """BGR image ``index`` of the sequence scaled to ``size`` (w, h), or None where it does not decode."""
    img = read_image(seq.files[index])
    if img is not None and (img.shape[1], img.shape[0]) != size:
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img
