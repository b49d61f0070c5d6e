"""The case report's pictures and font: the query photos as the report draws them (the person
searched for boxed in a photo of several people) and the font that has the letters of the case's
names and notes."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from pipeline.types import Box

log = logging.getLogger(__name__)

BOX_RGB = (230, 0, 0)  # the person searched for, boxed on a query photo of several people
PHOTO_MAX_PX = 1600  # a query photo is drawn in the report at most this many pixels wide or tall
REPORT_FONT_FOLDERS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/TTF", "/Library/Fonts")


def unicode_font() -> str:
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


def photo_flowable(path: str, box: Box | None):  # noqa: ANN201 - a ReportLab flowable
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


def readable_image(path: str) -> bool:
    """Whether ReportLab can draw the file at ``path`` (a photo deleted or replaced since the case was
    opened would otherwise fail the whole report when the PDF is built)."""
    from reportlab.lib.utils import ImageReader

    try:
        ImageReader(path).getSize()
    except Exception:  # any reason it cannot be drawn is the same to the report
        return False
    return True
