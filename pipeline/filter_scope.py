"""What a search under a filter (cameras, videos, a time window, a region) scores and weighs
(:meth:`pipeline.search.Searcher.match`).

A filter shows part of the library; it must not change who a person is. A person (a linked chain of
tracks of one video) is scored by their best track, also one outside the filter: their track before
midnight is them as much as their track after it, and was the one that matched the photo best.
Scored only inside a window from midnight, such a person's own track fell below the cut and the
hit that the same search without the filter gave, inside the window, was gone.

So a filter that cuts through videos (a time window, a region) finds the people it may show by who
they are, not by which of their tracks came up: the people among the best candidates inside the
filter, and those among the best candidates of the whole library, each kept when any track of theirs
lies inside the filter (a person seen from behind inside the window, 0.25, is the person matched
at 0.95 before it). The search then scores those people's tracks, in and out, and weighs only them
against each other: a hit without the filter that lies inside it is a hit with it too. A filter of
whole videos (cameras, videos) holds every track of its people already and searches once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.search_index import VectorIndex
from pipeline.storage import Library
from pipeline.types import enters

Key = tuple[int, int]  # (video id, person)


@dataclass(frozen=True)
class FilterScope:
    """pks: the tracks to score (sorted keys; None: the whole library). people: the people a hit may
    be of (None: any who has a track in ``pks``)."""

    pks: np.ndarray | None = None
    people: frozenset[Key] | None = None


def filter_scope(
    index: VectorIndex,
    library: Library,
    searches: Sequence[tuple[np.ndarray, float, int]],
    inside: np.ndarray | None,
    region: tuple[float, float, float, float] | None = None,
    partial: bool = True,
) -> FilterScope:
    """What a search scores under a filter whose tracks are ``inside`` (None: no filter), ``partial``
    when it cuts through videos (see the module's docstring); ``region`` is checked on each track's
    own boxes (the filter chose by their union). ``searches``: how the search finds its candidates,
    (vector, lowest score, how many) each: the photo, the photo turned grey, and for a photo without
    colour the colour tracks nearest to it at any score (re-scored by their crops in grey)."""
    if inside is None or not partial:
        return FilterScope(inside)
    found = [index.search(v, floor, k, where)[0] for v, floor, k in searches for where in (inside, None)]
    people = set(library.track_people(np.concatenate(found).tolist()).values())
    members = library.people_pks(sorted(people))  # track key -> person
    shown = [pk for pk in members if among(inside, pk)]
    if region is not None and shown:
        paths = library.tracks(shown)
        shown = [pk for pk in shown if pk in paths and enters(paths[pk].path, region)]
    seen = frozenset(members[pk] for pk in shown)
    return FilterScope(np.array(sorted(pk for pk, who in members.items() if who in seen), np.int64), seen)


def among(sorted_pks: np.ndarray, pk: int) -> bool:
    """Whether ``pk`` is one of ``sorted_pks`` (ascending)."""
    i = int(np.searchsorted(sorted_pks, pk))
    return i < len(sorted_pks) and int(sorted_pks[i]) == pk
