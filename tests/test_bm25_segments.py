"""qa.store.folder.bm25: segment postings whose BM25 statistics are global across segments.

The corpus is the CMRC 2018 trial paragraphs cut with qa.text.tokens; the queries are its questions.
bm25s (lucene, k1=1.2, b=0.75) is the reference the old single-index reader used.
"""

from __future__ import annotations

import json

import bm25s
import numpy as np
import pytest

from qa.errors import IndexFormatError
from qa.store.folder import bm25, postings
from qa.store.folder.bm25 import Postings, SegmentedBM25, search
from qa.text.tokens import tokenize

from fakes import shared_file


@pytest.fixture(scope="module")
def cmrc() -> tuple[list[list[str]], list[list[str]]]:
    data = json.loads(shared_file("data/cmrc2018_trial.json").read_text(encoding="utf-8"))["data"]
    docs = [tokenize(p["context"]) for d in data for p in d["paragraphs"]]
    questions = [tokenize(q["question"]) for d in data for p in d["paragraphs"] for q in p["qas"]]
    return docs, questions[::7][:40]


@pytest.fixture(params=["batched", "accumulator", "blocks"])
def scoring_path(request, monkeypatch):
    """Small segments are scored in one sorted batch; big ones with a row-sized accumulator,
    filled a block of rows at a time and read from a floor taken from the rarest words' rows.

    The test corpus is small, so the accumulator path is forced by lowering its size threshold,
    and "blocks" cuts it into blocks of 7 rows with a floor read from at most 40 postings.
    """
    if request.param != "batched":
        monkeypatch.setattr(bm25, "DENSE_MIN_ROWS", 0)
    if request.param == "blocks":
        monkeypatch.setattr(bm25, "BLOCK_ROWS", 7)
        monkeypatch.setattr(bm25, "FLOOR_ROWS", 40)
    return request.param


def ranked(hits: list[tuple[int, int, float]], offsets: list[int]) -> list[tuple[int, float]]:
    """(global row, score) from (segment, local row, score)."""
    return [(offsets[s] + r, sc) for s, r, sc in hits]


def split(tokens: list[list[str]], cuts: list[int]) -> tuple[list[Postings], list[int]]:
    bounds = [0, *cuts, len(tokens)]
    return [Postings.build(tokens[a:b]) for a, b in zip(bounds, bounds[1:])], bounds[:-1]


@pytest.mark.parametrize("dup", [False, True], ids=["plain", "duplicated-tokens"])
def test_scores_equal_bm25s_lucene(cmrc, scoring_path, dup):
    docs, questions = cmrc
    ref = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    ref.index(docs, show_progress=False)
    idx = SegmentedBM25([(Postings.build(docs), None)])
    for q in questions:
        q = q + q[:2] if dup else q
        want = ref.get_scores(q)
        got = np.zeros(len(docs), dtype=np.float64)
        for _, row, score in idx.search(q, k=len(docs)):
            got[row] = score
        np.testing.assert_allclose(got, want, atol=1e-4)
        assert (got > 0).sum() == (want > 0).sum()


@pytest.mark.parametrize("cuts", [[100, 200], [1, 255], [128, 128]], ids=["even", "tiny-ends", "empty-middle"])
def test_three_segments_rank_exactly_like_one(cmrc, scoring_path, cuts):
    docs, questions = cmrc
    whole = SegmentedBM25([(Postings.build(docs), None)])
    parts, offsets = split(docs, cuts)
    segmented = SegmentedBM25([(p, None) for p in parts])
    for q in questions:
        assert ranked(segmented.search(q, k=10), offsets) == ranked(whole.search(q, k=10), [0])


def tombstoned(docs: list[list[str]], seed: int):
    """Three segments, ~20% rows deleted, some 'replaced' by an edited copy in a 4th segment."""
    rng = np.random.default_rng(seed)
    parts, offsets = split(docs, [90, 170])
    masks = [rng.random(p.n_rows) > 0.2 for p in parts]
    gone = [offsets[s] + r for s, m in enumerate(masks) for r in np.flatnonzero(~m)]
    new = [docs[i][::-1] + ["更正"] for i in gone[:5]]
    parts.append(Postings.build(new))
    masks.append(np.ones(len(new), dtype=bool))
    survivors = [docs[i] for s, m in enumerate(masks[:3]) for i in offsets[s] + np.flatnonzero(m)] + new
    return list(zip(parts, masks)), survivors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tombstones_score_like_a_fresh_build_of_survivors(cmrc, scoring_path, seed):
    docs, questions = cmrc
    parts, survivors = tombstoned(docs, seed)
    live = SegmentedBM25(parts)
    fresh = SegmentedBM25([(Postings.build(survivors), None)])
    assert live.n_live == len(survivors) and live.avgdl == fresh.avgdl
    # Local rows -> survivor rows: survivors are the live rows in segment order.
    order = {}
    for s, (p, m) in enumerate(parts):
        for r in np.flatnonzero(m):
            order[(s, int(r))] = len(order)
    for q in questions + [["更正"]]:
        got = [(order[(s, r)], sc) for s, r, sc in live.search(q, k=20)]
        assert got == [(r, sc) for _, r, sc in fresh.search(q, k=20)]


@pytest.mark.parametrize("seed", [0, 3])
def test_merge_of_tombstoned_segments_equals_fresh_build(cmrc, seed):
    docs, questions = cmrc
    parts, survivors = tombstoned(docs, seed)
    merged, fresh = Postings.merge(parts), Postings.build(survivors)
    assert list(merged.vocab) == list(fresh.vocab)  # words only in deleted rows are gone
    for name in ("indptr", "docs", "tfs", "doc_len"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(fresh, name))
    for q in questions:
        assert search([(merged, None)], q, 10) == search([(fresh, None)], q, 10)


def test_build_in_blocks_equals_one_block(cmrc, monkeypatch):
    docs, _ = cmrc
    one = Postings.build(docs)
    monkeypatch.setattr(postings, "BUILD_BLOCK", 37)
    blocks = Postings.build(docs)
    assert list(blocks.vocab) == list(one.vocab)
    for name in ("indptr", "docs", "tfs", "doc_len"):
        np.testing.assert_array_equal(getattr(blocks, name), getattr(one, name))


@pytest.mark.parametrize("mmap", [True, False])
def test_save_load_round_trip(cmrc, tmp_path, mmap):
    docs, questions = cmrc
    p = Postings.build(docs)
    p.save(tmp_path / "seg")
    q = Postings.load(tmp_path / "seg", mmap=mmap)
    assert q.docs.flags.writeable != mmap  # mapped: a read-only view of the file
    assert list(q.vocab) == list(p.vocab) and q.vocab.find("北京") == p.vocab.find("北京") >= 0
    assert (tmp_path / "seg" / "vocab.txt").read_text(encoding="utf-8").splitlines() == list(p.vocab)
    meta = json.loads((tmp_path / "seg" / "bm25.json").read_text(encoding="utf-8"))
    assert meta["format"] == bm25.FORMAT and meta["counts"]["rows"] == len(docs)
    for qq in questions:
        assert search([(q, None)], qq, 10) == search([(p, None)], qq, 10)


@pytest.mark.parametrize("meta", [{"format": 99}, {"version": 1}, None], ids=["other-version", "no-version", "missing"])
def test_wrong_or_missing_format_is_a_chinese_error_naming_the_folder(tmp_path, meta):
    folder = tmp_path / "seg-7"
    Postings.build([["甲", "乙"]]).save(folder)
    if meta is None:
        (folder / "bm25.json").unlink()
    else:
        (folder / "bm25.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="seg-7") as e:
        Postings.load(folder)
    assert "重建索引" in str(e.value)


def test_damaged_arrays_are_a_format_error(tmp_path):
    Postings.build([["甲", "乙"], ["乙"]]).save(tmp_path)
    np.save(tmp_path / "docs.npy", np.zeros(1, dtype=np.int32))
    with pytest.raises(IndexFormatError, match="损坏"):
        Postings.load(tmp_path)


def test_empty_segments(tmp_path):
    empty = Postings.build([])
    empty.save(tmp_path)
    for e in (empty, Postings.load(tmp_path), Postings.load(tmp_path, mmap=False)):
        assert search([(e, None)], ["甲"], 5) == []
        assert e.n_rows == 0 and len(e.vocab) == 0 and e.vocab.find("甲") == -1
    full = Postings.build([["甲", "乙"], ["乙"], ["丙"]])
    assert search([(empty, None), (full, None)], ["乙"], 5) == [
        (1, r, s) for _, r, s in search([(full, None)], ["乙"], 5)
    ]
    assert search([(full, np.zeros(3, bool))], ["乙"], 5) == []  # everything deleted
    assert Postings.merge([(full, np.zeros(3, bool)), (empty, None)]).n_rows == 0


@pytest.mark.parametrize(
    "query", [[], [""], ["从未出现的词"], ["zzzz", "qqqq", "zzzz"]], ids=["empty", "blank", "unknown", "unknown-dup"]
)
def test_empty_or_unknown_queries_find_nothing(cmrc, query):
    docs, _ = cmrc
    assert search([(Postings.build(docs), None)], query, 10) == []


def test_allowed_filters_rows_but_not_scores(cmrc, scoring_path):
    docs, questions = cmrc
    parts, offsets = split(docs, [100, 200])
    idx = SegmentedBM25([(p, None) for p in parts])
    rng = np.random.default_rng(5)
    allowed = [rng.random(p.n_rows) < 0.3 for p in parts]
    for q in questions:
        everything = idx.search(q, k=len(docs))
        want = [h for h in everything if allowed[h[0]][h[1]]][:10]
        assert idx.search(q, k=10, allowed=allowed) == want  # same scores as without the filter
        assert idx.search(q, k=10, allowed=[np.zeros(p.n_rows, bool) for p in parts]) == []
        assert idx.search(q, k=10, allowed=[None, None, None]) == everything[:10]


def test_ties_break_by_segment_then_row():
    a = Postings.build([["乙"], ["甲", "乙"], ["甲", "乙"]])
    b = Postings.build([["甲", "乙"]])
    hits = search([(a, None), (b, None)], ["甲"], k=3)
    assert [(s, r) for s, r, _ in hits] == [(0, 1), (0, 2), (1, 0)]
    assert len({sc for *_, sc in hits}) == 1
    assert [(s, r) for s, r, _ in search([(a, None), (b, None)], ["甲"], k=2)] == [(0, 1), (0, 2)]


def test_odd_tokens_round_trip(tmp_path):
    words = ["a\nb", "𠀀字", "Ωmega", "数字2025", "", "z"]
    p = Postings.build([words, ["z", "z", "数字2025"]])
    p.save(tmp_path)
    q = Postings.load(tmp_path)
    assert list(q.vocab) == sorted(words)
    assert all(q.vocab[q.vocab.find(w)] == w for w in words)
    assert [r for _, r, _ in search([(q, None)], ["a\nb"], 5)] == [0]


def test_term_frequency_is_clipped_not_wrapped():
    p = Postings.build([["甲"] * 70_000, ["甲", "乙"]])
    assert p.tfs.max() == 65_535 and p.doc_len[0] == 70_000


def test_masks_of_the_wrong_shape_are_refused():
    p = Postings.build([["甲"], ["乙"]])
    with pytest.raises(ValueError, match="shape"):
        SegmentedBM25([(p, np.ones(3, bool))])
    with pytest.raises(ValueError, match="bool"):
        Postings.merge([(p, np.ones(2, dtype=np.int8))])
