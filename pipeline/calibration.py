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
Their histograms are kept per video and ReID model and added up over the library. The floor is their
equal-error point: the score at which the share of same-person pairs below it equals the share of
different-people pairs above it. Measured on PETS09-S2L1, TUD-Campus and ADL-Rundle-6 and every
library made of them, this floor (0.68-0.70) rejected 97-100 % of searches for people from other
footage, where the former fixed floor (0.65) rejected 87-98 %, and lost no present person's hit
(``python -m bench.not_here``). Until the library has ``min_samples`` of both kinds, the configured
default floor applies; the floor is kept within ``bounds``.

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
from pipeline.storage import Library, TrackInfo

log = logging.getLogger(__name__)

BINS = 400  # histogram bins over cosine similarity [-1, 1]: 0.005 wide
METHOD = "eer-2"  # the pair rules below; stored histograms of another method are computed again
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
) -> tuple[np.ndarray, np.ndarray]:
    """(same-person, different-people) score histograms of one video's tracks.

    ``tracks`` come in order of appearance (first frame); ``crops`` gives the (K, D) L2-normalised
    crop embeddings of a list of track keys. One sweep: only the tracks alive at a time and one page
    of embeddings are held, so an hour- or day-long video costs no more memory than a minute.
    """
    genuine = np.zeros(BINS, np.int64)
    impostor = np.zeros(BINS, np.int64)
    active: list[tuple[TrackInfo, np.ndarray]] = []
    for chunk in _pages(tracks, page):
        vectors = crops([t.pk for t in chunk])
        for t in chunk:
            own = vectors.get(t.pk)
            if own is None:
                continue
            if len(own) > 1:
                sims = own @ own.T
                np.fill_diagonal(sims, -np.inf)
                genuine += np.bincount(cosine_bins(sims.max(axis=1), BINS), minlength=BINS)
            active = [(a, v) for a, v in active if a.last_frame >= t.first_frame]
            for a, v in active[-rivals:]:
                if a.person == t.person or boxes_touch(a, t):
                    continue
                sims = v @ own.T
                both_ways = np.concatenate([sims.max(axis=1), sims.max(axis=0)])
                impostor += np.bincount(cosine_bins(both_ways, BINS), minlength=BINS)
            active.append((t, own))
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


def calibrate_video(library: Library, video_id: int, model: str) -> None:
    """Compute and store one video's histograms (after its tracks are linked into people)."""
    genuine, impostor = score_histograms(
        library.iter_video_tracks(video_id), lambda pks: library.embeddings_of(model, "crop", pks)
    )
    library.set_score_histograms(video_id, model, METHOD, genuine, impostor)


def library_floor(
    library: Library, model: str, config: CalibrationConfig, default: float
) -> tuple[float, bool]:
    """The library's calibrated floor for a model, first computing the histograms of videos indexed
    before Spotter kept them (cheap: stored embeddings only)."""
    for video_id in library.videos_without_histograms(model, METHOD):
        log.info("calibrating video %d from its stored tracks", video_id)
        calibrate_video(library, video_id, model)
    found = library.score_histograms(model, METHOD)
    if found is None:
        return default, False
    return equal_error_floor(*found, config, default)
