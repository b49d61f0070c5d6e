"""Tests of pipeline.reid_eval: Market-1501 names, dataset loading and CMC / mAP / mINP."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.reid_eval import (
    DatasetError,
    ReidImage,
    ReidMetrics,
    evaluate_ranking,
    load_market_dataset,
    parse_market_name,
    read_image,
)

# ----------------------------------------------------------------------------------------------------
# Independent reference: plain per-query loops, written straight from the protocol's definition.


def reference_metrics(sim, q_pids, g_pids, q_camids, g_camids, max_rank):
    """Return (cmc list, mAP, mINP, n_valid) with one Python loop per query."""
    n_q, n_g = len(sim), len(sim[0])
    cmc_hits = [0] * max_rank
    aps, inps = [], []
    for i in range(n_q):
        order = sorted(range(n_g), key=lambda j, i=i: -sim[i][j])  # sorted() is stable
        kept = [
            j
            for j in order
            if g_pids[j] != -1 and not (g_pids[j] == q_pids[i] and g_camids[j] == q_camids[i])
        ]
        hits = [g_pids[j] == q_pids[i] for j in kept]
        if not any(hits):
            continue
        first = hits.index(True) + 1
        for k in range(1, max_rank + 1):
            if first <= k:
                cmc_hits[k - 1] += 1
        found, precisions, last = 0, [], 0
        for position, hit in enumerate(hits, start=1):
            if hit:
                found += 1
                precisions.append(found / position)
                last = position
        aps.append(sum(precisions) / found)
        inps.append(found / last)
    n_valid = len(aps)
    return [c / n_valid for c in cmc_hits], sum(aps) / n_valid, sum(inps) / n_valid, n_valid


def random_case(seed: int, n_q: int = 30, n_g: int = 200, ties: bool = False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    q_pids = rng.integers(1, 12, n_q)
    g_pids = rng.integers(-1, 12, n_g)  # includes junk (-1) and distractors (0)
    q_cams = rng.integers(1, 5, n_q)
    g_cams = rng.integers(1, 5, n_g)
    sim = rng.random((n_q, n_g))
    if ties:
        sim = np.round(sim, 1) - 0.5  # many exact ties (and -0.0 == 0.0): broken by gallery order
    return sim.astype(dtype), q_pids, g_pids, q_cams, g_cams


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_matches_loop_reference(seed: int, ties: bool, dtype) -> None:
    sim, q_pids, g_pids, q_cams, g_cams = random_case(seed, ties=ties, dtype=dtype)
    cmc, mean_ap, minp, n_valid = reference_metrics(
        sim.tolist(), q_pids.tolist(), g_pids.tolist(), q_cams.tolist(), g_cams.tolist(), 20
    )
    got = evaluate_ranking(sim, q_pids, g_pids, q_cams, g_cams, max_rank=20, block_size=7)
    assert got.n_query == n_valid
    assert got.n_gallery == 200
    np.testing.assert_allclose(got.cmc, cmc, rtol=0, atol=1e-9)
    assert got.map == pytest.approx(mean_ap, abs=1e-9)
    assert got.minp == pytest.approx(minp, abs=1e-9)


def test_block_size_does_not_change_result() -> None:
    sim, q_pids, g_pids, q_cams, g_cams = random_case(42, n_q=50, n_g=120)
    results = {evaluate_ranking(sim, q_pids, g_pids, q_cams, g_cams, block_size=b) for b in (1, 3, 16, 1000)}
    assert len(results) == 1


# ----------------------------------------------------------------------------------------------------
# Hand-made cases, metrics worked out on paper.

# Gallery:      g0        g1        g2        g3         g4          g5
G_PIDS = [1, 2, 1, -1, 0, 3]  # g3 junk, g4 distractor
G_CAMS = [1, 2, 2, 3, 3, 1]


def test_hand_made_protocol() -> None:
    sim = np.array(
        [
            # q0 pid 1 cam 1. Order g3 g0 g1 g2 g5 g4; g3 junk and g0 (pid 1, cam 1) removed, leaving
            # g1 F, g2 T, g5 F, g4 F: first hit at 2; AP = (1/2)/1 = 1/2; INP = 1/2.
            [0.9, 0.8, 0.7, 0.95, 0.1, 0.2],
            # q1 pid 2 cam 1. Order g4 g1 g3 g2 g0 g5; g3 removed. Distractor g4 first counts as a miss:
            # g4 F, g1 T, g2 F, g0 F, g5 F: first hit at 2; AP = 1/2; INP = 1/2.
            [0.1, 0.5, 0.2, 0.3, 0.9, 0.0],
            # q2 pid 3 cam 1: its only gallery image g5 is same pid + same camera, so it is skipped.
            [0.5, 0.4, 0.3, 0.2, 0.1, 0.9],
            # q3 pid 1 cam 3. Order g3 g0 g4 g2 g5 g1; g3 junk removed (g0 is cam 1, so it stays):
            # g0 T, g4 F, g2 T, g5 F, g1 F: first hit at 1; AP = (1/1 + 2/3)/2 = 5/6; INP = 2/3.
            [0.8, 0.1, 0.3, 0.9, 0.5, 0.2],
        ]
    )
    got = evaluate_ranking(sim, [1, 2, 3, 1], G_PIDS, [1, 1, 1, 3], G_CAMS, max_rank=3)
    # 3 counted queries: rank-1 = 1/3 (q3), rank-2 = rank-3 = 3/3.
    # mAP = (1/2 + 1/2 + 5/6) / 3 = 11/18; mINP = (1/2 + 1/2 + 2/3) / 3 = 5/9.
    assert got.n_query == 3
    assert got.n_gallery == 6
    assert got.cmc == pytest.approx((1 / 3, 1.0, 1.0), abs=1e-12)
    assert got.map == pytest.approx(11 / 18, abs=1e-12)
    assert got.minp == pytest.approx(5 / 9, abs=1e-12)


@pytest.mark.parametrize(
    ("g_pids", "g_cams", "rank1", "ap", "inp"),
    [
        # Junk first is ignored: filtered ranking T F T -> rank-1 hit, AP = (1 + 2/3)/2 = 5/6, INP = 2/3.
        ([-1, 7, 2, 7], [2, 2, 2, 3], 1.0, 5 / 6, 2 / 3),
        # Distractor first is a miss: F T F -> AP = 1/2, INP = 1/2.
        ([0, 7, 2, 3], [2, 2, 2, 3], 0.0, 1 / 2, 1 / 2),
        # Same pid + same camera first is excluded: T F -> AP = 1, INP = 1.
        ([7, 7, 2, 3], [1, 2, 2, 3], 1.0, 1.0, 1.0),
        # Same pid + same camera in the middle is excluded too: F T T -> AP = (1/2 + 2/3)/2 = 7/12,
        # INP = 2/3.
        ([2, 7, 7, 7], [2, 1, 2, 3], 0.0, 7 / 12, 2 / 3),
    ],
)
def test_single_query_rules(g_pids, g_cams, rank1: float, ap: float, inp: float) -> None:
    sim = np.array([[0.9, 0.8, 0.7, 0.6]])  # gallery already in rank order
    got = evaluate_ranking(sim, [7], g_pids, [1], g_cams, max_rank=4)
    assert got.rank1 == rank1
    assert got.map == pytest.approx(ap, abs=1e-12)
    assert got.minp == pytest.approx(inp, abs=1e-12)
    assert got.n_query == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("values", [(0.0, 0.0), (-0.0, 0.0), (0.25, 0.25), (-3.5, -3.5)])
def test_ties_keep_gallery_order(dtype, values: tuple[float, float]) -> None:
    # Equal similarities (-0.0 == 0.0 too): g0 (wrong) stays before g1 (right) -> first hit at 2.
    sim = np.array([values], dtype=dtype)
    got = evaluate_ranking(sim, [1], [2, 1], [1], [2, 2], max_rank=2)
    assert got.cmc == (0.0, 1.0)
    assert got.map == pytest.approx(0.5)
    # Break the tie in favour of g1 by the smallest step the dtype can represent.
    sim[0, 1] = np.nextafter(sim[0, 1], dtype(np.inf))
    assert evaluate_ranking(sim, [1], [2, 1], [1], [2, 2], max_rank=2).cmc == (1.0, 1.0)


def test_cmc_longer_than_gallery_and_rank_properties() -> None:
    got = evaluate_ranking(np.array([[0.2, 0.9]]), [1], [1, 2], [1], [2, 2], max_rank=10)
    # Filtered ranking F T; the first hit at 2 stays a hit at every rank past the gallery's end.
    assert got.cmc == (0.0,) + (1.0,) * 9
    assert (got.rank1, got.rank5, got.rank10) == (0.0, 1.0, 1.0)
    short = evaluate_ranking(np.array([[0.2, 0.9]]), [1], [1, 2], [1], [2, 2], max_rank=3)
    with pytest.raises(ValueError, match="rank-5"):
        _ = short.rank5


def test_metrics_are_frozen() -> None:
    got = ReidMetrics(cmc=(1.0,), map=1.0, minp=1.0, n_query=1, n_gallery=1)
    with pytest.raises(AttributeError):
        got.map = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sim": np.zeros(3)}, "2-D"),
        ({"q_pids": [1, 2]}, "q_pids"),
        ({"g_cams": [1]}, "g_camids"),
        ({"sim": np.array([[np.nan, 0.0]])}, "NaN"),
        ({"q_pids": [1.5]}, "integers"),
        ({"max_rank": 0}, "max_rank"),
        ({"g_pids": [5, 5]}, "no query"),
    ],
)
def test_bad_inputs(kwargs: dict, message: str) -> None:
    args = {"sim": np.zeros((1, 2)), "q_pids": [1], "g_pids": [1, 2], "q_cams": [1], "g_cams": [2, 2]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        evaluate_ranking(
            args["sim"],
            args["q_pids"],
            args["g_pids"],
            args["q_cams"],
            args["g_cams"],
            max_rank=args.get("max_rank", 10),
        )


def test_large_case_is_fast_enough() -> None:
    rng = np.random.default_rng(0)
    n_q, n_g = 3000, 20000
    g_pids = rng.integers(-1, 750, n_g)
    sim = rng.random((n_q, n_g), dtype=np.float32)
    got = evaluate_ranking(
        sim, rng.integers(1, 750, n_q), g_pids, rng.integers(1, 7, n_q), rng.integers(1, 7, n_g)
    )
    assert 0 < got.n_query <= n_q
    assert 0.0 <= got.map <= 1.0


# ----------------------------------------------------------------------------------------------------
# File names and dataset folders.


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0002_c1s1_000451_03.jpg", (2, 1)),
        ("-1_c1s1_000401_03.jpg", (-1, 1)),
        ("0000_c6s4_002452_01.jpg", (0, 6)),
        ("1501_c6s4_001902_01.JPG", (1501, 6)),
        ("0002_c1_000451_03.jpg", (2, 1)),
        ("0002_c3s2_000451_03.png", (2, 3)),
        ("0002_c3s2_000451_03.jpeg", (2, 3)),
    ],
)
def test_parse_good_names(name: str, expected: tuple[int, int]) -> None:
    assert parse_market_name(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Thumbs.db",
        "0002_c1s1_000451_03.txt",
        "0002_c1s1_000451.jpg",
        "-2_c1s1_000401_03.jpg",
        "abcd_c1s1_000451_03.jpg",
        "0002_1s1_000451_03.jpg",
        "0002_c1s1_000451_03.jpg.bak",
        "0001_c2_f0046182.jpg",
    ],
)
def test_parse_bad_names(name: str) -> None:
    with pytest.raises(DatasetError, match="Market-1501"):
        parse_market_name(name)


def write_jpeg(path: Path, value: int = 128) -> None:
    image = np.full((16, 8, 3), value, dtype=np.uint8)
    assert cv2.imwrite(str(path), image)


def make_market(root: Path, query: list[str], gallery: list[str]) -> Path:
    for folder, names in (("query", query), ("bounding_box_test", gallery)):
        (root / folder).mkdir(parents=True)
        for name in names:
            write_jpeg(root / folder / name)
    return root


def test_load_good_layout(tmp_path: Path) -> None:
    root = make_market(
        tmp_path / "market",
        query=["0003_c2s1_000010_00.jpg", "0001_c1s1_000001_00.jpg", "-1_c1s1_000002_00.jpg"],
        gallery=["0001_c2s1_000005_01.jpg", "-1_c3s1_000001_01.jpg", "0000_c4s1_000001_01.jpg"],
    )
    (root / "bounding_box_test" / "Thumbs.db").write_bytes(b"ignored")
    data = load_market_dataset(root)
    assert data.root == root
    assert [(img.pid, img.camid) for img in data.query] == [(1, 1), (3, 2)]  # junk dropped, sorted
    assert [(img.pid, img.camid) for img in data.gallery] == [(-1, 3), (0, 4), (1, 2)]
    assert data.query[0] == ReidImage(root / "query" / "0001_c1s1_000001_00.jpg", 1, 1)
    image = read_image(data.gallery[0].path)
    assert image.shape == (16, 8, 3) and image.dtype == np.uint8


def test_read_image_unicode_path(tmp_path: Path) -> None:
    folder = tmp_path / "données_ß"
    folder.mkdir()
    path = folder / "0001_c1s1_000001_00.jpg"
    cv2.imencode(".jpg", np.zeros((4, 4, 3), np.uint8))[1].tofile(str(path))
    assert read_image(path).shape == (4, 4, 3)


def test_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "query").mkdir()
    write_jpeg(tmp_path / "query" / "0001_c1s1_000001_00.jpg")
    with pytest.raises(DatasetError, match="bounding_box_test"):
        load_market_dataset(tmp_path)
    with pytest.raises(DatasetError, match="not a folder"):
        load_market_dataset(tmp_path / "nowhere")


def test_empty_folder(tmp_path: Path) -> None:
    root = make_market(tmp_path, query=["0001_c1s1_000001_00.jpg"], gallery=[])
    with pytest.raises(DatasetError, match="no images") as info:
        load_market_dataset(root)
    assert str(root / "bounding_box_test") in str(info.value)


def test_only_junk_queries(tmp_path: Path) -> None:
    root = make_market(tmp_path, query=["-1_c1s1_000001_00.jpg"], gallery=["0001_c2s1_000001_00.jpg"])
    with pytest.raises(DatasetError, match="junk"):
        load_market_dataset(root)


def test_bad_name_in_folder(tmp_path: Path) -> None:
    root = make_market(tmp_path, query=["0001_c1s1_000001_00.jpg"], gallery=["holiday.jpg"])
    with pytest.raises(DatasetError, match=r"holiday\.jpg") as info:
        load_market_dataset(root)
    assert str(root / "bounding_box_test" / "holiday.jpg") in str(info.value)


@pytest.mark.parametrize("content", [b"this is not a jpeg", b""])
def test_unreadable_image(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "0001_c1s1_000001_00.jpg"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="cannot decode") as info:
        read_image(path)
    assert str(path) in str(info.value)
    with pytest.raises(DatasetError, match="cannot read"):
        read_image(tmp_path / "missing.jpg")
