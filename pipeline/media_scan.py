"""What indexing a folder means: the video files anywhere below it and the folders of images in it
(each one camera's snapshots), found in one pass over the tree.

One pass with :func:`os.scandir` (whose entries carry the file type, so a file is not stat'ed twice)
instead of a glob per question: a recorder's export of a day of 1 fps snapshots holds 86,400 files,
often on a network share, and the desktop app walks a dropped folder before it can say what it found.
Links to folders are looked into (their images count) but not walked below, as :meth:`Path.rglob`
does, so a link that loops cannot make the walk endless; a folder that cannot be listed is skipped
and logged, not fatal to the rest of the drop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.image_files import IMAGE_EXTENSIONS
from pipeline.image_sequence import MIN_IMAGES

log = logging.getLogger(__name__)

# containers FFmpeg reads, and what recorders export: Dahua .dav, raw H.264/H.265 streams (.264,
# .h265...), MPEG-TS from camcorders (.mts, .m2ts), ASF from older DVRs, Motion JPEG, DV
VIDEO_EXTENSIONS = (
    ".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".webm", ".wmv", ".flv",
    ".dav", ".264", ".h264", ".265", ".h265", ".hevc", ".mts", ".m2ts", ".asf", ".3gp", ".vob",
    ".mjpeg", ".mjpg", ".dv", ".mxf", ".ogv",
)  # fmt: skip


HEADER_BYTES = 16  # read from a file without a known extension to tell what it holds
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*", b"GIF87a", b"GIF89a")
_VIDEO_MAGIC = (
    b"\x1a\x45\xdf\xa3",  # Matroska, WebM
    b"\x30\x26\xb2\x75",  # ASF, WMV
    b"\x00\x00\x01\xba",  # MPEG program stream (DVD, .mpg)
    b"FLV",
    b"DHAV",  # Dahua recorders
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif")


@dataclass(frozen=True)
class MediaScan:
    """What one walk of a folder found."""

    videos: tuple[Path, ...]  # video files (by extension), sorted
    sequences: tuple[Path, ...]  # folders directly holding at least MIN_IMAGES images, sorted
    lone_image_folder: Path | None = None  # a folder holding fewer (for the "nothing here" error)
    unreadable: tuple[Path, ...] = ()  # folders that could not be listed (skipped)

    @property
    def media(self) -> list[Path]:
        """Everything to index, sorted: the videos and the folders of images."""
        return sorted([*self.videos, *self.sequences])


def scan_media(folder: Path, cancelled: Callable[[], bool] | None = None) -> MediaScan:
    """Walk ``folder`` (itself included) once; see the module docstring. ``cancelled`` is asked
    before each folder is listed: when it says so, what was found so far is returned."""
    videos: list[Path] = []
    sequences: list[Path] = []
    unreadable: list[Path] = []
    lone: Path | None = None
    pending = [folder]
    while pending and not (cancelled and cancelled()):
        here = pending.pop()
        images = 0
        try:
            with os.scandir(here) as entries:
                for entry in entries:
                    try:
                        kind = _kind(entry)
                    except OSError:  # a link that loops, a file gone since the listing
                        continue
                    if kind == "folder":
                        pending.append(Path(entry.path))
                    elif kind == "video":
                        videos.append(Path(entry.path))
                    elif kind == "image":
                        images += 1
                    elif kind == "linked folder":  # looked into, not walked below
                        linked = _count_images(Path(entry.path))
                        sequences += [Path(entry.path)] if linked >= MIN_IMAGES else []
                        lone = lone or (Path(entry.path) if 0 < linked < MIN_IMAGES else None)
        except OSError as e:
            log.warning("%s: cannot list the folder (%s); skipped", here, e.strerror or e)
            unreadable.append(here)
            continue
        if images >= MIN_IMAGES:
            sequences.append(here)
        elif images and lone is None:
            lone = here
    return MediaScan(tuple(sorted(videos)), tuple(sorted(sequences)), lone, tuple(unreadable))


def _kind(entry: os.DirEntry) -> str:
    """What a folder entry is to indexing: folder, video, image, linked folder, or other."""
    if entry.is_dir(follow_symlinks=False):
        return "folder"
    suffix = os.path.splitext(entry.name)[1].lower()
    if suffix in VIDEO_EXTENSIONS and entry.is_file():
        return "video"
    if suffix in IMAGE_EXTENSIONS and entry.is_file():
        return "image"
    if entry.is_symlink() and entry.is_dir():
        return "linked folder"
    return "other"


def _count_images(folder: Path) -> int:
    count = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    count += _kind(entry) == "image"
                except OSError:
                    continue
    except OSError:
        return 0
    return count


def content_kind(path: Path) -> str | None:
    """ "image" or "video" from a regular file's first bytes (a photo saved without its extension, a
    recorder's export named by channel), or None: neither, or not a regular file (a pipe would block)."""
    try:
        if not path.is_file():
            return None
        with path.open("rb") as f:
            head = f.read(HEADER_BYTES)
    except OSError:
        return None
    return kind_of(head)


def kind_of(head: bytes) -> str | None:
    """ "image" or "video" from a file's first bytes (``HEADER_BYTES`` of them), or None: neither."""
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[4:8] == b"ftyp":  # ISO media: MP4, MOV, 3GP, or a HEIC/AVIF photo
        return "image" if head[8:12] in _HEIF_BRANDS else "video"
    if head.startswith(_VIDEO_MAGIC) or (head[:4] == b"RIFF" and head[8:11] == b"AVI"):
        return "video"
    return None


def media_in(folder: Path) -> list[Path]:
    """Every video file anywhere below ``folder`` and every folder below it (itself included) that
    directly holds a sequence of images (snapshots of one camera), sorted."""
    return scan_media(folder).media


def nothing_in(scan: MediaScan) -> str:
    """Why a folder whose scan found nothing to index holds nothing to index (for the error)."""
    if scan.lone_image_folder is None:
        return "no videos and no folders of images in it"
    return (
        f"no videos, and no folder of at least {MIN_IMAGES} images in it ({scan.lone_image_folder} "
        "holds one; one image is a photo to search with: main.py search --query IMAGE)"
    )
