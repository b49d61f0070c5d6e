"""The score a search hit must reach in this library, calibrated from the library's own footage.

How well two appearances match depends on the footage (crop size, blur, light) and on who is in it
(staff in uniforms), so a fixed floor is wrong somewhere. Each indexed video gives two kinds of pairs
whose truth is certain without any labels:
- *same person*: two crops of one track (the tracker followed one person between them); each crop is
  scored against the best other crop of its track;
- *different people*: two tracks of one video that overlap in time (one person is not in two places
  at once, :mod:`pipeline.cooccurrence`; tracks the linker joined into one person are left out, and
  so are pairs whose boxes ever touch, whose crops may show both people); one crop of one is scored
  against the best crop of the other, both ways, as a search scores a track.
Their histograms are kept per video and ReID model and added up over the library, apart for each
kind of track: recorded in colour, and recorded without colour (a camera at night in infrared, or
black and white; :mod:`pipeline.monochrome`, by the track's stored best crop), as a search compares
each kind differently (the latter with the query turned grey). A pair of one kind of each is left
out. The floor of each kind is their equal-error point: the score at which the share of same-person
pairs below it equals the share of different-people pairs above it. Measured on PETS09-S2L1,
TUD-Campus and ADL-Rundle-6 and every library made of them, this floor (0.68-0.70) rejected 97-100 %
of searches for people from other footage, where the former fixed floor (0.65) rejected 87-98 %, and
lost no present person's hit (``python -m bench.not_here``). Until the library has ``min_samples``
pairs of both truths, the configured default floor applies; the floor is kept within ``bounds``.

One floor per kind of track, because one camera's day and night differ by more than cameras do: in
grey, strangers look more alike (the night copies of the three sequences calibrate at 0.75-0.78, the
colour ones at 0.68-0.715), so a library holding one camera's day and night calibrated on both
together had a floor too high for its day (present F1 PETS09-S2L1 0.858 -> 0.815, ADL-Rundle-6 0.720
-> 0.646) and too low for its night: 17 % of absent people got hits, against 2-8 % in a library of
either alone (``python -m bench.search_quality --mixed``; with a floor per kind, 0.848 / 0.720 and 9
%, README "One camera's day and night"). A kind with too few pairs of its own (the few colourless
tracks of a dusk) takes the floor of both kinds together.

Pairs are found by sorting tracks by start and sweeping; each track is paired with at most
``RIVALS`` of the tracks alive when it starts (the latest to start), so a crowd that stays in view
for hours costs O(n * RIVALS), not O(n^2): the histogram is a sample of the pairs, and a few thousand
pairs already fix the equal-error point to a bin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from pipeline.cooccurrence import boxes_touch
from pipeline.cosine_histogram import bin_upper_edge, cosine_bins
from pipeline.errors import StorageError
from pipeline.monochrome import jpeg_without_colour
from pipeline.storage import Library, TrackInfo

log = logging.getLogger(__name__)

BINS = 400  # histogram bins over cosine similarity [-1, 1]: 0.005 wide
METHOD = "eer-4"  # the pair rules below, and what is without colour; histograms of another are computed again
COLOUR, COLOURLESS = 0, 1  # the kinds of track, each a row of the histograms (stored one after the other)
KINDS = 2
RIVALS = 64  # most tracks alive at once that a new track is paired with (more people than any camera's view)


@dataclass(frozen=True)
class CalibrationConfig:
    """min_samples: fewest pairs of each kind before the library's own floor is trusted.
    bounds: the calibrated floor is kept within (lowest, highest), a guard against odd footage
        (a library of one person, a camera pointed at a crowd in uniforms).
    """

    min_samples: int = 100
    bounds: tuple[float, float] = (0.55, 0.85)


def score_histograms(
    tracks: Iterable[TrackInfo],
    crops: Callable[[list[int]], Mapping[int, np.ndarray]],
    page: int = 500,
    rivals: int = RIVALS,
    colourless: Callable[[list[int]], Mapping[int, bool]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(same-person, different-people) score histograms of one video's tracks, each (KINDS, BINS):
    a row per kind of track (``colourless`` says which tracks were recorded without colour; without
    it, all count as colour).

    ``tracks`` come in order of appearance (first frame); ``crops`` gives the (K, D) L2-normalised
    crop embeddings of a list of track keys. One sweep: only the tracks alive at a time and one page
    of embeddings are held, so an hour- or day-long video costs no more memory than a minute.
    """
    genuine = np.zeros((KINDS, BINS), np.int64)
    impostor = np.zeros((KINDS, BINS), np.int64)
    active: list[tuple[TrackInfo, np.ndarray, int]] = []
    for chunk in _pages(tracks, page):
        keys = [t.pk for t in chunk]
        vectors = crops(keys)
        dark = colourless(keys) if colourless is not None else {}
        for t in chunk:
            own = vectors.get(t.pk)
            if own is None:
                continue
            kind = COLOURLESS if dark.get(t.pk, False) else COLOUR
            if len(own) > 1:
                sims = own @ own.T
                np.fill_diagonal(sims, -np.inf)
                genuine[kind] += np.bincount(cosine_bins(sims.max(axis=1), BINS), minlength=BINS)
            active = [(a, v, k) for a, v, k in active if a.last_frame >= t.first_frame]
            for a, v, k in active[-rivals:]:
                if a.person == t.person or k != kind or boxes_touch(a, t):
                    continue
                sims = v @ own.T
                both_ways = np.concatenate([sims.max(axis=1), sims.max(axis=0)])
                impostor[kind] += np.bincount(cosine_bins(both_ways, BINS), minlength=BINS)
            active.append((t, own, kind))
    return genuine, impostor


def _pages(items: Iterable[TrackInfo], size: int) -> Iterator[list[TrackInfo]]:
    chunk: list[TrackInfo] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def equal_error_floor(
    genuine: np.ndarray, impostor: np.ndarray, config: CalibrationConfig, default: float
) -> tuple[float, bool]:
    """(floor, calibrated): the equal-error score of the two histograms, or ``default`` when either
    has fewer than ``config.min_samples`` pairs."""
    if int(genuine.sum()) < config.min_samples or int(impostor.sum()) < config.min_samples:
        return default, False
    below = np.cumsum(genuine) / genuine.sum()  # same-person pairs at or below each bin
    above = 1.0 - np.cumsum(impostor) / impostor.sum()  # different-people pairs above each bin
    k = int(np.argmin(np.abs(below - above)))
    floor = bin_upper_edge(k, BINS)
    lo, hi = config.bounds
    return float(min(max(floor, lo), hi)), True


@dataclass(frozen=True)
class Floors:
    """A library's floors: for tracks recorded in colour and without colour; ``calibrated``: from
    the library's own pairs (else the configured default)."""

    colour: float
    colourless: float
    calibrated: bool


def video_histograms(library: Library, video_id: int, model: str) -> tuple[np.ndarray, np.ndarray]:
    """One video's (same-person, different-people) histograms, each (KINDS, BINS), from its stored
    tracks (after they are linked into people)."""

    def colourless(pks: list[int]) -> dict[int, bool]:
        return {pk: jpeg_without_colour(jpeg) for pk, jpeg in library.thumbnails(pks).items()}

    return score_histograms(
        library.iter_video_tracks(video_id),
        lambda pks: library.embeddings_of(model, "crop", pks),
        colourless=colourless,
    )


def calibrate_video(library: Library, video_id: int, model: str) -> None:
    """Compute and store one video's histograms."""
    genuine, impostor = video_histograms(library, video_id, model)
    library.set_score_histograms(video_id, model, METHOD, genuine.ravel(), impostor.ravel())


def library_histograms(library: Library, model: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The library's (same-person, different-people) histograms for a model, each (KINDS, BINS),
    first computing those of videos indexed before Spotter kept them (cheap: stored embeddings and
    best crops only); None while no video has any."""
    unsaved = np.zeros((2, KINDS, BINS), np.int64)  # of a library that cannot be written (read-only)
    for video_id in library.videos_without_histograms(model, METHOD):
        log.info("calibrating video %d from its stored tracks", video_id)
        genuine, impostor = video_histograms(library, video_id, model)
        try:
            library.set_score_histograms(video_id, model, METHOD, genuine.ravel(), impostor.ravel())
        except StorageError as e:  # a library on a read-only share: calibrated all the same
            log.info("calibration of video %d kept in memory only: %s", video_id, e)
            unsaved += np.stack([genuine, impostor])
    found = library.score_histograms(model, METHOD)
    if found is None and not unsaved.any():
        return None
    stored = np.stack([h.reshape(KINDS, BINS) for h in found]) if found is not None else 0
    genuine, impostor = stored + unsaved
    return genuine, impostor


def library_floors(library: Library, model: str, config: CalibrationConfig, default: float) -> Floors:
    """The library's calibrated floors for a model (:func:`library_histograms`)."""
    found = library_histograms(library, model)
    if found is None:
        return Floors(default, default, False)
    genuine, impostor = found
    both, calibrated = equal_error_floor(genuine.sum(axis=0), impostor.sum(axis=0), config, default)
    floors = []
    for kind in (COLOUR, COLOURLESS):
        own, alone = equal_error_floor(genuine[kind], impostor[kind], config, default)
        floors.append(own if alone else both)
    return Floors(floors[COLOUR], floors[COLOURLESS], calibrated)
