"""Dense vectors of one segment (qa.store.folder.dense): exact and compressed search, filters, files."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from qa.errors import BadInput
from qa.store.folder.dense import INDEX, DenseSegment
from qa.store.folder.dense_build import write_dense

DIM = 32


def unit(v: np.ndarray) -> np.ndarray:
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return v.astype(np.float16).astype(np.float32)  # what the segment stores, so scores compare exactly


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Topic-like data: 100 centres plus noise (real passage vectors cluster too)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((100, DIM))
    return unit(centres[rng.integers(0, 100, n)] + 0.4 * rng.standard_normal((n, DIM)))


def brute(v: np.ndarray, q: np.ndarray, k: int, rows: np.ndarray | None = None) -> np.ndarray:
    rows = np.arange(len(v)) if rows is None else rows
    s = v[rows] @ q
    return rows[np.argsort(-s, kind="stable")[:k]]


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return clustered(6000)


@pytest.fixture(scope="module")
def compressed(tmp_path_factory, data) -> DenseSegment:
    folder = tmp_path_factory.mktemp("ivf")
    meta = write_dense(folder, data, threshold=1000)
    assert meta["type"] == "ivf_sq8" and (folder / INDEX).exists()
    return DenseSegment.load(folder, exact_allowed=0)  # every filter goes through the index


def test_exact_segment_matches_numpy_top_k(tmp_path):
    v = unit(np.random.default_rng(1).standard_normal((3000, DIM)))
    assert write_dense(tmp_path, v)["type"] == "flat"
    seg = DenseSegment.load(tmp_path)
    for q in unit(np.random.default_rng(2).standard_normal((20, DIM))):
        rows, scores = seg.search(q, 10)
        assert rows.dtype == np.int64 and scores.dtype == np.float32
        assert rows.tolist() == brute(v, q, 10).tolist()
        np.testing.assert_allclose(scores, v[rows] @ q, rtol=0, atol=1e-5)


def recall_at_10_with_exact_scores(seg: DenseSegment, data: np.ndarray, n: int, seed: int) -> float:
    """Share of the exact top 10 found for ``n`` questions near the data; every score returned must be the
    exact inner product, best first (re-ranked, so several segments merge by score)."""
    queries = unit(data[::60][:n] + 0.3 * np.random.default_rng(seed).standard_normal((n, DIM)))
    hits = 0
    for q in queries:
        rows, scores = seg.search(q, 10)
        hits += len(set(rows.tolist()) & set(brute(data, q, 10).tolist()))
        np.testing.assert_allclose(scores, data[rows] @ q, rtol=0, atol=1e-5)
        assert np.all(np.diff(scores) <= 0)
    return hits / (10 * n)


def test_compressed_recall_at_10_and_exact_scores(compressed, data):
    assert recall_at_10_with_exact_scores(compressed, data, 100, seed=3) >= 0.95


def test_int8_codes_are_scaled_rows_and_older_per_dimension_codes_still_search(tmp_path, data):
    """New IVF segments keep signed-byte codes of the rows times a recorded scale; a segment written
    before that (FAISS's per-dimension ``QT_8bit``, no scale) must answer the same way after an upgrade."""
    meta = write_dense(tmp_path, data, threshold=1000)
    scale = meta["params"]["scale"]
    assert 127 / scale == pytest.approx(np.abs(data).max(), rel=1e-3)  # the largest component fills the byte
    quantizer = faiss.IndexFlatIP(DIM)
    old = faiss.IndexIVFScalarQuantizer(
        quantizer, DIM, meta["params"]["nlist"], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    old.train(data)
    old.add(data)
    faiss.write_index(old, str(tmp_path / INDEX))
    meta["params"].pop("scale")
    (tmp_path / "dense.json").write_text(json.dumps(meta), encoding="utf-8")
    seg = DenseSegment.load(tmp_path, exact_allowed=0)
    assert recall_at_10_with_exact_scores(seg, data, 50, seed=5) >= 0.95


@pytest.mark.parametrize("kind", ["ivf_sq8", "ivf_pq", "hnsw_sq"])
def test_filters_never_leak_and_fill_k(tmp_path, data, kind):
    write_dense(tmp_path, data, kind=kind)
    seg = DenseSegment.load(tmp_path, exact_allowed=0)
    rng = np.random.default_rng(4)
    masks = [rng.random(len(data)) < p for p in (0.5, 0.05, 0.002)] + [np.zeros(len(data), bool)]
    masks[-1][[7, 4000]] = True  # two scattered rows: the index alone would starve
    for q in data[:5]:
        for mask in masks:
            rows, _ = seg.search(q, 10, allowed=mask)
            assert mask[rows].all() and len(rows) == min(10, mask.sum())
        for lo, hi in [(0, 6000), (1000, 1300), (5995, 6000), (3000, 3000), (5990, 99999)]:
            rows, _ = seg.search(q, 10, allowed=(lo, hi))
            assert ((rows >= lo) & (rows < hi)).all() and len(rows) == min(10, max(0, min(hi, 6000) - lo))


def test_small_allowed_set_is_scored_exactly(tmp_path, data, monkeypatch):
    write_dense(tmp_path, data, threshold=1000)
    seg = DenseSegment.load(tmp_path, exact_allowed=500)
    monkeypatch.setattr(seg, "_approx", lambda *a: pytest.fail("index searched for a tiny filter"))
    mask = np.zeros(len(data), bool)
    mask[::20] = True  # 300 rows
    q = data[11]
    assert seg.search(q, 10, allowed=mask)[0].tolist() == brute(data, q, 10, np.flatnonzero(mask)).tolist()
    assert seg.search(q, 10, allowed=(100, 400))[0].tolist() == brute(data, q, 10, np.arange(100, 400)).tolist()


def test_round_trip(tmp_path, data):
    meta = write_dense(tmp_path, data, threshold=1000)
    seg = DenseSegment.load(tmp_path)
    assert len(seg) == 6000 and seg.meta == meta and meta["params"]["nlist"] > 0
    np.testing.assert_array_equal(seg.vectors(np.array([0, 5, 5999])), data[[0, 5, 5999]])
    assert seg.vectors(slice(10, 20)).dtype == np.float32


def test_empty_segment(tmp_path):
    meta = write_dense(tmp_path, np.zeros((0, DIM), np.float32))
    seg = DenseSegment.load(tmp_path)
    assert meta["rows"] == 0 and len(seg) == 0
    for allowed in (None, (0, 5), np.zeros(0, bool)):
        rows, scores = seg.search(np.ones(DIM, np.float32), 10, allowed)
        assert rows.size == 0 and scores.size == 0


def test_same_vectors_same_files_and_results(tmp_path, data):
    a, b = tmp_path / "a", tmp_path / "b"
    write_dense(a, data, threshold=1000)
    write_dense(b, data, threshold=1000)
    for f in sorted(a.iterdir()):
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name
    sa, sb = DenseSegment.load(a, exact_allowed=0), DenseSegment.load(b, exact_allowed=0)
    mask = np.random.default_rng(5).random(len(data)) < 0.3
    for q in data[:10]:
        for allowed in (None, mask, (200, 3000)):
            ra, xa = sa.search(q, 10, allowed)
            rb, xb = sb.search(q, 10, allowed)
            assert ra.tolist() == rb.tolist() and xa.tolist() == xb.tolist()


def test_bad_input_names_the_problem(tmp_path, data):
    write_dense(tmp_path, data[:100])
    seg = DenseSegment.load(tmp_path)
    with pytest.raises(BadInput, match="维度"):
        seg.search(np.ones(DIM + 1, np.float32), 5)
    with pytest.raises(BadInput, match="布尔数组"):
        seg.search(data[0], 5, allowed=np.ones(99, bool))
    with pytest.raises(BadInput, match="NaN"):
        write_dense(tmp_path / "nan", np.full((3, DIM), np.nan, np.float32))


def test_a_dated_filter_keeps_recall_and_returns_only_its_rows(compressed, data):
    """What a dated question allows: the rows printed in the period (a row range, rows are sorted by
    date) plus scattered rows that speak of it, searched inside the compressed index."""
    mask = np.zeros(len(data), dtype=bool)
    mask[2000:2600] = True
    mask[np.random.default_rng(5).choice(len(data), 60, replace=False)] = True
    allowed_rows = np.flatnonzero(mask)
    queries = unit(
        data[allowed_rows[::12]] + 0.3 * np.random.default_rng(6).standard_normal((len(allowed_rows[::12]), DIM))
    )
    hits = 0
    for q in queries:
        rows, _ = compressed.search(q, 10, allowed=mask)
        assert mask[rows].all() and len(rows) == 10
        hits += len(set(rows.tolist()) & set(brute(data, q, 10, allowed_rows).tolist()))
    assert hits / (10 * len(queries)) >= 0.95
