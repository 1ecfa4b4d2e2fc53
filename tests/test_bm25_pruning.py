"""BM25 top-k pruning (qa.store.folder.bm25, MaxScore): skipping the lists of frequent words never
changes what a search returns: the same rows, the same order, bit-identical scores."""

from __future__ import annotations

import numpy as np
import pytest

from qa.store.folder import bm25
from qa.store.folder.bm25 import Postings, SegmentedBM25

VOCAB = 20_000


@pytest.fixture(scope="module")
def archive() -> tuple[SegmentedBM25, np.random.Generator]:
    """A big segment (over DENSE_MIN_ROWS, 3% deleted) and a small daily one; Zipf words like real text."""
    rng = np.random.default_rng(0)
    rows = [[f"w{t}" for t in rng.zipf(1.2, rng.integers(20, 120)) % VOCAB] for _ in range(40_000)]
    big, day = Postings.build(rows), Postings.build(rows[:2000])
    return SegmentedBM25([(big, rng.random(big.n_rows) > 0.03), (day, None)]), rng


def full_scan(monkeypatch, index: SegmentedBM25, words: list[str], k: int, allowed) -> list:
    with monkeypatch.context() as m:
        m.setattr(index, "_pruned", lambda *a, **kw: None)
        return index.search(words, k, allowed)


def test_pruned_search_returns_exactly_what_a_full_scan_returns(archive, monkeypatch):
    index, rng = archive
    pruned = 0
    real = index._pruned

    def counted(*a, **kw):
        nonlocal pruned
        got = real(*a, **kw)
        pruned += got is not None
        return got

    monkeypatch.setattr(index, "_pruned", counted)
    n_rows = index.parts[0][0].n_rows
    for i in range(120):
        words = [f"w{t}" for t in rng.zipf(1.2, rng.integers(2, 9)) % VOCAB]
        allowed = [rng.random(n_rows) < 0.3, None] if i % 3 == 1 else None
        for k in (10, 50):
            got = index.search(words, k, allowed)
            assert got == full_scan(monkeypatch, index, words, k, allowed), words
            if allowed is not None:
                assert all(allowed[s][r] for s, r, _ in got if s == 0)
    assert pruned >= 40  # the frequent words' lists were skipped in a good share of the searches


def test_no_pruning_when_every_word_is_frequent(archive, monkeypatch):
    index, _ = archive
    monkeypatch.setattr(bm25, "PRUNE_SHARE", 10**9)  # every list counts as long: nothing can be skipped
    assert index._pruned(0, [(0, 10, np.float32(1.0))], None, 10) is None
