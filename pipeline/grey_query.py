"""A query photo without colour (a still from a night or black-and-white camera, a photocopy, a
newspaper print) is compared with colour tracks turned grey: like with like, the other way round from
:mod:`pipeline.monochrome` (night footage searched with a colour photo).

The appearance model weighs clothing colour heavily, so a grey photo scores every colour track low,
and the one with the fewest colours (someone in black and grey) highest, whoever it is: measured
(README, "A photo without colour"), each person's photo turned grey and searched in the colour
footage found PETS09-S2L1's people at F1 0.285 and TUD-Campus's at 0.257, where the colour photos
reach 0.834 and 0.957.

Colour tracks keep no grey vector (indexing stays as it was, and older libraries need nothing): when
a grey photo is searched, the ``candidates`` colour tracks nearest to it by their colour vectors are
embedded again from their stored best crops (the thumbnails) turned grey, and scored by those. The
grey vectors are remembered for the next grey search, and forgotten when tracks are removed (a key
may be given to a new track). Tracks recorded without colour are compared as they are (grey with
grey).

In grey, different people look more alike (without their clothes' colours), so the colour floor
let through look-alikes of people who are not there: 36 % of 112 absent people's grey photos got
hits. A colour track met in grey (one grey best crop against the grey photo) must reach a grey
floor; tracks recorded without colour, scored by their best crop as any track is, keep the
library's calibrated floor for such tracks (calibrated on their grey crops already:
0.75-0.78 on the night copies of the three sequences, where the rule below gives 0.72-0.735, as a
single crop scores lower than the best of several).

The grey floor lets through as large a share of the library's different-people pairs as the
colour floor does in colour: the pairs are :mod:`pipeline.calibration`'s (tracks of one video seen
at the same time, apart), scored as a grey search scores a colour track (one grey best crop against
another), and the floor is the grey score that the same share of them reaches as reach the
calibrated colour floor in colour. Written here: which tracks to embed again, a cache and a quantile;
the model and the calibration's pair rule do the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from models.reid import ReidEmbedder
from pipeline.calibration import BINS, CalibrationConfig, score_histograms
from pipeline.cosine_histogram import bin_upper_edge, cosine_bins
from pipeline.monochrome import MonochromeConfig, grey, jpeg_without_colour, without_colour
from pipeline.storage import Library
from pipeline.storage.cases import CaseInfo

log = logging.getLogger(__name__)

GREY_PHOTO_NOTE = (
    "the photo has no colour: the footage is compared with it in grey (clothing colours cannot help; "
    "expect more look-alikes)"
)


SAME_VECTOR = 0.9999  # cosine of a vector with itself, after a case file's round trip through JSON


def is_grey_photo(vec: np.ndarray, grey_vec: np.ndarray | None) -> bool:
    """Whether a query is a photo without colour: its grey copy is the photo itself
    (``Searcher.grey_vector``), so the grey vector a search, a case or a review keeps with it is its
    own vector. (A colour photo's grey copy scores 0.6-0.95 against it: the colours are gone.)"""
    return grey_vec is not None and float(np.dot(vec, grey_vec)) >= SAME_VECTOR


def case_greys(case: CaseInfo, model: str, config: MonochromeConfig) -> tuple[np.ndarray | None, ...]:
    """The grey vectors of a case's photos of ``model`` (:meth:`CaseInfo.grey_vectors`). A case made
    before photos without colour were compared in grey kept none for such a photo: it is its own
    grey copy when the photo it keeps shows no colour (a photo that is gone keeps None: compared
    as before)."""
    out = []
    for (path, m, vector), grey_vector in zip(case.photos, case.photo_greys):
        if m == model:
            plain = grey_vector is None and _file_without_colour(Path(path), config)
            out.append(vector if plain else grey_vector)
    return tuple(out)


def _file_without_colour(path: Path, config: MonochromeConfig) -> bool:
    try:
        data = np.fromfile(path, np.uint8) if path.is_file() else np.zeros(0, np.uint8)
    except OSError:
        return False
    image = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_2) if data.size else None
    return image is not None and without_colour(image, config)


@dataclass(frozen=True)
class GreyQueryConfig:
    """candidates: colour tracks embedded again in grey for a photo without colour, the nearest to it
        by their colour vectors (a person's own tracks rank high among them even in colour: grey
        takes away the clothes' hue, not their lightness or the build). More finds a person whose
        colour vector ranks lower, at about 6 ms of appearance model per track on 2 CPU cores, once
        per track (remembered).
    floor_tracks: the grey floor is calibrated on at most this many tracks (the first of each video,
        shared evenly), embedded in grey once per library state: about 6 s at the first grey search
        of a large library on 2 CPU cores, then remembered while the library is open.
    default_floor: the floor of a grey photo until the library holds enough different-people pairs
        (``CalibrationConfig.min_samples``) to calibrate one. Calibrated on PETS09-S2L1,
        ADL-Rundle-6 and the three with TUD-Campus, the grey floor was 0.785-0.79 (colour 0.68-0.715).
    """

    candidates: int = 300
    floor_tracks: int = 1000
    default_floor: float = 0.78


class ColourlessTracks:
    """Which tracks were recorded without colour, judged from their stored thumbnails
    (:func:`pipeline.monochrome.jpeg_without_colour`), remembered per track and forgotten when
    tracks are removed (a key may be given to a new track)."""

    def __init__(self, library: Library, config: MonochromeConfig) -> None:
        self.library, self.config = library, config
        self._known: dict[int, bool] = {}
        self._removed = -1

    def __call__(self, pks: np.ndarray) -> np.ndarray:
        removed = self.library.generation()[1]
        if removed != self._removed:
            self._known, self._removed = {}, removed
        missing = [int(p) for p in pks.tolist() if int(p) not in self._known]
        if missing:
            thumbs = self.library.thumbnails(missing)
            for p in missing:
                self._known[p] = jpeg_without_colour(thumbs.get(p, b""), self.config)
        return np.array([self._known[int(p)] for p in pks.tolist()], bool)


class GreyTracks:
    """Grey appearance vectors of colour tracks, from their stored best crops, made on demand."""

    def __init__(self, library: Library, reid: ReidEmbedder) -> None:
        self.library, self.reid = library, reid
        self._vectors: dict[int, np.ndarray] = {}
        self._removed = -1
        self._histogram: tuple[tuple[int, int], np.ndarray] | None = None

    def vectors(self, pks: list[int]) -> dict[int, np.ndarray]:
        """Unit vectors of the tracks' best crops turned grey (a track whose thumbnail does not decode
        is left out: it keeps its colour score)."""
        removed = self.library.generation()[1]
        if removed != self._removed:
            self._vectors, self._removed = {}, removed
        missing = [p for p in pks if p not in self._vectors]
        if missing:
            thumbs = self.library.thumbnails(missing)
            crops, keys = [], []
            for p in missing:
                data = np.frombuffer(thumbs.get(p, b""), np.uint8)
                image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
                if image is not None and image.size:
                    crops.append(grey(image))
                    keys.append(p)
            if crops:
                self._vectors.update(zip(keys, self.reid.embed(crops)))
                log.info("embedded the best crops of %d tracks turned grey", len(crops))
        return {p: self._vectors[p] for p in pks if p in self._vectors}

    def impostor_histogram(self, sample: int) -> np.ndarray:
        """Different-people scores (:func:`pipeline.calibration.score_histograms`'s pairs) of the
        library's tracks turned grey, one grey crop a track, over at most ``sample`` tracks (the first
        of each video); remembered until the library's tracks change."""
        changed = self.library.generation()
        if self._histogram is not None and self._histogram[0] == changed:
            return self._histogram[1]
        videos = [v.video_id for v in self.library.videos()]
        each = max(1, sample // max(1, len(videos)))
        impostor = np.zeros(BINS, np.int64)
        for video_id in videos:
            tracks = list(islice(self.library.iter_video_tracks(video_id), each))
            impostor += score_histograms(tracks, self._as_crops)[1].sum(axis=0)
        self._histogram = (changed, impostor)
        return impostor

    def _as_crops(self, pks: list[int]) -> dict[int, np.ndarray]:
        return {p: v[None] for p, v in self.vectors(pks).items()}

    def floor(
        self,
        colour_impostor: np.ndarray | None,
        colour_floor: float,
        config: GreyQueryConfig,
        calibration: CalibrationConfig,
    ) -> tuple[float, bool]:
        """(floor, calibrated) of a grey photo: the grey score reached by as large a share of
        different-people pairs in grey as reach ``colour_floor`` in colour (``colour_impostor``, the
        library's histogram); ``config.default_floor`` while either has too few pairs."""
        if colour_impostor is None or int(colour_impostor.sum()) < calibration.min_samples:
            return config.default_floor, False
        grey_impostor = self.impostor_histogram(config.floor_tracks)
        if int(grey_impostor.sum()) < calibration.min_samples:
            return config.default_floor, False
        first = int(cosine_bins(np.array([colour_floor + 1e-9]), BINS)[0])  # the floor is its lower edge
        share = colour_impostor[first:].sum() / colour_impostor.sum()
        reaching = np.cumsum(grey_impostor[::-1])[::-1] / grey_impostor.sum()  # share in each bin or above
        lo, hi = calibration.bounds
        if not (reaching <= share).any():  # more grey pairs at the very top than the share: none lower
            return hi, True
        k = int(np.argmax(reaching <= share)) - 1  # grey pairs above bin k: no larger a share
        return float(min(max(bin_upper_edge(k, BINS), lo), hi)), True

    def candidates(
        self,
        vec: np.ndarray,
        nearest: tuple[np.ndarray, np.ndarray],
        colour: np.ndarray,
        found: tuple[np.ndarray, np.ndarray],
        least: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A grey query's candidates: the ``nearest`` tracks (keys, scores by their colour vectors),
        the ``colour`` ones among them scored turned grey, and the rest of ``found`` with their own
        scores; those reaching ``least``, best first, and which were scored in grey."""
        top_pks, top_scores = nearest[0], nearest[1].astype(np.float64)
        rescored, in_grey = self.scores(vec, top_pks[colour], top_scores[colour])
        top_scores[colour], flags = rescored, np.zeros(len(top_pks), bool)
        flags[colour] = in_grey
        rest = ~np.isin(found[0], top_pks)  # beyond the nearest: their own scores
        pks = np.concatenate([top_pks, found[0][rest]])
        scores = np.concatenate([top_scores, found[1][rest].astype(np.float64)])
        flags = np.concatenate([flags, np.zeros(int(rest.sum()), bool)])
        keep = np.flatnonzero(scores >= least)
        order = keep[np.argsort(-scores[keep], kind="stable")]
        return pks[order], scores[order], flags[order]

    def scores(self, vec: np.ndarray, pks: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tracks' scores against a grey query vector, by their grey vectors where they have one;
        and which were so scored."""
        found = self.vectors([int(p) for p in pks.tolist()])
        out, in_grey = scores.astype(np.float64).copy(), np.zeros(len(pks), bool)
        for i, p in enumerate(pks.tolist()):
            if p in found:
                out[i], in_grey[i] = float(found[p] @ vec), True
        return out, in_grey
