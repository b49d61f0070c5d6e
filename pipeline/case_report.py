"""A case's report: one PDF and the evidence clips, in a new folder that nothing is written over.

The PDF (ReportLab) holds the case (name, opened by and when), who made the report and when, the
Spotter version and the model files with their SHA-256, the query photos, the filters, each
confirmed hit (camera, clock time, thumbnail, score, clip file and its SHA-256), the person's route,
and the list of the report's own files. The clips and their summary come from
:func:`pipeline.evidence.export_hits`; ``SHA256SUMS`` (the format ``sha256sum -c`` reads) is
written last and covers every file, the PDF included.
"""

from __future__ import annotations

import io
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
from pipeline.file_names import slug
from pipeline.grey_query import case_greys
from pipeline.refine import Review, refine, sighting_scores
from pipeline.route import RouteGap, route
from pipeline.search import Searcher
from pipeline.search_filter import SearchFilter, filter_from_json, filter_json
from pipeline.storage import Library
from pipeline.storage.cases import operator
from pipeline.types import Box, Hit, clock_at, fmt_time
from pipeline.version import version

log = logging.getLogger(__name__)

BOX_RGB = (230, 0, 0)  # the person searched for, boxed on a query photo of several people
PHOTO_MAX_PX = 1600  # a query photo is drawn in the report at most this many pixels wide or tall

REPORT_FONT_FOLDERS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/TTF", "/Library/Fonts")
PHOTO_GONE = (
    "(this photo is no longer at that path, or is no longer an image: shown by name only; the search "
    "used the vector the case keeps of it)"
)
SCORE_MEANING = (  # what the Score column measures: a reader must not take it for likeness to the photo alone
    "Score: the appearance similarity (0 to 1) of the sighting to the closest of the case's examples: its "
    "query photos and its other confirmed sightings (case refine), not to the query photo alone."
)


@dataclass(frozen=True)
class ReportFiles:
    folder: Path
    pdf: Path
    files: tuple[Path, ...]  # every file written, the PDF and SHA256SUMS included


def report_folder(out: Path, case_name: str) -> Path:
    """A new folder under ``out`` for this report (numbered when the name is taken)."""
    name = slug(case_name, 50, "case")
    for n in range(1, 10_000):
        folder = out / (f"spotter_report_{name}" + (f"_{n}" if n > 1 else ""))
        try:
            out.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
            return folder
        except FileExistsError:
            if not out.is_dir():
                raise ExportError(f"{out}: not a folder; choose a folder for the report") from None
            continue
        except OSError as e:
            raise ExportError(
                f"{out}: cannot create the report folder ({e.strerror}); choose another folder"
            ) from e
    raise ExportError(f"{out}: no free report folder name")


def write_case_report(
    library: Library, models: ModelSet, case_name: str, out: str | Path, where: SearchFilter | None = None
) -> Iterator[EvidenceProgress | ReportFiles]:
    """Refine the case, export its confirmed hits and write the PDF; progress, then the files."""
    if not str(out).strip():  # "" would be the current folder, which nobody chose
        raise ExportError("--out is empty: give the folder the report goes in")
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
    sure = [h for h in result.hits if h.track_pk in set(confirmed)]
    likeness = sighting_scores(searcher, review, [h.track_pk for h in sure])  # not each against itself
    sure = [replace(h, score=likeness.get(h.track_pk, float("nan"))) for h in sure]
    folder = report_folder(Path(out).expanduser().resolve(), case.name)
    try:
        yield from _fill(library, models, case, sure, result, confirmed, where, folder)
    except BaseException as e:  # failed or cancelled: a report is whole or not there
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, OSError):  # the PDF or the checksums (a full disk, a share gone)
            raise ExportError(f"cannot write the report in {folder}: {e.strerror or e}") from e
        raise


def _fill(library, models, case, sure, result, confirmed, where, folder) -> Iterator:  # noqa: ANN001
    """The report's files in its new folder: the clips, the PDF, their checksums."""
    summary_json = ""
    for step in export_hits(library, sure, folder, annotate=True):
        yield step
        summary_json = step.summary_json or summary_json
    rows = json.loads(Path(summary_json).read_text())["clips"]  # in the order of ``sure``
    pdf = folder / "report.pdf"
    written = sorted(p for p in folder.iterdir() if p.is_file())
    models_used = [
        (p.name, sha256_of(p))
        for p in (models.store.resolve(models.config.detector.weights), models.reid.weights)
    ]
    crops = library.thumbnails([h.track_pk for h in sure])
    names = [p.name for p in written]
    _write_pdf(pdf, case, sure, rows, result.hits, confirmed, where, models_used, names, crops)
    sums = folder / "SHA256SUMS"
    files = sorted(p for p in folder.iterdir() if p.is_file())
    sums.write_text("".join(f"{sha256_of(p)}  {p.name}\n" for p in files))
    yield ReportFiles(folder, pdf, (*files, sums))


def _write_pdf(pdf, case, sure, rows, hits, confirmed, where, models_used, files, crops) -> None:  # noqa: ANN001
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    font = _unicode_font()
    for name in ("Title", "Heading2", "BodyText"):
        styles[name].fontName = font if name == "BodyText" else f"{font}-Bold"
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    story: list = [Paragraph(f"Spotter case report: {_esc(case.name)}", styles["Title"])]
    made = datetime.now().astimezone()
    meta = [
        ["Case opened", f"{case.created_at:%Y-%m-%d %H:%M:%S} UTC by {case.created_by or 'unknown'}"],
        ["Report made", f"{made:%Y-%m-%d %H:%M:%S %Z} by {operator() or 'unknown'}"],
        ["Spotter", version()],
        *[["Model", Paragraph(f"{name}<br/>SHA-256 {digest}", small)] for name, digest in models_used],
        ["Filters", _esc(json.dumps(filter_json(where)) if where is not None and where.active else "none")],
        ["Notes", Paragraph(_esc(case.notes) or "none", body)],
    ]
    story += [_table(meta, [35 * mm, 135 * mm], colors), Spacer(1, 4 * mm)]
    story.append(Paragraph("Query photos", styles["Heading2"]))
    photos = [Paragraph(_esc(p), small) for p, _, _ in case.photos] or [
        Paragraph("none (from hits only)", body)
    ]
    for p, path, box in zip(photos, [p for p, _, _ in case.photos] or [None], case.photo_boxes or (None,)):
        if path and _readable_image(path):
            story.append(_photo(path, box))
        elif path:
            p = Paragraph(f"{_esc(path)}<br/>{PHOTO_GONE}", small)
            log.warning("case %r: query photo %s %s", case.name, path, PHOTO_GONE)
        story.append(p)
    story.append(Paragraph(f"Confirmed hits ({len(sure)})", styles["Heading2"]))
    head = ["", "Camera and time", "Score", "Clip and SHA-256"]
    table = [head]
    for hit, row in zip(sure, rows):
        when = _when(hit)
        clip = Paragraph(f"{_esc(row['clip'])}<br/>{row['sha256']}", small)
        crop = crops.get(hit.track_pk)  # the track's best crop; else the clip's thumbnail frame
        source = io.BytesIO(crop) if crop else str(pdf.parent / row["thumbnail"])
        image = Image(source, width=14 * mm, height=24 * mm, kind="proportional")
        score = "-" if math.isnan(hit.score) else f"{hit.score:.2f}"  # no other example to compare with
        table.append([image, Paragraph(when, small), score, clip])
    story += [_table(table, [18 * mm, 55 * mm, 14 * mm, 83 * mm], colors, header=True)]
    story += [Paragraph(SCORE_MEANING, small), Spacer(1, 4 * mm)]
    story.append(Paragraph("Route", styles["Heading2"]))
    for entry in route(hits, confirmed):
        if isinstance(entry, RouteGap):
            change = "then another camera" if entry.camera_changed else "same camera"
            story.append(
                Paragraph(f"&nbsp;&nbsp;&nbsp;… not seen for {fmt_time(entry.seconds)} ({change})", small)
            )
        else:
            mark = "confirmed" if entry.confirmed else "hit"
            story.append(Paragraph(f"{_when(entry.first, entry.end_s)} ({mark})", body))
    story.append(Paragraph("Files of this report", styles["Heading2"]))
    listed = [*files, pdf.name, "SHA256SUMS (the SHA-256 of every file, this PDF included)"]
    story += [Paragraph(_esc(name), small) for name in listed]
    SimpleDocTemplate(str(pdf), pagesize=A4, title=f"Spotter case {case.name}", author=operator()).build(
        story
    )


def _unicode_font() -> str:
    """The report's font (and its ``-Bold``), registered with ReportLab once: DejaVu Sans, which has
    the Latin, Greek, Cyrillic, Arabic and Hebrew letters that case names, notes and camera names are
    written in (ReportLab's built-in Helvetica draws a black box for each of them). It comes with
    matplotlib (installed with ultralytics), else with the system; Helvetica where neither is found."""
    import importlib.util

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" in pdfmetrics.getRegisteredFontNames():
        return "DejaVuSans"
    spec = importlib.util.find_spec("matplotlib")
    folders = (
        [Path(p) / "mpl-data" / "fonts" / "ttf" for p in (spec.submodule_search_locations or [])]
        if spec
        else []
    )
    folders += [Path(p) for p in REPORT_FONT_FOLDERS]
    for folder in folders:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
            pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold")
            return "DejaVuSans"
    log.warning("no DejaVu Sans font found: the report is in Helvetica (Latin letters only)")
    return "Helvetica"


def _photo(path: str, box: Box | None):  # a ReportLab flowable
    """A query photo as the report shows it: whole; where the person searched for is a box in it (a
    scene, a group), the box drawn on the photo and the person beside it, so that a reader sees whom
    the case is about."""
    from PIL import Image as PilImage
    from PIL import ImageDraw, ImageOps
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Table

    if box is None:
        return Image(path, width=20 * mm, height=40 * mm, kind="proportional")
    with PilImage.open(path) as img:
        photo = ImageOps.exif_transpose(img).convert("RGB")  # as the box was drawn: upright
    w, h = photo.size
    x1, y1, x2, y2 = (
        max(round(box[0]), 0),
        max(round(box[1]), 0),
        min(round(box[2]), w),
        min(round(box[3]), h),
    )
    if x2 - x1 < 2 or y2 - y1 < 2:  # the photo was replaced by another since the case was made
        log.warning(
            "query photo %s: the person's box %s is not inside its %dx%d px picture", path, list(box), w, h
        )
        return Image(path, width=20 * mm, height=40 * mm, kind="proportional")
    person = photo.crop((x1, y1, x2, y2))
    line = max(2, round(max(photo.size) / 250))
    frame = (max(x1 - line, 0), max(y1 - line, 0), min(x2 + line, w) - 1, min(y2 + line, h) - 1)
    ImageDraw.Draw(photo).rectangle(frame, outline=BOX_RGB, width=line)
    photo.thumbnail((PHOTO_MAX_PX, PHOTO_MAX_PX))  # a 4K frame need not weigh 10 MB in the PDF
    drawn = [
        Image(_jpeg(im), width=width_mm * mm, height=40 * mm, kind="proportional")
        for im, width_mm in ((photo, 70), (person, 20))
    ]
    return Table([drawn], colWidths=[72 * mm, 22 * mm], hAlign="LEFT")


def _jpeg(image) -> io.BytesIO:  # noqa: ANN001 - a PIL image
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    out.seek(0)
    return out


def _readable_image(path: str) -> bool:
    """Whether ReportLab can draw the file at ``path`` (a photo deleted or replaced since the case was
    opened would otherwise fail the whole report when the PDF is built)."""
    from reportlab.lib.utils import ImageReader

    try:
        ImageReader(path).getSize()
    except Exception:  # any reason it cannot be drawn is the same to the report
        return False
    return True


def _when(hit: Hit, end_s: float | None = None) -> str:
    end_s = hit.end_s if end_s is None else end_s
    where = _esc(hit.camera or "unknown camera")
    end = clock_at(hit.video_start, end_s)
    # the recording it was cut from, always named, with its folder (sites name their cameras alike)
    video = Path(hit.video_path)
    source = _esc(f"{video.parent.name}/{video.name}" if video.parent.name else video.name)
    if hit.start_time is not None and end is not None:
        clock = f"{hit.start_time:%Y-%m-%d %H:%M:%S} – {end:%H:%M:%S}"
        return f"{where}<br/>{clock}<br/>{fmt_time(hit.start_s)} into {source}"
    return f"{where}<br/>{fmt_time(hit.start_s)} – {fmt_time(end_s)} into {source}"


def _table(rows: list, widths: list, colors, header: bool = False):  # noqa: ANN001
    from reportlab.platypus import Table, TableStyle

    t = Table(rows, colWidths=widths)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("FONTNAME", (0, 0), (-1, -1), _unicode_font()),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey))
    t.setStyle(TableStyle(style))
    return t


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
