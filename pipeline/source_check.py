"""Is an indexed video still what was indexed? Before evidence is cut from it (:func:`verify_source`:
its content, from its quick fingerprint up to every byte), before its hits are drawn on it in the
player (:func:`playable_source`: its sampled fingerprint, which a file replaced by other footage
fails) and when a search lists its hits (:func:`missing_sources`: is it still where it was)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import ExportError, SpotterError, VideoError
from pipeline.image_sequence import ends_only_content, indexed_prefix
from pipeline.storage import Library
from pipeline.video import content_sha256, fingerprint, only_appended, probe

log = logging.getLogger(__name__)


def missing_sources(library: Library, video_ids: Iterable[int]) -> list[str]:
    """The indexed files, of these videos, that are gone from where they were indexed with no copy
    known (an alias) in their place: their hits cannot be played or cut to evidence until they are
    back. Cheap (one look at each path); :func:`verify_source` checks content when exporting."""
    gone = []
    for video_id in dict.fromkeys(video_ids):
        found = library.video_identity(video_id)
        if found is not None and not any(Path(p).exists() for p in (found.path, *found.aliases)):
            gone.append(found.path)
    return gone


def verify_source(library: Library, video_id: int) -> str:
    """The file to cut a video's evidence from: the one indexed, unchanged; else a copy found with
    the same content when it was indexed (an alias: the indexed file moved or replaced, its copy
    still there), checked by its whole content. Refused when neither is left: a changed file's clips
    would not show what its hits say; a folder of snapshots that has only gained images since is
    not changed for what was indexed of it. Cheap when nothing changed (size, time, sampled
    fingerprint); the whole content's hash decides otherwise."""
    found = library.video_identity(video_id)
    if found is None:
        raise ExportError(f"video {video_id} is no longer in the library")
    path, size, mtime, fp, content, aliases, frame_size = found
    try:
        info = probe(path)
    except SpotterError as e:
        problem = f"{path}: the indexed video cannot be read now ({e})"
    else:
        if (info.size, info.mtime, info.fingerprint) == (size, mtime, fp):
            return path
        if info.images is None:
            if content and info.size == size and content_sha256(info) == content:
                return path  # (another size is other content: a file that grew is not read whole)
            if content and only_appended(info, size, content):  # a recording that grew since: the
                return path  # frames indexed are there as they were
        elif content and (kept := indexed_prefix(info.images, content)):  # one read of the images
            if kept == len(info.images.files):  # all of them, as indexed
                return path
            timed = info.images.start is not None  # else every image is timed by name (one had none)
            as_indexed = library.folder_timing(video_id)
            if timed == (True if as_indexed is None else as_indexed) and (
                (info.width, info.height) == tuple(frame_size)
            ):
                return path  # it only gained images: those indexed are there as they were, and
                # timed as they were (by their own times, or by name a second apart, as when indexed)
        problem = (
            f"{path} has changed since it was indexed (its content differs): its clips would not show "
            "its hits; index it again before exporting evidence from it"
        )
        if info.images is not None and content and ends_only_content(info.images) == content:
            problem = (
                f"{path}: its images' times changed since it was indexed, and this library (indexed "
                "before 2026-12-02) kept only each image's ends, which cannot show the rest unchanged; "
                "index it again before exporting evidence from it"
            )
    for alias in aliases:
        try:
            copy = probe(alias)
            same = content and copy.size == size and content_sha256(copy) == content
        except SpotterError:
            continue
        if same:
            log.warning("%s; its copy %s (the same content) is used", problem.split(";")[0], alias)
            return str(copy.path)
    raise ExportError(problem)


def playable_source(library: Library, video_id: int) -> str:
    """The file to show a video's hits on: the one indexed, else a copy of it (an alias), that still
    holds the footage indexed. A video file is judged by its sampled fingerprint taken at the size
    indexed (2.3 MiB read: a file only touched, or one that grew since, a recording still being
    written, plays; another recording at the same path fails it); a folder of snapshots as export
    judges it (:func:`verify_source`: one whose oldest images a recorder's retention removed would
    show every hit on another image), which reads its images where it changed: the player keeps
    the answer while the folder stays as it was. Raises where none is left: the hits' boxes would
    be drawn on other footage, or on nothing."""
    found = library.video_identity(video_id)
    if found is None:
        raise VideoError(f"video {video_id} is no longer in the library")
    if any(Path(c).is_dir() for c in (found.path, *found.aliases)):
        try:  # a folder's images are what export checks (the caller keeps the answer while unchanged)
            return verify_source(library, video_id)
        except ExportError as e:
            raise VideoError(str(e).replace(" before exporting evidence from it", " to see its hits")) from e
    present = False
    for candidate in (found.path, *found.aliases):
        where = Path(candidate)
        try:
            size = where.stat().st_size
            present = True
            if size >= found.size and fingerprint(where, found.size) == found.fingerprint:
                return candidate
        except OSError:
            continue
    if not present:
        raise VideoError(f"{found.path}: not there any more (moved or deleted): its hits cannot be shown")
    raise VideoError(
        f"{found.path} has changed since it was indexed (its content differs): its hits are not shown "
        "on other footage; index it again to see its hits"
    )
