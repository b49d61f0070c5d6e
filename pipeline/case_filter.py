"""A case's search filter in a case file (:mod:`pipeline.case_file`), and back in another library.

A library keeps the filter's videos by its own video ids, numbers that mean another video (or none)
in a library that indexed the same files in another order. A case file therefore names each of the
filter's videos by the video's content SHA-256 (its path beside it, to show and as a fallback) since
format ``FILTER_VIDEOS_VERSION``, and taking the case up finds each one again in this library by its
content, else by its path where the content is not known on one side (a different recording at the
same path is not the video). A video not found is left out of the filter and the import says so;
the import never points the filter at another video. A file of format 1 named them by the ids of
the library it came from, which say nothing about which videos they were: they are left out, and
said. A filter that does not read as written (cameras given as one string, a time or region that is
not one, a field this Spotter does not know) refuses the file: read leniently, it searched wider
than the case meant.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pipeline.errors import SearchError
from pipeline.search_filter import checked_filter
from pipeline.storage import Library

log = logging.getLogger(__name__)

FILTER_VIDEOS_VERSION = 2  # the case-file format that names the filter's videos by content


def filter_for_file(library: Library, case_name: str, stored: str) -> dict:
    """The case's filter (as the library stores it) as a case file keeps it: its videos as
    ``{"sha256", "path"}``. A video the library no longer has is named by neither, and said (here,
    the filter keeps it out of the search: taken up elsewhere, it is left out of the filter)."""
    doc = json.loads(stored or "{}")
    if not isinstance(doc, dict) or not doc.get("videos"):
        return doc if isinstance(doc, dict) else {}
    named = []
    for video in doc["videos"]:
        identity = library.video_identity(int(video))
        if identity is None:
            log.warning("case %r: its filter's video %s is no longer in the library", case_name, video)
            named.append({"sha256": "", "path": ""})
        else:
            named.append({"sha256": identity.content_sha256, "path": identity.path})
    return doc | {"videos": named}


def check_file_filter(doc: object, version: int) -> None:
    """SearchError (one line, naming the field) for a case file's filter that cannot be applied as
    written; its videos are checked for the form of the file's format."""
    if not isinstance(doc, dict):
        raise SearchError("the case's filter is not an object")
    videos = doc.get("videos") or []
    if version >= FILTER_VIDEOS_VERSION:
        named = isinstance(videos, list) and all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) and isinstance(v.get("path"), str)
            for v in videos
        )
        if not named:
            raise SearchError(f"the filter's videos are not {{sha256, path}} objects: {videos!r}")
        videos = []
    checked_filter(doc | {"videos": videos})


def filter_from_file(library: Library, doc: dict, version: int) -> tuple[str, tuple[str, ...]]:
    """(the filter of a case file checked by :func:`check_file_filter` as this library stores it,
    with its videos as this library's ids; what the import must say of videos left out)."""
    videos = doc.get("videos") or []
    if not videos:
        return json.dumps(doc), ()
    found, missing, gone = [], [], 0
    for video in videos:
        if version < FILTER_VIDEOS_VERSION:
            continue  # another library's ids: nothing says which videos they are
        if not video["sha256"] and not video["path"]:
            gone += 1
            continue
        here = _video_here(library, video["sha256"], video["path"])
        if here is None:
            missing.append(Path(video["path"]).name or video["sha256"][:12])
        else:
            found.append(here)
    notes = []
    if version < FILTER_VIDEOS_VERSION:
        ids = ", ".join(map(str, videos))
        notes.append(
            f"the filter's videos ({ids}: numbers of the library the file came from, which a format-1 "
            "file does not name) are left out of the filter"
        )
    if missing:
        notes.append(
            f"the filter's video(s) {', '.join(missing)} are not in this library: left out of the filter"
        )
    if gone:
        notes.append(
            f"{gone} of the filter's videos were no longer in the library the file came from: "
            "left out of the filter"
        )
    if not found:
        notes[-1] += " (it now searches every video)"
    return json.dumps(doc | {"videos": list(dict.fromkeys(found))}), tuple(notes)


def _video_here(library: Library, sha256: str, path: str) -> int | None:
    """This library's id of a video by its content, else by its path where its content is unknown on
    one side (a different recording at that path is not the video); None if neither."""
    if sha256:
        found = library.find_video(sha256, "")
        if found is not None:
            return found
    found = library.find_video("", path) if path else None
    if found is None:
        return None
    identity = library.video_identity(found)
    known_here = identity is not None and identity.content_sha256
    return found if not sha256 or not known_here else None
