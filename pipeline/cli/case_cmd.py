"""``main.py case``: work a case from a script: new (query photos), add (confirm or reject a track),
refine (search with the review), show."""

from __future__ import annotations

import argparse
import json

from pipeline.cli.common import model_set, open_library, video_of
from pipeline.cli.console import err, one_line, out
from pipeline.file_names import shown
from pipeline.types import stored_local


def cmd_case(args: argparse.Namespace) -> int:
    commands = {
        "new": case_new,
        "add": case_add,
        "refine": case_refine,
        "show": case_show,
        "report": case_report,
        "export": case_export,
        "import": case_import,
    }
    return commands[args.case_command](args)


def case_new(args: argparse.Namespace) -> int:
    """A case keeps a copy of each query photo, upright, as searched (``open_case``, as the app
    does): the file the operator named may be edited, replaced or moved after, and the case and
    its report must show the photo its vectors came from."""
    from pipeline.case_photos import CasePhoto, open_case
    from pipeline.grey_query import GREY_PHOTO_NOTE, is_grey_photo
    from pipeline.search import Searcher
    from pipeline.storage.cases import MAX_CASE_NAME
    from pipeline.storage.records import clean_name

    name = clean_name(args.name, MAX_CASE_NAME, "case")  # as stored, and refused before the models load
    library = open_library(args, create=True)
    library.check_case_name_free(name)
    photos, greys = [], []
    if args.photos:
        searcher = Searcher(library, model_set(args, library=library))
        for chosen in args.photos:
            photo = chosen.path
            query, vec = searcher.prepare(photo, chosen.box, chosen.person)
            if query.note:
                err(f"note: {photo}: {query.note}")
            if (
                chosen.person is None
                and chosen.box is None
                and len(query.people) > 1
                and not query.whole_photo
            ):
                err(
                    f"note: {photo}: {len(query.people)} people in the photo: took the largest (--person K "
                    "after its --query picks another; 0 = largest)"
                )
            upright, box = query.upright()  # a photo lying on its side is kept standing, as searched
            photos.append(CasePhoto(shown(photo.name), searcher.models.reid_id, vec, upright, box))
            greys.append(searcher.grey_vector(query, vec))
            if is_grey_photo(vec, greys[-1]):
                err(f"note: {photo}: {GREY_PHOTO_NOTE}")
    case_id = open_case(library, name, photos, args.note or "", greys)
    out(f"case {case_id} {name!r}: {len(photos)} query photo(s)")
    return 0


def case_add(args: argparse.Namespace) -> int:
    from models.errors import SpotterError

    library = open_library(args)
    video = args.video
    video_id = video_of(library, video)
    pk = library.track_pk(video_id, args.track)
    if pk is None:
        raise SpotterError(f"video {video} has no track {args.track} (search shows each hit's track)")
    verdict = "confirmed" if args.confirm else "rejected"
    before = library.mark(args.name, pk, verdict)
    was = ""  # a verdict changed is said, not done silently: a mistyped track overturns a review
    if before is not None and before[0] == verdict:
        was = " (it was already)"
    elif before is not None:
        was = f" (it was {before[0]}{f' by {before[1]}' if before[1] else ''})"
    path = next((v.path for v in library.videos() if v.video_id == video_id), video)  # named, not "4"
    out(one_line(f"case {args.name!r}: track {args.track} of {path} {verdict}{was}"))
    return 0


def case_refine(args: argparse.Namespace) -> int:
    from models.errors import SpotterError
    from pipeline.cli.search_cmd import check_reid_model, gone_away
    from pipeline.grey_query import case_greys
    from pipeline.refine import Review, refine
    from pipeline.search import Searcher
    from pipeline.search_filter import filter_from_json

    library = open_library(args)
    case = library.case(args.name)
    searcher = Searcher(library, model_set(args, library=library))
    check_reid_model(library, searcher.models.reid_id)
    photos = case.vectors(searcher.models.reid_id)
    greys = case_greys(case, searcher.models.reid_id, searcher.config.monochrome)
    if not photos and not case.marked("confirmed"):
        raise SpotterError(
            f"case {case.name!r} has no query photo for the model {searcher.models.reid_id} and no confirmed "
            "track: nothing to search for"
        )
    other = sorted({m for _, m, _ in case.photos if m != searcher.models.reid_id})
    if other:  # a photo is compared with vectors of its own model only (a sweep: '0 photo(s)', unsaid)
        err(
            f"note: {len(case.photos) - len(photos)} of the case's photos were embedded with another ReID "
            f"model ({', '.join(map(one_line, other))}) and are not searched with {searcher.models.reid_id}"
        )
    where = filter_from_json(json.loads(case.filter_json or "{}"))
    review = Review(photos, case.marked("confirmed"), case.marked("rejected"), greys)
    m = refine(searcher, review, where, max_hits=args.top)
    gone_away(library, m.hits)  # as search says it (a sweep: refine did not)
    if args.json:
        out(json.dumps({"case": case.name, "hits": [h.to_json() for h in m.hits]}))
        return 0
    from pipeline.cameras import clock_label

    out(
        f"case {case.name!r}: {len(m.hits)} hits (examples: {len(photos)} photo(s), "
        f"{len(case.marked('confirmed'))} confirmed; {len(case.marked('rejected'))} rejected)"
    )
    for h in m.hits:
        seen = clock_label(h.video_start, h.start_s, h.camera)
        out(one_line(f"{h.score:6.3f}  {seen:<34}  {h.track_id:5d}  {h.video_path}"))
    return 0


def case_show(args: argparse.Namespace) -> int:
    from pipeline.search_filter import filter_from_json, filter_words

    library = open_library(args)
    case = library.case(args.name)
    if args.json:
        doc = {
            "id": case.case_id,
            "name": case.name,
            "created_at": stored_local(case.created_at).isoformat(timespec="seconds"),
            "created_by": case.created_by,
            "photos": [
                {"path": p, "model": m, "box": None if box is None else list(box)}
                for (p, m, _), box in zip(case.photos, case.photo_boxes)
            ],
            "notes": case.notes,
            "filter": json.loads(case.filter_json or "{}"),
            "marks": [
                {
                    "video": m.video_path,
                    "track_id": m.track_id,
                    "verdict": m.verdict,
                    "by": m.marked_by,
                    "at": stored_local(m.marked_at).isoformat(timespec="seconds"),
                }
                for m in case.marks
            ],
        }
        out(json.dumps(doc))
        return 0
    opened = f"{stored_local(case.created_at):%Y-%m-%d %H:%M %Z} by {case.created_by or '?'}"
    out(one_line(f"case {case.case_id} {case.name!r}, opened {opened}"))
    if case.notes:
        out(one_line(f"  notes: {case.notes}"))
    where = filter_from_json(json.loads(case.filter_json or "{}"))
    if where.active:  # what refine and report search within (it was shown by --json only)
        out(one_line(f"  filter: {filter_words(where, {v.video_id: v.path for v in library.videos()})}"))
    for (path, model, _), box in zip(case.photos, case.photo_boxes):
        person = "" if box is None else ", the person at " + " ".join(f"{v:.0f}" for v in box)
        out(one_line(f"  photo {path} ({model}{person})"))
    for m in case.marks:
        when = f"{m.marked_by or '?'}, {stored_local(m.marked_at):%Y-%m-%d %H:%M %Z}"
        out(one_line(f"  {m.verdict:<9} track {m.track_id:>5} of {m.video_path} ({when})"))
    return 0


def case_report(args: argparse.Namespace) -> int:
    """Write the PDF, the clips and their summary into a new folder under ``--out``; exit 0 only
    when every file was written."""
    from pipeline.case_report import ReportFiles, write_case_report

    library = open_library(args)
    for step in write_case_report(library, model_set(args, library=library), args.name, args.out):
        if isinstance(step, ReportFiles):
            out(f"wrote {step.pdf} and {len(step.files) - 1} other files in {step.folder}")
        elif not args.quiet and step.current and not step.clip_frames_total:
            err(f"clip {step.clips_done + 1} of {step.clips_total}: {step.current}")
    return 0


def case_export(args: argparse.Namespace) -> int:
    from pipeline.case_file import write_case_file

    written = write_case_file(open_library(args), args.name, args.out)
    out(f"wrote {written}")
    return 0


def case_import(args: argparse.Namespace) -> int:
    from pipeline.case_file import import_case

    done = import_case(open_library(args, create=True), args.file, args.as_name)
    out(done.summary())
    return 0
