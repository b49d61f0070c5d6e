"""The vector index: IVF and compressed (IVF-PQ) search, and its cache beside the library; each test
on an SQLite file and on a PostgreSQL database (the ``library`` fixture)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.search_index import VectorIndex, VectorIndexConfig
from pipeline.storage import Library
from tests.test_search import DIM, add_video, unit


def test_ivf_index_finds_planted_vectors(library: Library) -> None:
    rng = np.random.default_rng(3)
    n = 5000
    vecs = unit(rng.normal(size=(n, 64)))
    index = VectorIndex(library, "synthetic", VectorIndexConfig(ivf_min=1000, nprobe=16))
    index.add_vectors(vecs, np.arange(n) + 100)
    assert index.size == n
    for k in rng.choice(n, 20, replace=False):
        q = unit(vecs[k] + 0.05 * rng.normal(size=64))
        pks, scores = index.search(q, 0.5, 10)
        assert pks[0] == k + 100 and scores[0] > 0.9


def test_a_compressed_index_reports_exact_scores(library: Library) -> None:
    """From pq_min tracks on the vectors are compressed (IVF-PQ); the candidates are re-scored from
    the library's own vectors, so a search finds the same best tracks with their true cosines."""
    rng = np.random.default_rng(8)
    vecs = list(unit(rng.normal(size=(3000, DIM))))
    add_video(library, "big", vecs)
    config = VectorIndexConfig(ivf_min=500, pq_min=1000, pq_bytes=4, nlist_per_sqrt=1.0, nprobe=8)
    index = VectorIndex(library, "test-reid", config)
    index.refresh()
    assert index.backend == "ivfpq" and index.size == 3000
    pk_of = {t.track_id: t.pk for t in library.video_tracks(library.videos()[0].video_id)}
    matrix = np.array(vecs)
    for k in rng.choice(3000, 20, replace=False):
        q = unit(vecs[k] + 0.1 * rng.normal(size=DIM))
        pks, scores = index.search(q, 0.3, 3)
        exact = matrix @ q
        assert pks[0] == pk_of[int(k) + 1]
        assert scores[0] == pytest.approx(exact[k], abs=1e-5)  # the true cosine, not the compressed one
        assert np.all(np.diff(scores) <= 0) and np.all(scores >= 0.3)


def test_vector_index_cache_is_used_and_invalidated(library: Library) -> None:
    rng = np.random.default_rng(4)
    vecs = list(rng.normal(size=(30, DIM)))
    a = add_video(library, "cam1", vecs)
    cfg = VectorIndexConfig(cache_min=10)
    first = VectorIndex(library, "test-reid", cfg)
    first.refresh()
    assert first.cache_path.exists() and first.size == 30
    q = unit(vecs[7])
    expected = first.search(q, 0.5, 5)[0].tolist()
    with library.engine.begin() as c:  # rows vanish behind the counters' back: only the cache knows them
        c.exec_driver_sql("DELETE FROM embeddings WHERE kind = 'track'")
    second = VectorIndex(library, "test-reid", cfg)
    second.refresh()
    assert second.size == 30 and second.search(q, 0.5, 5)[0].tolist() == expected
    library.remove_video(a)  # a deletion invalidates the cache
    third = VectorIndex(library, "test-reid", cfg)
    third.refresh()
    assert third.size == 0


def test_corrupt_vector_index_cache_is_rebuilt(library: Library) -> None:
    rng = np.random.default_rng(5)
    add_video(library, "cam1", list(rng.normal(size=(30, DIM))))
    cfg = VectorIndexConfig(cache_min=10)
    VectorIndex(library, "test-reid", cfg).refresh()
    index = VectorIndex(library, "test-reid", cfg)
    index.cache_path.write_bytes(b"garbage")
    index.refresh()
    assert index.size == 30


@pytest.mark.parametrize("compressed", [False, True])
def test_a_narrow_filter_scans_only_the_lists_that_hold_its_tracks(tmp_path, compressed: bool) -> None:
    """A filter allowing few tracks (one camera, an hour) is answered from exactly the IVF lists that
    hold them: every allowed track is scored (brute force's answer), and the rest of the library's
    lists are not walked id by id; tracks added later are found too (the list map follows them)."""
    import faiss

    rng = np.random.default_rng(11)
    n, d = 6000, 64
    vecs = unit(rng.normal(size=(n, d))).astype(np.float32)
    pks = np.arange(1, n + 1, dtype=np.int64)
    config = VectorIndexConfig(ivf_min=1000, pq_min=1000 if compressed else 10**9, pq_bytes=8, nprobe=4)
    index = VectorIndex(Library(tmp_path / "lib.db"), "synthetic", config)
    index.add_vectors(vecs[:5000], pks[:5000])
    index._filtered_search(vecs[:1], 3, pks[:6])  # the key -> list map is made for these
    index.add_vectors(vecs[5000:], pks[5000:])  # incremental: the map must follow them
    nlist = index._index.nlist
    for trial in range(10):
        q = unit(rng.normal(size=d)).astype(np.float32)
        allowed = np.sort(rng.choice(pks, size=6, replace=False))
        allowed[-1] = n - trial  # one of the late additions
        holding = {int(index._index.quantizer.assign(vecs[p - 1 : p], 1)[0, 0]) for p in allowed}
        faiss.cvar.indexIVF_stats.reset()
        _, got = index._filtered_search(q.reshape(1, -1), 3, allowed)
        assert faiss.cvar.indexIVF_stats.nlist == len(holding) < nlist
        if not compressed:  # compressed scores rank approximately; search() re-scores them exactly
            best = allowed[np.argsort(-(vecs[allowed - 1] @ q))[:3]]
            assert got[0].tolist() == best.tolist(), trial
        assert set(got[0].tolist()) <= set(allowed.tolist())


def test_the_index_reads_the_library_a_page_at_a_time(library: Library) -> None:
    """Building or growing the index never holds all vectors at once (ten million are 20 GB): it
    reads pages of ``read_page`` rows, and the result equals an index built from one big read."""
    rng = np.random.default_rng(11)
    vecs = list(unit(rng.normal(size=(1500, DIM))))
    add_video(library, "first", vecs[:1200])
    pages: list[int] = []
    load = library.load_embeddings

    def counted(*args, **kwargs):  # the real read, its page sizes recorded
        out = load(*args, **kwargs)
        pages.append(len(out[0]))
        return out

    library.load_embeddings = counted  # type: ignore[method-assign]
    config = VectorIndexConfig(ivf_min=500, nlist_per_sqrt=1.0, nprobe=4, cache=False)
    paged = VectorIndex(library, "test-reid", replace(config, read_page=7))
    paged.refresh()
    assert paged.backend == "ivf" and paged.size == 1200
    assert max(pages) == 7 and sum(pages) == 1200
    whole = VectorIndex(library, "test-reid", replace(config, read_page=10**9))
    whole.refresh()
    queries = unit(rng.normal(size=(20, DIM)))
    for q in queries:  # the same training sample and the same vectors: the same index
        assert paged.search(q, -1.0, 10)[0].tolist() == whole.search(q, -1.0, 10)[0].tolist()

    pages.clear()
    add_video(library, "second", vecs[1200:])  # a colleague's new video: only its rows are read
    paged.refresh()
    assert paged.size == 1500 and max(pages) == 7 and sum(pages) == 300
    pk_of = {t.track_id: t.pk for t in library.video_tracks(library.videos()[-1].video_id)}
    for k in range(1200, 1500, 37):
        assert paged.search(vecs[k], 0.99, 1)[0].tolist() == [pk_of[k - 1200 + 1]]


def test_embeddings_are_read_by_id_in_the_order_asked(library: Library) -> None:
    rng = np.random.default_rng(12)
    vecs = unit(rng.normal(size=(50, DIM)))
    add_video(library, "cam", list(vecs))
    ids = library.embedding_ids("test-reid", "track")
    assert len(ids) == 50 and np.all(np.diff(ids) > 0)
    _, _, stored = library.load_embeddings("test-reid", "track")
    wanted = [int(ids[9]), int(ids[2]), int(ids[9])]
    assert np.array_equal(library.embeddings_by_id(wanted), stored[[9, 2, 9]])
    assert len(library.embedding_ids("test-reid", "track", after_id=int(ids[44]))) == 5
    with pytest.raises(KeyError):
        library.embeddings_by_id([int(ids.max()) + 1000])
