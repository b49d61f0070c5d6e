"""Refine a search with the operator's review: several examples of the person, and counter-examples.

After a search the operator confirms some hits (this is the person) and rejects others (not them).
Refining searches again with every example at once: the query photos and the confirmed tracks
(their appearance vectors) are each searched by the rules of any search (the calibrated floor,
within the margin of the best person of each video, the filters), and a track's score is its best
score against any example. Measured (``python -m bench.refine``), the counter-examples are what
helps: looser rules for a confirmed track (the floor only, or a margin from the best *other*
person, since a track is its own best match) let in look-alikes of the same camera and cost more
precision than they gained recall. Tracks the operator rejected are
counter-examples: a candidate whose appearance is closer to a rejected track than to every example
is dropped (it is that other person, or looks like them more than like ours). Confirmed tracks are
always hits; rejected ones never, nor the tracks linked with them into one person. Where a photo
has no colour (or a hit was recorded without colour), that comparison is made in grey, like with
like (:mod:`pipeline.grey_query`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.grey_query import is_grey_photo
from pipeline.search import MatchResult, Searcher, hit_from_track
from pipeline.search_filter import SearchFilter
from pipeline.types import Hit, enters


@dataclass(frozen=True)
class Review:
    """What the operator said: the query photos' vectors, and confirmed / rejected track keys."""

    photos: tuple[np.ndarray, ...]
    confirmed: tuple[int, ...] = ()
    rejected: tuple[int, ...] = ()
    greys: tuple[np.ndarray | None, ...] = ()  # each photo turned grey, for footage without colour

    @property
    def grey_photo(self) -> bool:
        """Whether a photo has no colour (:func:`pipeline.grey_query.is_grey_photo`)."""
        return any(is_grey_photo(np.asarray(v), g) for v, g in zip(self.photos, self.greys))


def refine(
    searcher: Searcher, review: Review, where: SearchFilter | None = None, max_hits: int | None = None
) -> MatchResult:
    """Search with every example of the person at once (see the module docstring); best first."""
    model = searcher.models.reid_id
    own = searcher.library.embeddings_of(model, "track", [*review.confirmed, *review.rejected])
    confirmed = [own[p][0] for p in review.confirmed if p in own]
    negatives = np.array([own[p][0] for p in review.rejected if p in own], dtype=np.float32)
    examples = [np.asarray(v, np.float32) for v in review.photos] + confirmed
    # no example of this model (a case of another ReID model): nothing to search with, but the
    # confirmed sightings are still the person (a report said they were outside its filter)
    best: dict[int, Hit] = {}
    cut, top = None, None
    greys = list(review.greys[: len(review.photos)]) + [None] * len(examples)
    for vec, grey_vec in zip(examples, greys):
        m = searcher.match(vec, where=where, grey_vec=grey_vec)
        cut = m.cut if cut is None else min(cut, m.cut)  # the lowest floor a hit had to reach
        top = m.best_score if top is None or (m.best_score is not None and m.best_score > top) else top
        for h in m.hits:
            if h.track_pk not in best or h.score > best[h.track_pk].score:
                best[h.track_pk] = h
    # a rejected track rejects the person it was linked into (the fragments of one walk)
    rejected = set(searcher.library.track_people(list(review.rejected)).values())
    hits = [h for h in best.values() if (h.video_id, h.person) not in rejected]
    if len(negatives) and hits:
        vecs = searcher.library.embeddings_of(model, "track", [h.track_pk for h in hits])
        ex = np.stack(examples)
        in_grey = _in_grey(searcher, review, hits)
        hits = [
            h
            for h in hits
            if (
                _nearer_to_examples(*in_grey[h.track_pk])
                if h.track_pk in in_grey
                else h.track_pk not in vecs or _nearer_to_examples(vecs[h.track_pk][0], ex, negatives)
            )
        ]
    found = {h.track_pk for h in hits}
    missing = [p for p in review.confirmed if p not in found]
    if missing and where is not None and where.active:  # inside the filter only: a sweep's case
        # filtered to one camera listed the person's confirmed sightings on another, scored 1.000
        inside = set(searcher.filter.allowed(where, searcher.library.clocks()).pks.tolist())
        missing = [p for p in missing if p in inside]
    if missing:  # a confirmed track below the floor is still the person
        tracks, clocks = searcher.library.tracks(missing), searcher.library.clocks()
        region = where.region if where is not None else None  # one that enters it, as a search asks
        hits += [
            hit_from_track(tracks[p], 1.0, clocks.get(tracks[p].video_id))
            for p in missing
            if p in tracks and (region is None or enters(tracks[p].path, region))
        ]
    hits.sort(key=lambda h: (-h.score, h.video_id, h.start_frame))
    limited = tuple(hits[:max_hits] if max_hits else hits)
    floor = float(cut) if cut is not None else searcher.calibrated_floor()[0]
    return MatchResult(limited, tuple(hits), floor, top)


def _in_grey(
    searcher: Searcher, review: Review, hits: list[Hit]
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The hits to judge against the counter-examples in grey, like with like: every hit when a
    photo has no colour (a grey photo scores low against every colour vector, so any rejected
    track would look nearer), else those recorded without colour. Each: (its grey vector, the
    examples' and the rejected tracks' grey vectors): the photos turned grey, the confirmed and
    rejected tracks' best crops turned grey (:class:`pipeline.grey_query.GreyTracks`)."""
    photos = review.photos
    pks = np.array([h.track_pk for h in hits], np.int64)
    which = pks if review.grey_photo else pks[searcher.colourless(pks)]
    if not len(which):
        return {}
    tracks = searcher.grey_tracks
    found = tracks.vectors([int(p) for p in which.tolist()])
    negatives = list(tracks.vectors(list(review.rejected)).values())
    examples = [g for g in review.greys[: len(photos)] if g is not None]
    examples += list(tracks.vectors(list(review.confirmed)).values())
    if not negatives or not examples:
        return {}
    ex, neg = np.stack(examples).astype(np.float32), np.stack(negatives)
    return {p: (v, ex, neg) for p, v in found.items()}


def _nearer_to_examples(vec: np.ndarray, examples: np.ndarray, negatives: np.ndarray) -> bool:
    return float((examples @ vec).max()) >= float((negatives @ vec).max())


def sighting_scores(searcher: Searcher, review: Review, pks: list[int]) -> dict[int, float]:
    """Each confirmed sighting's score against the case's *other* examples: its query photos and its
    other confirmed tracks, as a search scores a track (its best crop; in grey where the photo, or
    the track, has no colour). Refining searches with every confirmed track as an example, so there
    a confirmed track met itself and scored 1.0 (or 0.93-0.97 by a crop): a report must not show
    that as its likeness. NaN where the case has no other example."""
    model = searcher.models.reid_id
    crops = searcher.library.embeddings_of(model, "crop", pks)
    means = searcher.library.embeddings_of(model, "track", list(review.confirmed))
    dark = dict(zip(pks, searcher.colourless(np.array(pks, np.int64)).tolist()))
    greys = list(review.greys[: len(review.photos)]) + [None] * len(review.photos)
    in_grey = searcher.grey_tracks.vectors(pks) if review.grey_photo else {}
    out = {}
    for p in pks:
        own, scores = crops.get(p), []
        if own is None:
            continue
        for vec, grey_vec in zip(review.photos, greys):
            if is_grey_photo(np.asarray(vec), grey_vec) and not dark[p] and p in in_grey:
                scores.append(float(in_grey[p] @ vec))  # a colour track met in grey, as a search does
            else:
                scores.append(float((own @ (grey_vec if dark[p] and grey_vec is not None else vec)).max()))
        scores += [float((own @ means[q][0]).max()) for q in review.confirmed if q != p and q in means]
        out[p] = max(scores) if scores else float("nan")
    return out
