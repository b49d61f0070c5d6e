"""Query photos already prepared (the person chosen and embedded), kept for the next search.

A search with several photos of the person (a case taken up again, photos added one by one) prepares
every photo on every search: the detector runs on each, once more for a photo that lies on its side,
and the ReID model embeds the crop. Measured before this cache (a case of 20 photos, repeat search in
the app): 1.5 s, against 0.14 s for one photo. The searcher's models and query settings are fixed for
its life, so the same pixels, box and person choice give the same query: it is kept, keyed by what the
photo holds (a hash of an image's pixels; a file's path, size and modification time), and the next
search takes it. A photo that cannot be used is not kept (its error names the photo as the caller
calls it). The cache holds ``capacity`` photos, the least recently used one leaving first.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from models.loader import ModelSet
from pipeline.monochrome import grey, without_colour
from pipeline.query import QueryPerson, prepare_query
from pipeline.search_config import SearchConfig

CACHED_PHOTOS = 64  # prepared photos kept per searcher (each holds its photo: ~6 MB for 1080p)

T = TypeVar("T")


def photo_key(
    photo: str | Path | np.ndarray, box: Sequence[float] | None, person: int | None
) -> Hashable | None:
    """What identifies a prepared photo: its pixels (or the file as it is on disk now), the box drawn
    on it and the person chosen; None for a file that cannot be looked at (its preparation says why)."""
    if isinstance(photo, np.ndarray):
        pixels = np.ascontiguousarray(photo)
        digest = hashlib.blake2b(pixels.data, digest_size=16).hexdigest()
        what: Hashable = ("pixels", digest, pixels.shape, pixels.dtype.str)
    else:
        try:
            st = Path(photo).stat()
            what = ("file", str(Path(photo).resolve()), st.st_size, st.st_mtime_ns)
        except (OSError, ValueError):
            return None
    drawn = None if box is None else tuple(float(v) for v in box)
    return what, drawn, person


def embed_query(
    photo: str | Path | np.ndarray,
    models: ModelSet,
    config: SearchConfig,
    box: Sequence[float] | None = None,
    person: int | None = None,
    name: str | None = None,
) -> tuple[QueryPerson, np.ndarray]:
    """The person chosen in the photo and their vector, read-only (kept for later searches); a photo
    without colour is embedded turned grey, as the colour tracks it is compared with are
    (:mod:`pipeline.grey_query`)."""
    if isinstance(photo, np.ndarray) and photo.flags.writeable:  # the caller may change its own
        photo = np.array(photo, copy=True)
    query = prepare_query(photo, models.detector, config.query, box, person, name)
    plain = config.like_with_like and without_colour(query.crop, config.monochrome)
    vec = models.reid.embed([grey(query.crop) if plain else query.crop])[0]
    for kept in (vec, query.image, query.crop):
        kept.flags.writeable = False
    return query, vec


class PreparedQueries:
    """Least-recently-used store of prepared query photos."""

    def __init__(self, capacity: int = CACHED_PHOTOS):
        self.capacity = capacity
        self._kept: OrderedDict[Hashable, object] = OrderedDict()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: Hashable | None, prepare: Callable[[], T]) -> T:
        """The prepared photo kept under ``key``, else ``prepare()``'s result, kept (not when it
        raises, nor under no key)."""
        if key is not None and key in self._kept:
            self._kept.move_to_end(key)
            self.hits += 1
            return self._kept[key]  # type: ignore[return-value]
        value = prepare()
        if key is not None and self.capacity > 0:
            self._kept[key] = value
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return value

    def clear(self) -> None:
        self._kept.clear()
