"""Query photos prepared once per searcher: a repeat search with the same photos runs no model on them."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.errors import QueryError
from pipeline.prepared_queries import PreparedQueries, photo_key
from pipeline.search import Searcher
from tests.conftest import pets


class Counting:
    """The real model, counting its calls."""

    def __init__(self, model: object, *methods: str):
        self.model, self.methods, self.calls = model, methods, 0

    def __getattr__(self, name: str) -> object:
        value = getattr(self.model, name)
        if name not in self.methods:
            return value

        def counted(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return value(*args, **kwargs)  # type: ignore[operator]

        return counted


class CountingModels:
    def __init__(self, models: object):
        self.reid_id = models.reid_id  # type: ignore[attr-defined]
        self.detector = Counting(models.detector, "detect", "detect_at")  # type: ignore[attr-defined]
        self.reid = Counting(models.reid, "embed")  # type: ignore[attr-defined]


def pets_photo(frame_of, k: int = 0) -> np.ndarray:
    """A whole frame of PETS09-S2L1 (several people in it)."""
    return frame_of(pets().video, 100 + 200 * k)


def test_a_repeat_search_runs_no_model_on_its_photos(indexed, models, frame_of) -> None:
    counting = CountingModels(models)
    searcher = Searcher(indexed, counting)  # type: ignore[arg-type]
    photo, other = pets_photo(frame_of, 0), pets_photo(frame_of, 1)
    first = searcher.search(photo, person=0, save=False)
    searcher.prepare(other, person=0)
    detector_calls, reid_calls = counting.detector.calls, counting.reid.calls
    assert detector_calls > 0 and reid_calls > 0

    again = searcher.search(photo.copy(), person=0, save=False)  # the same pixels, another array
    searcher.prepare(other, person=0)
    assert (counting.detector.calls, counting.reid.calls) == (detector_calls, reid_calls)
    assert [(h.track_pk, h.score) for h in again.hits] == [(h.track_pk, h.score) for h in first.hits]
    assert np.array_equal(again.vector, first.vector)

    searcher.prepare(photo, person=1)  # another person of the same photo is another query
    assert counting.detector.calls > detector_calls


def test_a_kept_query_does_not_follow_changes_to_the_callers_photo(indexed, models, frame_of) -> None:
    searcher = Searcher(indexed, models)
    photo = pets_photo(frame_of)
    query, vec = searcher.prepare(photo, person=0)
    before = query.crop.copy()
    photo[:] = 0  # the caller reuses its buffer
    assert np.array_equal(query.crop, before)
    assert not vec.flags.writeable and not query.crop.flags.writeable  # nobody may change a kept query
    with pytest.raises(QueryError, match="no person"):
        searcher.prepare(photo)  # the new pixels are a new photo (and hold nobody)


def test_a_photo_file_changed_on_disk_is_prepared_again(indexed, models, frame_of, tmp_path: Path) -> None:
    counting = CountingModels(models)
    searcher = Searcher(indexed, counting)  # type: ignore[arg-type]
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), pets_photo(frame_of, 0))
    q1, v1 = searcher.prepare(path, person=0)
    calls = counting.detector.calls
    assert np.array_equal(searcher.prepare(path, person=0)[1], v1)
    assert counting.detector.calls == calls
    cv2.imwrite(str(path), pets_photo(frame_of, 2))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    q2, _ = searcher.prepare(path, person=0)
    assert counting.detector.calls > calls
    assert not np.array_equal(q1.image, q2.image)


def test_a_photo_that_fails_is_not_kept_and_names_the_photo_each_time(indexed, models) -> None:
    searcher = Searcher(indexed, models)
    blank = np.full((200, 100, 3), 128, np.uint8)
    for name in ("first.jpg", "second.jpg"):
        with pytest.raises(QueryError, match=name):
            searcher.prepare(blank, name=name)
    assert len(searcher.prepared) == 0


def test_the_store_keeps_the_most_recent_photos_up_to_its_capacity() -> None:
    store = PreparedQueries(capacity=2)
    made: list[str] = []

    def make(v: str):
        return lambda: made.append(v) or v

    assert store.get("a", make("a")) == "a"
    assert store.get("b", make("b")) == "b"
    assert store.get("a", make("a2")) == "a"  # kept, and now the most recent
    assert store.get("c", make("c")) == "c"  # "b" leaves
    assert store.get("b", make("b2")) == "b2"
    assert store.get(None, make("n")) == "n" and store.get(None, make("n2")) == "n2"  # no key: not kept
    assert made == ["a", "b", "c", "b2", "n", "n2"] and len(store) == 2 and store.hits == 1


def test_a_key_names_pixels_box_and_person(tmp_path: Path) -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    assert photo_key(image, None, None) == photo_key(image.copy(), None, None)
    assert photo_key(image, None, None) != photo_key(image + 1, None, None)
    assert photo_key(image, [0, 0, 2, 2], None) != photo_key(image, None, None)
    assert photo_key(image, None, 0) != photo_key(image, None, 1)
    assert photo_key(image[:, :2], None, None) != photo_key(image[:2], None, None)  # shape counts
    assert photo_key(tmp_path / "missing.jpg", None, None) is None
