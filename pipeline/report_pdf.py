"""The case report's PDF (ReportLab platypus): one small function per section, styles defined once.

Everything that can grow without limit (the notes, the filter, the lists of sightings) is paragraphs
or a table of one row per item, never one table cell: a cell taller than a page cannot be split and
stopped the report (``LayoutError``). Tables of sightings repeat their header on every page.

Every time is said with its zone, all in this computer's zone: the library keeps when a case was
opened and when its marks were made in UTC, and the recordings' clock times in local time (as
``videos --set-start`` takes them). An end time is shown to the second that covers it
(:func:`pipeline.types.end_second`), as the command line does.

Arabic and Hebrew are drawn in the order they are read, Arabic letters joined
(:func:`visual`): ReportLab lays out characters as stored, left to right, each in its isolated form.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.report_photos import photo_flowable, readable_image, unicode_font
from pipeline.storage.cases import CaseInfo, CaseMark, operator
from pipeline.types import Hit, clock_at, end_second, fmt_time, stored_local
from pipeline.version import version

log = logging.getLogger(__name__)

PHOTO_GONE = (
    "(this photo is no longer at that path, or is no longer an image: shown by name only; the search "
    "used the vector the case keeps of it)"
)
SCORE_MEANING = (  # what the Score column measures: a reader must not take it for likeness to the photo alone
    "Score: the appearance similarity (0 to 1) of the sighting to the closest of the case's examples: its "
    "query photos and its other confirmed sightings (case refine), not to the query photo alone."
)
SOURCE_MEANING = (
    "Source SHA-256: of the recording the clip was cut from, as it was indexed (of its first bytes where "
    "it has grown since; of every image's name, size and bytes for a folder of images)."
)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")  # Hebrew, Arabic, Syriac, Thaana...
_STRONG = re.compile("[A-Za-z\u00c0-\u024f\u0370-\u052f]|(?P<rtl>[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff])")
# room a section needs below its heading, else it starts on a new page: a few lines; a photo; the
# heading, a table's header row and its first row of sightings (a 24 mm picture)
HEADING_ROOM_MM = 20
PHOTO_ROOM_MM = 50
TABLE_ROOM_MM = 45
NOTE_WIDTH_PT = 440  # the width right-to-left notes are broken into lines at (A4's frame: 451 pt)


@dataclass(frozen=True)
class ReportContent:
    """What the PDF says, gathered by :mod:`pipeline.case_report`."""

    case: CaseInfo
    sure: Sequence[Hit]  # the confirmed sightings in the report, in the order of ``rows``
    rows: Sequence[dict]  # their clips (the summary's rows)
    outside: Sequence[Hit]  # confirmed sightings outside the case's filter: no clip of them here
    route_entries: Sequence  # pipeline.route's stops and gaps
    filter_words: str  # the case's filter in words ("" for none)
    models_used: Sequence[tuple[str, str]]  # (file name, SHA-256)
    files: Sequence[str]  # the report's other files
    crops: dict[int, bytes]  # each sighting's best crop (JPEG), by track key


TITLE_PT = 18  # the title's font size (ReportLab's "Title" style)


def visual(text: str) -> str:
    """``text`` in the order it is drawn (left to right): Arabic letters in their joined forms and
    right-to-left runs reversed (the Unicode bidirectional algorithm); other text as it is."""
    if not _RTL.search(text):
        return text
    import arabic_reshaper
    from bidi.algorithm import get_display

    return get_display(arabic_reshaper.reshape(text))


def _rtl_first(text: str) -> bool:
    first = _STRONG.search(text)
    return first is not None and first["rtl"] is not None


def _lines(text: str, font: str, size: float, width: float = NOTE_WIDTH_PT) -> str:
    """A paragraph's markup: text with right-to-left letters broken into lines in reading order
    first, then each line turned :func:`visual` (turned whole, its first words would end up on its
    last line)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if not _RTL.search(text):
        return _esc(text)
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and stringWidth(visual(joined), font, size) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return "<br/>".join(_esc(visual(line)) for line in lines)


def zoned(stored_utc: datetime) -> str:
    """A time the library keeps in UTC (without a zone), in this computer's zone, the zone said."""
    return f"{stored_local(stored_utc):%Y-%m-%d %H:%M:%S %Z}"


def write_pdf(pdf: Path, content: ReportContent) -> None:
    """Write the report's PDF at ``pdf``."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    s = _Styles()
    case = content.case
    title = f"Spotter case report: {case.name}"  # broken into lines before it is turned (a sweep:
    # an Arabic name's start landed on the title's second line, its ".png" split off)
    story: list = [s.para(_lines(title, f"{s.font}-Bold", TITLE_PT), "Title")]
    story += _summary(s, content)
    story += _photos(s, case)
    story += _hits(s, content, pdf.parent)
    story += _outside(s, content.outside, case.marks)
    story += _route(s, content.route_entries)
    story += s.heading("Files of this report")
    listed = [*content.files, pdf.name, "SHA256SUMS (the SHA-256 of every file, this PDF included)"]
    story += [s.para(_esc(name), "small") for name in listed]
    title = f"Spotter case {case.name}"
    SimpleDocTemplate(str(pdf), pagesize=A4, title=title, author=operator()).build(story)


class _Styles:
    def __init__(self) -> None:
        from reportlab.lib.styles import getSampleStyleSheet

        self.font = unicode_font()
        self.sheet = getSampleStyleSheet()
        for name in ("Title", "Heading2", "BodyText"):
            self.sheet[name].fontName = self.font if name == "BodyText" else f"{self.font}-Bold"
        self.sheet.add(self.sheet["BodyText"].clone("small", fontSize=7.5, leading=9))

    def heading(self, text: str, room_mm: float = HEADING_ROOM_MM) -> list:
        """A section's heading, on a new page where less than ``room_mm`` is left below it (a
        heading never ends a page alone; keepWithNext would carry it, and a page's worth of notes,
        over to the next page whole)."""
        from reportlab.lib.units import mm
        from reportlab.platypus import CondPageBreak

        return [CondPageBreak(room_mm * mm), self.para(text, "Heading2")]

    def para(self, markup: str, style: str = "BodyText", rtl: bool = False):
        from reportlab.lib.enums import TA_RIGHT
        from reportlab.platypus import Paragraph

        chosen = self.sheet[style]
        return Paragraph(markup, chosen.clone(f"{style}-rtl", alignment=TA_RIGHT) if rtl else chosen)


def _summary(s: _Styles, content: ReportContent) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    case = content.case
    made = datetime.now().astimezone()
    meta = [
        ["Case opened", f"{zoned(case.created_at)} by {visual(case.created_by or 'unknown')}"],
        ["Report made", f"{made:%Y-%m-%d %H:%M:%S %Z} by {visual(operator() or 'unknown')}"],
        ["Times", f"all in this computer's time zone ({made:%Z}, UTC{made:%z})"],
        ["Spotter", version()],
        *[["Model", s.para(f"{name}<br/>SHA-256 {digest}", "small")] for name, digest in content.models_used],
    ]
    story: list = [_table(meta, [32 * mm, 127 * mm]), Spacer(1, 3 * mm)]
    story += s.heading("Filters")
    story.append(s.para(_lines(content.filter_words or "none", s.font, 10)))
    story += s.heading("Notes")
    for paragraph in [p for p in (case.notes or "").splitlines() if p.strip()] or ["none"]:
        story.append(s.para(_lines(paragraph, s.font, 10), rtl=_rtl_first(paragraph)))
    return story


def _photos(s: _Styles, case: CaseInfo) -> list:
    story: list = s.heading("Query photos", PHOTO_ROOM_MM)
    if not case.photos:
        return [*story, s.para("none (from hits only)")]
    for (path, _, _), box in zip(case.photos, case.photo_boxes):
        if readable_image(path):
            story += [photo_flowable(path, box), s.para(_esc(visual(path)), "small")]
        else:
            story.append(s.para(f"{_esc(visual(path))}<br/>{PHOTO_GONE}", "small"))
            log.warning("case %r: query photo %s %s", case.name, path, PHOTO_GONE)
    return story


def _hits(s: _Styles, content: ReportContent, folder: Path) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Spacer

    marks = {m.track_pk: m for m in content.case.marks}
    head = ["", "Camera and time", "Score", "Confirmed", "Clip, its source and their SHA-256"]
    table = [head]
    for hit, row in zip(content.sure, content.rows):
        clip = (
            f"{_esc(row['clip'])}<br/>SHA-256 {row['sha256']}<br/>cut from {_esc(visual(row['video']))}"
            f"<br/>source SHA-256 {row.get('source_sha256') or 'unknown'}"
        )
        crop = content.crops.get(hit.track_pk)  # the track's best crop; else the clip's thumbnail frame
        source = io.BytesIO(crop) if crop else str(folder / row["thumbnail"])
        image = Image(source, width=14 * mm, height=24 * mm, kind="proportional")
        score = "-" if math.isnan(hit.score) else f"{hit.score:.2f}"  # no other example to compare with
        table.append(
            [
                image,
                s.para(_when(hit), "small"),
                score,
                s.para(_marked(marks.get(hit.track_pk)), "small"),
                s.para(clip, "small"),
            ]
        )
    return [
        *s.heading(f"Confirmed hits ({len(content.sure)})", TABLE_ROOM_MM),
        _table(table, [16 * mm, 38 * mm, 13 * mm, 27 * mm, 65 * mm], header=True),
        s.para(SCORE_MEANING, "small"),
        s.para(SOURCE_MEANING, "small"),
        Spacer(1, 4 * mm),
    ]


def _outside(s: _Styles, outside: Sequence[Hit], marks: Sequence[CaseMark]) -> list:
    """The confirmed sightings the case's filter leaves out, said and listed: a reader must not take
    the report's sightings for all the operator confirmed."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    if not outside:
        return []
    n = len(outside)
    said = (
        f"{n} confirmed sighting{'s are' if n > 1 else ' is'} outside the case's filter and "
        f"{'are' if n > 1 else 'is'} not in this report (no clip, not in the route):"
    )
    by_pk = {m.track_pk: m for m in marks}
    rows = [["Camera and time", "Track", "Confirmed"]]
    for hit in outside:
        rows.append(
            [
                s.para(_when(hit), "small"),
                f"track {hit.track_id}",
                s.para(_marked(by_pk.get(hit.track_pk)), "small"),
            ]
        )
    table = _table(rows, [90 * mm, 22 * mm, 47 * mm], header=True)
    return [
        *s.heading("Confirmed sightings not in this report", TABLE_ROOM_MM),
        s.para(said),
        table,
        Spacer(1, 4 * mm),
    ]


def _route(s: _Styles, entries: Sequence) -> list:
    from pipeline.route import RouteGap

    story: list = s.heading("Route")
    for entry in entries:
        if isinstance(entry, RouteGap):
            change = "then another camera" if entry.camera_changed else "same camera"
            story.append(
                s.para(f"&nbsp;&nbsp;&nbsp;… not seen for {fmt_time(entry.seconds)} ({change})", "small")
            )
        else:
            mark = "confirmed" if entry.confirmed else "hit"
            story.append(s.para(f"{_when(entry.first, entry.end_s)} ({mark})"))
    return story


def _marked(mark: CaseMark | None) -> str:
    if mark is None:
        return "-"
    return f"confirmed by {_esc(visual(mark.marked_by or 'unknown'))}<br/>{zoned(mark.marked_at)}"


def _when(hit: Hit, end_s: float | None = None) -> str:
    end_s = hit.end_s if end_s is None else end_s
    where = _esc(visual(hit.camera or "unknown camera"))
    end = clock_at(hit.video_start, end_s)
    # the recording it was cut from, always named, with its folder (sites name their cameras alike)
    video = Path(hit.video_path)
    source = _esc(visual(f"{video.parent.name}/{video.name}" if video.parent.name else video.name))
    if hit.start_time is not None and end is not None:
        start, end = hit.start_time.astimezone(), end_second(end).astimezone()  # local: the zone said
        clock = f"{start:%Y-%m-%d %H:%M:%S} – {end:%H:%M:%S %Z}"
        return f"{where}<br/>{clock}<br/>{fmt_time(hit.start_s)} into {source}"
    return f"{where}<br/>{fmt_time(hit.start_s)} – {fmt_time(end_s)} into {source}"


def _table(rows: list, widths: list, header: bool = False):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    t = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("FONTNAME", (0, 0), (-1, -1), unicode_font()),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey))
    t.setStyle(TableStyle(style))
    return t


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
