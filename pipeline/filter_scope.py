"""What a search under a filter (cameras, videos, a time window, a region) scores and weighs
(:meth:`pipeline.search.Searcher.match`).

A filter shows part of the library; it must not change who a person is. A person (a linked chain of
tracks of one video) is scored by their best track, also one outside the filter: their track before
midnight is them as much as their track after it, and was the one that matched the photo best.
Scored only inside a window from midnight, such a person's own track fell below the cut and the
hit that the same search without the filter gave, inside the window, was gone. So a filtered search
scores the tracks inside the filter and every other track of the people it finds there, and weighs
against each other only the people seen inside it: a hit without the filter that lies inside it is
a hit with it too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.search_index import VectorIndex
from pipeline.storage import Library
from pipeline.types import enters


def whole_people(
    index: VectorIndex,
    library: Library,
    vecs: Sequence[np.ndarray | None],
    least: float,
    candidates: int,
    inside: np.ndarray | None,
    partial: bool = True,
) -> np.ndarray | None:
    """The tracks a filtered search scores (sorted keys): those ``inside`` the filter and every other
    track of the people among its best ``candidates`` for any of ``vecs`` there; None without a
    filter (the whole library). A filter of whole videos (not ``partial``: cameras, videos; no time
    window, no region) holds every track of its people already: ``inside``, with no search more."""
    if inside is None or not partial:
        return inside
    found = [index.search(v, least, candidates, inside)[0] for v in vecs if v is not None]
    people = set(library.track_people(np.concatenate(found).tolist()).values())
    more = np.asarray(library.people_pks(sorted(people)), np.int64)
    return np.union1d(inside, more) if len(more) else inside


def seen_inside(
    library: Library,
    pks: np.ndarray,
    keep: list[int],
    owners: dict[int, tuple[int, int]],
    inside: np.ndarray,
    region: tuple[float, float, float, float] | None,
) -> list[int]:
    """Of the candidates ``keep`` (indices into ``pks``), those of people with a track inside the
    filter, whose own boxes enter ``region`` where one is given (the union box chose the candidates).
    Only these people are weighed against each other; their tracks outside count to their score."""
    shown = [i for i in keep if among(inside, int(pks[i]))]
    if region is not None and shown:
        paths = library.tracks(pks[shown].tolist())
        shown = [i for i in shown if int(pks[i]) in paths and enters(paths[int(pks[i])].path, region)]
    people = {owners[int(pks[i])] for i in shown}
    return [i for i in keep if owners[int(pks[i])] in people]


def among(sorted_pks: np.ndarray, pk: int) -> bool:
    """Whether ``pk`` is one of ``sorted_pks`` (ascending)."""
    i = int(np.searchsorted(sorted_pks, pk))
    return i < len(sorted_pks) and int(sorted_pks[i]) == pk
