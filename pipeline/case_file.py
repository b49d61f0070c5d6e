"""A case as one file, to hand over or archive a case and take it up in another library.

The file is JSON (``.spotter-case``): the format name and version, the Spotter version that wrote it,
the case (name, who opened it and when, notes, filter), its query photos (the image bytes, so the file
stands alone, with each photo's vector and ReID model, and the box of the person searched for in it),
and the review: each mark's verdict, who and when, and the track it marks named the way any library
can find it: the video's content SHA-256 (its path as a fallback), the track's number and its first
and last frame.

Reading refuses, in one line and before anything is written, a file that is not JSON, not a case
file, or from a newer format version, or a field that is wrong: a vector not as long as the others
of its model (the file's, or this library's), a photo over the pixel limit of query photos (a
decompression bomb), a filter that does not read as written (:mod:`pipeline.case_filter`, which also
names the filter's videos by content: format 2). Taking a case up creates it in one transaction; a
mark whose video is not in the library, or whose track there does not span the same frames (the
video was indexed differently), is left out and counted, never attached to another person; what
else the import left out or chose (filter videos, a track both confirmed and rejected) it says.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.case_file_fields import (
    MAX_BOX_PX,
    CaseFileError,
    check_photo,
    check_text,
    check_vector_lengths,
    count,
    file_time,
    iso,
    mark_boxes,
    time_or_now,
    unit_vector,
)
from pipeline.case_filter import FILTER_VIDEOS_VERSION, check_file_filter, filter_for_file, filter_from_file
from pipeline.case_photos import new_folder, safe_name
from pipeline.errors import SearchError
from pipeline.file_names import one_line
from pipeline.mark_matching import boxes_of, same_person, same_span
from pipeline.storage import Library
from pipeline.storage.cases import MAX_CASE_NAME, VERDICTS, CaseInfo, ImportedCase
from pipeline.storage.records import box_from_json, clean_name
from pipeline.version import version as spotter_version

log = logging.getLogger(__name__)

CASE_FORMAT = "spotter-case"
CASE_FILE_VERSION = FILTER_VIDEOS_VERSION  # the newest format this Spotter writes and reads
FIRST_VERSION = 1  # a file whose filter names no videos is written as this: older Spotters read it
# Two marks of a file on what in this library is one track, one confirmed and one rejected (two tracks
# there that are one here, or a file edited by hand): the confirmation is kept, whichever came last,
# and the import says so. A rejection taken over it would take a sighting out of the case unseen; a
# confirmation kept is in front of the operator (refine, report) to review.
CONFLICT_KEEPS = "confirmed"
CASE_SUFFIX = ".spotter-case"
MAX_CASE_FILE_BYTES = 1 << 30  # a larger file is refused unread (a case's photos take a few MB)


@dataclass(frozen=True)
class CaseImport:
    name: str
    photos: int
    marks: int
    marks_left_out: int
    notes: tuple[str, ...] = ()  # what the import left out or chose, for the operator to know
    missing_videos: tuple[str, ...] = ()  # the file's paths of marked videos this library has not indexed
    updated: bool = False  # the library had the case already (the same case): ``marks`` were taken up
    can_update: bool = True  # the file says when its case was opened: importing it again updates it
    marked_here: int = 0  # an update's marks on tracks the case had marked already (kept as they were)

    def summary(self) -> str:
        """One line: what the import did, what it left out and chose."""
        if self.updated:
            said = (
                f"case {self.name!r} updated: {self.marks} marks taken up, {self.marked_here} there already"
            )
        else:
            said = f"case {self.name!r}: {self.photos} photos, {self.marks} marks"
        left = f"; {self.left_out_words()}" if self.marks_left_out else ""
        return one_line(said + left + "".join(f"; {note}" for note in self.notes))  # names from the file

    def left_out_words(self) -> str:
        """What the marks left out were, and how to take them up ("" when none was)."""
        if not self.marks_left_out:
            return ""
        said = f"{self.marks_left_out} marks left out: their videos or tracks are not in this library"
        if self.missing_videos:
            names = ", ".join(Path(p).name for p in self.missing_videos[:3])
            more = f" and {len(self.missing_videos) - 3} more" if len(self.missing_videos) > 3 else ""
            said += (
                f" ({len(self.missing_videos)} videos not indexed here: {names}{more}; index them, then "
                + (
                    "import the file again to take those marks up)"
                    if self.can_update
                    else "import the file again under a new name: it does not say when its case was opened, "
                    "so it cannot update this one)"
                )
            )
        return said


def write_case_file(library: Library, name: str, out: Path) -> Path:
    """Write the case to ``out`` (never over an existing file); returns the path."""
    if not str(out).strip():
        raise CaseFileError(f"--out is empty: give a file name (NAME{CASE_SUFFIX})")
    out = Path(out)
    if out.is_dir() or (out.exists() and not out.is_file()):  # a folder, /dev/null
        raise CaseFileError(f"{out} is not a file name: give one such as {out / ('case' + CASE_SUFFIX)}")
    if out.suffix != CASE_SUFFIX:
        out = out.with_name(out.name + CASE_SUFFIX)
    case = library.case(name)
    photos = []
    for (path, model, vector), grey, box in zip(case.photos, case.photo_greys, case.photo_boxes):
        try:
            image = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        except OSError as e:  # the photo file is gone: its vector still searches, and the file says so
            image = None
            log.warning(
                "case %r: query photo %s is not written into the file (%s)", name, path, e.strerror or e
            )
        photo = {"name": Path(path).name, "model": model, "vector": vector.tolist(), "image": image}
        photos.append(photo | {"grey_vector": None if grey is None else grey.tolist(), "box": box})
    marks = []
    tracks = library.tracks([m.track_pk for m in case.marks])
    for m, (path, sha, track, first, last) in zip(case.marks, library.mark_details(name)):
        boxes = boxes_of(tracks[m.track_pk].path) if m.track_pk in tracks else []
        marks.append(
            {
                "video": path,
                "video_sha256": sha,
                "track_id": track,
                "first_frame": first,
                "last_frame": last,
                "verdict": m.verdict,
                "by": m.marked_by,
                "at": iso(m.marked_at),
                "boxes": boxes,  # the marked person, to find them again where numbers differ
            }
        )
    where = filter_for_file(library, name, case.filter_json)
    doc = {
        "format": CASE_FORMAT,
        "version": CASE_FILE_VERSION if where.get("videos") else FIRST_VERSION,
        "written_by": f"Spotter {spotter_version()}",
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "case": {
            "name": case.name,
            "created_by": case.created_by,
            "created_at": iso(case.created_at),
            "notes": case.notes,
            "filter": where,
        },
        "photos": photos,
        "marks": marks,
    }
    text, made = json.dumps(doc), False
    try:
        with open(out, "x", encoding="utf-8") as f:  # "x": an existing file is never overwritten
            made = True
            f.write(text)
    except FileExistsError:
        raise CaseFileError(f"{out} exists already: choose another name (nothing is overwritten)") from None
    except OSError as e:
        if made:  # a full disk: no half a case file left behind (this call made it)
            out.unlink(missing_ok=True)
        raise CaseFileError(f"cannot write {out}: {e.strerror or e}; nothing was kept") from e
    return out


def read_case_file(path: Path) -> dict:
    """The case file's content, checked; CaseFileError (one line) when it cannot be taken up."""
    try:
        if not Path(path).exists():
            raise CaseFileError(f"{path}: no such file")
        if not Path(path).is_file():  # a folder, or a device that never ends (/dev/zero)
            raise CaseFileError(f"{path} is not a file: give a {CASE_SUFFIX} file")
        size = Path(path).stat().st_size
        if size > MAX_CASE_FILE_BYTES:
            raise CaseFileError(f"{path} is {size / 2**20:.0f} MiB: not a Spotter case file (too large)")
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise CaseFileError(f"cannot read {path}: {e.strerror or e}") from e
    except ValueError:  # not UTF-8, not JSON, or an integer longer than Python converts (4300 digits)
        raise CaseFileError(f"{path} is damaged or not a Spotter case file (not readable JSON)") from None
    except RecursionError:  # "[[[[..." deeper than the JSON reader goes
        raise CaseFileError(f"{path} is damaged or not a Spotter case file (JSON nested too deep)") from None
    if not isinstance(doc, dict) or doc.get("format") != CASE_FORMAT:
        raise CaseFileError(f"{path} is not a Spotter case file")
    try:
        check_text(doc)
    except ValueError as e:
        raise CaseFileError(f"{path} is damaged or not a Spotter case file ({e})") from None
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CaseFileError(f"{path} is damaged: its format version is {version!r}")
    if version > CASE_FILE_VERSION:
        raise CaseFileError(
            f"{path} was written by a newer Spotter ({doc.get('written_by', '?')}, case format {version}); "
            f"this one reads up to format {CASE_FILE_VERSION}: update Spotter to open it"
        )
    try:
        case = doc["case"]
        str(case["name"])
        check_file_filter(case.get("filter") or {}, version)
        file_time(case.get("created_at"))
        for p in doc["photos"]:
            vector = unit_vector(p["vector"])
            str(p["model"])
            if p.get("grey_vector") is not None and unit_vector(p["grey_vector"]).size != vector.size:
                raise ValueError("a photo's grey vector differs in length from its vector")
            if p.get("box") is not None and box_from_json(json.dumps(p["box"])) is None:
                raise ValueError("a photo's box is not [x1, y1, x2, y2] with x1 < x2 and y1 < y2")
        check_vector_lengths(doc["photos"])
        for m in doc["marks"]:
            count(m["track_id"]), count(m["first_frame"]), count(m["last_frame"]), file_time(m.get("at"))
            if m.get("boxes") is not None and not mark_boxes(m["boxes"]).size:
                raise ValueError(
                    f"a mark's boxes are not [frame, x1, y1, x2, y2] rows within {MAX_BOX_PX:.0f} px"
                )
            if m["verdict"] not in VERDICTS:
                raise ValueError(f"a mark's verdict is {m['verdict']!r}, not one of {', '.join(VERDICTS)}")
    except SearchError as e:
        raise CaseFileError(f"{path} is damaged: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as e:
        what = f"no {e.args[0]!r} field" if isinstance(e, KeyError) else str(e)
        raise CaseFileError(f"{path} is damaged: a required field is missing or wrong ({what})") from None
    return doc


def import_case(
    library: Library,
    path: Path,
    name: str | None = None,
    photo_dir: Path | None = None,
    rename_if_taken: bool = False,
) -> CaseImport:
    """Take up a case file in the library (as ``name``, default the case's own; with
    ``rename_if_taken``, ``NAME (2)``, ``NAME (3)``... when that name is taken by another case); its
    photos are written under ``photo_dir`` (default: ``case photos/NAME`` beside the library). Where
    the library has this case already (opened by the same person at the same second, with the same
    photos, under any name where none is given: the file imported before, or exported from here),
    its marks that the case lacks are taken up (marks of videos indexed since), and nothing else
    changes."""
    doc = read_case_file(path)
    case = doc["case"]
    anywhere = name is None  # the file's own name: the case may have been taken up under another
    name = clean_name(str(case["name"] if name is None else name), MAX_CASE_NAME, "case")  # before any write
    cases = library.cases()
    taken = {n for n, _, _ in cases}
    same = _same_case_here(library, doc, name, cases, anywhere)
    update = same is not None
    name = same.name if same is not None else name
    if name in taken and rename_if_taken and not update:
        name = next(f"{name} ({k})" for k in range(2, len(taken) + 3) if f"{name} ({k})" not in taken)
    if name in taken and not update:
        raise CaseFileError(
            f"the library has another case named {name!r} already (opened by someone else or at another "
            "time): import it with --as NEW_NAME"
        )
    try:
        check_vector_lengths(doc["photos"], library)
    except ValueError as e:
        raise CaseFileError(f"{path} does not fit this library: {e}") from None
    where, notes = filter_from_file(library, case.get("filter") or {}, doc["version"])
    notes = () if update else notes  # an update leaves the case's filter as it is
    images = []
    for k, p in enumerate(doc["photos"]):
        try:
            images.append(base64.b64decode(p["image"], validate=True) if p.get("image") else None)
        except (binascii.Error, TypeError):
            raise CaseFileError(f"{path} is damaged: photo {k + 1} does not decode") from None
        if images[-1] is not None:
            check_photo(images[-1], p.get("box"), f"{path} is damaged: photo {k + 1}")
    marks, left_out, videos, missing, both = {}, 0, {}, {}, {}
    for m in doc["marks"]:
        video = library.find_video(str(m.get("video_sha256") or ""), str(m.get("video") or ""))
        found = None if video is None else _marked_track(library, m, video, videos)
        if found is None:
            left_out += 1
            if video is None:  # not indexed here: said, with how to take the mark up
                missing[str(m.get("video") or "")] = None
            continue
        before, verdict = marks.get(found, (None, None))[1], str(m["verdict"])
        if before is not None and before != verdict:
            both[found] = (
                f"{Path(str(m.get('video'))).name} track {m['track_id']} is both confirmed and rejected in "
                f"the file: kept {CONFLICT_KEEPS} (a rejection does not take a confirmed sighting out of a "
                "case unseen; review it)"
            )
            if before == CONFLICT_KEEPS:
                continue
        marks[found] = (
            found,
            str(m["verdict"]),
            str(m.get("by") or ""),
            time_or_now(m.get("at")),
        )  # one per track
    timed = file_time(case.get("created_at")) is not None  # a file imported again updates its case
    if same is not None:
        marked_here = {m.track_pk for m in same.marks}  # these keep the case's verdict
        added, differ = library.add_marks(name, list(marks.values()))
        notes += tuple(note for pk, note in both.items() if pk not in marked_here)
        if differ:
            notes += (f"{len(differ)} marks differ from the case's own here: the case's kept (review them)",)
        return CaseImport(
            name,
            0,
            added,
            left_out,
            tuple(notes),
            tuple(missing),
            updated=True,
            marked_here=len(marks) - added,
        )
    notes += tuple(both.values())
    imported = ImportedCase(
        str(case.get("created_by") or ""),
        time_or_now(case.get("created_at")),
        where,  # checked by read_case_file, its videos this library's
        tuple(marks.values()),
    )
    folder = new_folder(Path(photo_dir or library.location.side_dir / "case photos") / safe_name(name))
    try:
        photos, greys, boxes = [], [], []
        for k, (p, data) in enumerate(zip(doc["photos"], images)):
            label = Path(str(p.get("name") or "photo.jpg")).name
            path = label  # without its image: the case keeps the vector, and names the photo
            if data is not None:
                target = (
                    folder / f"{k + 1:02d}_{safe_name(re.sub(r'^[0-9]{2}_', '', label), 'photo')}"
                )  # (numbered once)
                try:
                    with open(target, "xb") as f:  # a folder of its own: nothing else's photo is replaced
                        f.write(data)
                except OSError as e:  # a full disk: one line, and the folder goes (below)
                    raise CaseFileError(
                        f"cannot write the case's photos in {folder}: {e.strerror or e}; nothing was kept"
                    ) from e
                path = str(target)
            photos.append((path, str(p["model"]), unit_vector(p["vector"])))
            grey = p.get("grey_vector")  # absent from files written before grey vectors were kept
            greys.append(None if grey is None else unit_vector(grey))
            boxes.append(box_from_json(json.dumps(p.get("box"))))  # absent before boxes were kept
        library.create_case(name, photos, str(case.get("notes") or ""), imported, greys, boxes)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a refused import leaves nothing behind
        raise
    said = tuple(dict.fromkeys(notes))
    return CaseImport(name, len(photos), len(marks), left_out, said, tuple(missing), can_update=timed)


def _same_case_here(
    library: Library, doc: dict, name: str, cases: list[tuple[str, datetime, int]], anywhere: bool
) -> CaseInfo | None:
    """The library's copy of the file's case (opened by the same person at the same second, with the
    same photos: two cases a script opens in one second are two): the case ``name`` if it is that,
    else (``anywhere``) any case that is; None for none, or for a file that does not say when its
    case was opened."""
    case = doc["case"]
    when = file_time(case.get("created_at"))
    if when is None:
        return None
    same_time = [n for n, at, _ in cases if iso(at) == iso(when) and (anywhere or n == name)]
    theirs = [(str(p["model"]), unit_vector(p["vector"])) for p in doc["photos"]]
    for found in sorted(same_time, key=lambda n: n != name):  # its own name first
        here = library.case(found)
        mine = [(model, vector) for _, model, vector in here.photos]
        same_photos = len(mine) == len(theirs) and all(
            a == b and np.allclose(u, v, atol=1e-5) for (a, u), (b, v) in zip(mine, theirs)
        )
        if here.created_by == str(case.get("created_by") or "") and same_photos:
            return here
    return None


def _marked_track(library: Library, mark: dict, video: int, videos: dict[int, list]) -> int | None:
    """The key of the track of this library's ``video`` a mark is about
    (:mod:`pipeline.mark_matching`), or None; ``videos`` keeps each video's tracks for the next mark."""
    sha, path = str(mark.get("video_sha256") or ""), str(mark.get("video") or "")
    span = (count(mark["first_frame"]), count(mark["last_frame"]))
    if mark.get("boxes") is None:  # a file from before boxes were kept: by number and span
        found = library.find_track(sha, path, count(mark["track_id"]))
        return found[0] if found is not None and same_span(found[1:], span) else None
    if video not in videos:
        videos[video] = library.video_tracks(video)
    track = same_person(mark_boxes(mark["boxes"]), span, videos[video])
    return None if track is None else track.pk
