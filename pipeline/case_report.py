"""A case's report: one PDF and the evidence clips, in a new folder that nothing is written over.

The PDF (:mod:`pipeline.report_pdf`) holds the case (name, opened by and when), who made the report
and when, the Spotter version and the model files with their SHA-256, the filter in words, the
notes, the query photos, each confirmed hit (camera, clock time, thumbnail, score, who confirmed it
and when, clip file and its SHA-256, the source recording and its SHA-256), the confirmed sightings
that the case's filter leaves out (said and listed, never dropped in silence), the person's route,
and the list of the report's own files. The clips and their summary come from
:func:`pipeline.evidence.export_hits`; ``SHA256SUMS`` (the format ``sha256sum -c`` reads) is
written last and covers every file, the PDF included.

A report is whole or not there: it is built in a hidden folder beside its final one, named as
:mod:`pipeline.partial_files` names parts (``.spotter-part-<host>-<pid>-<random>``), and renamed into
place when every file is written. A report killed on the way (kill -9, a power cut) leaves only that
hidden folder, which the next report into the same folder removes once its process is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from models.loader import ModelSet
from models.weights import sha256_of
from pipeline.errors import ExportError
from pipeline.evidence import EvidenceProgress, export_hits
from pipeline.file_names import resolved, slug
from pipeline.grey_query import case_greys
from pipeline.partial_files import new_part, public_mode
from pipeline.refine import Review, refine, sighting_scores
from pipeline.report_pdf import ReportContent, write_pdf
from pipeline.route import route
from pipeline.search import Searcher, hit_from_track
from pipeline.search_filter import SearchFilter, filter_from_json, filter_words
from pipeline.storage import Library
from pipeline.types import Hit

log = logging.getLogger(__name__)

FOLDER_NAMES = 10_000  # spotter_report_<case>, then _2, _3... up to this many reports in one folder
_write_pdf = write_pdf  # the PDF step (a test makes it fail as a full disk would)


@dataclass(frozen=True)
class ReportFiles:
    folder: Path
    pdf: Path
    files: tuple[Path, ...]  # every file written, the PDF and SHA256SUMS included


def build_folder(out: Path) -> tuple[Path, list[Path]]:
    """A new hidden folder under ``out`` to build a report in (the abandoned ones there removed), and
    the folders made for it (``out`` and the parents it lacked, deepest first), for a report that
    fails to take away with it: it is whole or not there, and a mistyped --out leaves nothing."""
    made = []
    for folder in (out, *out.parents):
        if folder.exists() or folder.is_symlink():
            break
        made.append(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not out.is_dir():
            raise ExportError(f"{out}: not a folder; choose a folder for the report")
        return new_part(out, directory=True), made
    except FileExistsError:
        raise ExportError(f"{out}: not a folder; choose a folder for the report") from None
    except OSError as e:
        raise ExportError(
            f"{out}: cannot create the report folder ({e.strerror}); choose another folder"
        ) from e


def publish(built: Path, case_name: str) -> Path:
    """Rename the finished report ``built`` to its own new name beside it (numbered when taken)."""
    name = slug(case_name, 50, "case")
    built.chmod(public_mode(directory=True))  # mkdtemp's 0700 kept everyone but its maker out
    for n in range(1, FOLDER_NAMES):
        folder = built.parent / (f"spotter_report_{name}" + (f"_{n}" if n > 1 else ""))
        if folder.exists() or folder.is_symlink():
            continue
        try:
            built.rename(folder)
        except FileExistsError:
            continue  # another report took the name meanwhile
        except OSError as e:
            if folder.exists():
                continue
            raise ExportError(f"cannot name the report {folder} ({e.strerror or e})") from e
        return folder
    raise ExportError(f"{built.parent}: no free report folder name")


def write_case_report(
    library: Library, models: ModelSet, case_name: str, out: str | Path, where: SearchFilter | None = None
) -> Iterator[EvidenceProgress | ReportFiles]:
    """Refine the case, export its confirmed hits and write the PDF; progress, then the files."""
    if not str(out).strip():  # "" would be the current folder, which nobody chose
        raise ExportError("--out is empty: give the folder the report goes in")
    folder_in = resolved(out, ExportError)  # a link loop said before the search, not after it
    case = library.case(case_name)
    if where is None:  # the filter the case's work used
        where = filter_from_json(json.loads(case.filter_json or "{}"))
    searcher = Searcher(library, models)
    confirmed, rejected = case.marked("confirmed"), case.marked("rejected")
    if not confirmed:
        raise ExportError(f"case {case.name!r} has no confirmed hit to report (confirm hits first)")
    greys = case_greys(case, models.reid_id, searcher.config.monochrome)
    review = Review(case.vectors(models.reid_id), confirmed, rejected, greys)
    result = refine(searcher, review, where)
    sure = sorted(  # in clock order, as the route: refine's ranking read as a jumble of times (a sweep)
        (h for h in result.hits if h.track_pk in set(confirmed)),
        key=lambda h: (h.start_time is None, h.start_time or datetime.min, h.video_path, h.start_s),
    )
    words = filter_words(where, {v.video_id: v.path for v in library.videos()})
    if not sure:  # nothing to show: said before any folder is made
        n = len(confirmed)
        raise ExportError(
            f"case {case.name!r}: none of its {n} confirmed sighting{'s' if n > 1 else ''} is inside the "
            f"case's filter ({words or 'none'}); nothing to report (widen the filter in the app's search)"
        )
    likeness = sighting_scores(searcher, review, [h.track_pk for h in sure])  # not each against itself
    sure = [replace(h, score=likeness.get(h.track_pk, float("nan"))) for h in sure]
    outside = _outside(library, confirmed, sure)
    if outside:
        log.warning(
            "case %r: %d confirmed sightings are outside its filter: not in the report",
            case.name,
            len(outside),
        )
    folder, made = build_folder(folder_in)
    try:
        files = None
        for step in _fill(library, models, case, sure, outside, result, confirmed, words, folder):
            if isinstance(step, ReportFiles):
                files = step
            else:
                yield step
        assert files is not None  # _fill ends with the files
        final = publish(folder, case.name)
    except BaseException as e:  # failed or cancelled: a report is whole or not there
        shutil.rmtree(folder, ignore_errors=True)
        for empty in made:  # the folders made for it, unless something else was put there meanwhile
            with contextlib.suppress(OSError):
                empty.rmdir()
        if isinstance(e, OSError):  # the PDF or the checksums (a full disk, a share gone)
            raise ExportError(f"cannot write the report in {folder.parent}: {e.strerror or e}") from e
        raise
    yield ReportFiles(final, final / files.pdf.name, tuple(final / p.name for p in files.files))


def _outside(library: Library, confirmed: tuple[int, ...], sure: list[Hit]) -> list[Hit]:
    """The confirmed sightings that refine left out (outside the case's filter), in clock order."""
    shown = {h.track_pk for h in sure}
    missing = [p for p in confirmed if p not in shown]
    tracks, clocks = library.tracks(missing), library.clocks()
    hits = [
        hit_from_track(tracks[p], math.nan, clocks.get(tracks[p].video_id)) for p in missing if p in tracks
    ]
    return sorted(hits, key=lambda h: (h.start_time is None, h.start_time or 0, h.video_path, h.start_s))


def _fill(library, models, case, sure, outside, result, confirmed, words, folder) -> Iterator:  # noqa: ANN001
    """The report's files in its folder: the clips, the PDF, their checksums."""
    summary_json = ""
    for step in export_hits(library, sure, folder, annotate=True):
        yield step
        summary_json = step.summary_json or summary_json
    if not summary_json:
        raise ExportError("no clip of the case's confirmed sightings could be written")
    rows = json.loads(Path(summary_json).read_text())["clips"]  # in the order of ``sure``
    pdf = folder / "report.pdf"
    written = sorted(p for p in folder.iterdir() if p.is_file())
    models_used = [
        (p.name, sha256_of(p))
        for p in (models.store.resolve(models.config.detector.weights), models.reid.weights)
    ]
    content = ReportContent(
        case,
        sure,
        rows,
        outside,
        route(result.hits, confirmed),
        words,
        models_used,
        [p.name for p in written],
        library.thumbnails([h.track_pk for h in sure]),
    )
    _write_pdf(pdf, content)
    sums = folder / "SHA256SUMS"
    files = sorted(p for p in folder.iterdir() if p.is_file())
    sums.write_text("".join(f"{sha256_of(p)}  {p.name}\n" for p in files))
    yield ReportFiles(folder, pdf, (*files, sums))
