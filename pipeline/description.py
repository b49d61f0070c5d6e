"""Search by description: a witness's clothing colours instead of a photo.

Every track keeps the share of each named colour on its upper body and legs
(:mod:`pipeline.clothing`). A description (an upper and/or a lower colour) scores a track by the
share of that colour where it was asked for (both asked: the product, so a person must match on
both); a person (tracks linked into one walk) scores by their best track. Filters choose the
candidates as for a photo search. Tracks indexed before colours were kept get them from their
stored crop thumbnail the first time a description search meets them (a cheap backfill).

With a photo, a colour narrows the photo's hits to those wearing it (a share of at least
``ColourConfig.present``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

from pipeline.clothing import LOWER, PALETTE, UPPER, ColourConfig, colour_index, track_colours
from pipeline.errors import SearchError
from pipeline.search import Searcher, hit_from_track
from pipeline.search_filter import SearchFilter
from pipeline.storage import Library
from pipeline.types import Hit, enters

log = logging.getLogger(__name__)

BACKFILL_PAGE = 500  # thumbnails decoded per backfill transaction
REGION_PAGE = 200  # best-scoring tracks read at a time while the hits are collected


def backfill_colours(library: Library, config: ColourConfig = ColourConfig()) -> int:
    """Colours for every track that has none yet, from its stored thumbnail; how many were done."""
    done = 0
    while pks := library.tracks_without_colours(BACKFILL_PAGE):
        thumbs = library.thumbnails(pks)
        found = {}
        for pk in pks:
            crop = cv2.imdecode(np.frombuffer(thumbs.get(pk, b""), np.uint8), cv2.IMREAD_COLOR)
            found[pk] = track_colours([crop] if crop is not None else [], config)  # none: zeros
        library.set_track_colours(found)
        done += len(found)
    if done:
        log.info("computed clothing colours of %d older tracks from their thumbnails", done)
    return done


def colour_scores(colours: np.ndarray, upper: str | None, lower: str | None) -> np.ndarray:
    """(N,) how well (N, 2, P) colour shares match the description."""
    score = np.ones(len(colours), np.float32)
    if upper:
        score = score * colours[:, UPPER, colour_index(upper)]
    if lower:
        score = score * colours[:, LOWER, colour_index(lower)]
    return score


def describe(
    searcher: Searcher,
    upper: str | None,
    lower: str | None,
    where: SearchFilter | None = None,
    max_hits: int = 20,
) -> list[Hit]:
    """The people who best match the description, best first: each person's best-matching track."""
    if not upper and not lower:
        raise SearchError("a description needs an upper or a lower colour")
    for name in (upper, lower):
        if name:
            try:
                colour_index(name)  # an unknown colour is an error before any work
            except ValueError as e:
                raise SearchError(str(e)) from None
    library = searcher.library
    backfill_colours(library)
    table = library.colour_table(len(PALETTE))
    keep = np.ones(len(table.pks), bool)
    where = where or SearchFilter()
    if where.active:
        allowed = searcher.filter.allowed(where, library.clocks()).pks
        keep &= np.isin(table.pks, allowed)
    scores = colour_scores(table.colours, upper, lower)
    scores[~keep] = -1.0
    best: dict[tuple[int, int], tuple[float, int]] = {}
    order = [k for k in np.argsort(-scores, kind="stable") if scores[k] > 0]
    tracks: dict = {}
    for page in range(0, len(order), REGION_PAGE):
        chunk = order[page : page + REGION_PAGE]
        found = library.tracks([int(table.pks[k]) for k in chunk])
        for k in chunk:
            t = found.get(int(table.pks[k]))
            if t is None or (where.region is not None and not enters(t.path, where.region)):
                continue  # the union box let it in; its own boxes do not enter the region
            key = (int(table.video_ids[k]), int(table.persons[k]))
            if key not in best:
                best[key], tracks[t.pk] = (float(scores[k]), t.pk), t
            if len(best) >= max_hits:
                break
        if len(best) >= max_hits:
            break
    clocks = library.clocks()
    return [hit_from_track(tracks[pk], score, clocks.get(tracks[pk].video_id)) for score, pk in best.values()]


def wearing(library: Library, hits: Sequence[Hit], upper: str | None, lower: str | None) -> list[Hit]:
    """The hits whose track wears the colours asked for (narrowing a photo search)."""
    config = ColourConfig()
    backfill_colours(library)
    table = library.colour_table(len(PALETTE))
    row = {int(pk): k for k, pk in enumerate(table.pks)}
    out = []
    for h in hits:
        k = row.get(h.track_pk)
        if k is None:
            continue
        c = table.colours[k]
        if upper and c[UPPER, colour_index(upper)] < config.present:
            continue
        if lower and c[LOWER, colour_index(lower)] < config.present:
            continue
        out.append(h)
    return out
