"""Index versions on disk and IndexReader: round trips, filters inside searches, errors, threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from qa.errors import BadInput, IndexFormatError, IndexMissing
from qa.store import IndexReader, build_from_pages, current_version
from qa.text.tokens import tokenize
from qa.types import Article, Page

from fakes import index_vectors

ROOT = "/arch"


def make_pages(n_days: int = 4, per_day: int = 2, paper: str = "聊城日报") -> list[Page]:
    pages = []
    for d in range(n_days):
        date = f"2025-07-{20 + d:02d}"
        for pg in range(1, per_day + 1):
            pid = f"{ROOT}/{paper}/{date}/{pg:02d}.txt"
            arts = [
                Article(f"{pid}#a0", f"{date}第{pg}版防汛", f"{date}各地加强防汛巡查。第{pg}版专精特新企业发展。"),
                Article(f"{pid}#a1", "城市新闻", f"东昌府区开展活动{d}{pg}。市民踊跃参加，效果很好。"),
            ]
            pages.append(
                Page(
                    page_id=pid,
                    paper=paper,
                    date=date,
                    page=pg,
                    text="…",
                    source=pid,
                    root=ROOT,
                    page_name="要闻" if pg == 1 else None,
                    issue_no=str(100 + d),
                    articles=arts,
                )
            )
    return pages


@pytest.fixture
def index(tmp_path, fake_embedder) -> Path:
    build_from_pages(make_pages(), [ROOT], tmp_path / "index", embedder=fake_embedder, log=lambda m: None)
    return tmp_path / "index"


def test_round_trip_counts_and_search(index, fake_embedder):
    r = IndexReader.open(index)
    assert r.version == current_version(index) == "v000001"
    assert r.embedder_name == "fake" and r.dim == 64
    assert r.counts() == {"papers": 1, "issues": 4, "pages": 8, "articles": 16, "chunks": 16} and r.n_chunks == 16
    vecs = index_vectors(index)
    q = fake_embedder.encode_queries(["防汛巡查"])[0]
    hits = r.dense_search(q, 5)
    exact = np.argsort(-(vecs @ q), kind="stable")[:5]
    assert [h[0] for h in hits] == exact.tolist()
    assert all(abs(s - float(vecs[i] @ q)) < 1e-5 for i, s in hits)
    r.close()
    # A second open sees the same thing.
    r2 = IndexReader.open(index)
    assert r2.dense_search(q, 5) == hits and r2.counts()["chunks"] == 16


def test_date_filter_is_applied_inside_dense_search(index, fake_embedder):
    r = IndexReader.open(index)
    q = fake_embedder.encode_queries(["2025-07-20各地加强防汛巡查。"])[0]
    unfiltered = r.dense_search(q, 1)
    top_date = r.chunk_records([unfiltered[0][0]])[0]["date"]
    assert top_date == "2025-07-20"
    allowed = r.rows_matching("2025-07-22", "2025-07-22", None, None)
    hits = r.dense_search(q, 1, allowed)  # k=1 and other dates score higher: still a 07-22 row
    assert len(hits) == 1 and r.chunk_records([hits[0][0]])[0]["date"] == "2025-07-22"
    hits = r.dense_search(q, 50, allowed)
    assert {rec["date"] for rec in r.chunk_records([h[0] for h in hits])} == {"2025-07-22"}
    assert len(hits) == len(allowed)


def test_compressed_index_filters_inside_too(tmp_path, fake_embedder):
    build_from_pages(
        make_pages(), [ROOT], tmp_path / "ix", embedder=fake_embedder, log=lambda m: None, dense_threshold=1
    )
    r = IndexReader.open(tmp_path / "ix")
    assert r.meta["vector_index"]["type"] == "ivf_sq8"
    q = fake_embedder.encode_queries(["2025-07-20各地加强防汛巡查。"])[0]
    allowed = r.rows_matching("2025-07-21", "2025-07-21", None, 2)
    hits = r.dense_search(q, 3, allowed)
    assert hits and {h[0] for h in hits} <= set(allowed.tolist())


def test_bm25_filter_and_positive_scores(index):
    r = IndexReader.open(index)
    hits = r.bm25_search(tokenize("东昌府区活动"), 100)
    assert hits and all(s > 0 for _, s in hits)
    assert len(hits) == 8  # only the 「城市新闻」 chunks mention 东昌府区
    allowed = r.rows_matching(None, None, None, 2)
    hits2 = r.bm25_search(tokenize("东昌府区活动"), 1, allowed)
    assert len(hits2) == 1 and r.chunk_records([hits2[0][0]])[0]["page"] == 2
    assert r.bm25_search(tokenize("完全不存在的词汇火星"), 5) == []
    assert r.bm25_search([], 5) == []
    assert r.bm25_search(tokenize("东昌府区"), 5, np.zeros(0, dtype=np.int64)) == []


def test_rows_matching(index):
    r = IndexReader.open(index)
    assert r.rows_matching(None, None, None, None) is None
    assert len(r.rows_matching("2025-07-21", None, None, None)) == 12
    assert len(r.rows_matching(None, "2025-07", None, None)) == 16  # a month as upper bound covers it
    assert len(r.rows_matching(None, None, "其他报", None)) == 0
    rows = r.rows_matching("2025-07-20", "2025-07-21", "聊城日报", 1)
    assert rows.dtype == np.int64 and len(rows) == 4
    assert {(x["date"], x["page"]) for x in r.chunk_records(rows.tolist())} == {("2025-07-20", 1), ("2025-07-21", 1)}
    with pytest.raises(BadInput):
        r.rows_matching("七月", None, None, None)


def test_records_issues_pages(index):
    r = IndexReader.open(index)
    recs = r.chunk_records([3, 0, 999])
    assert [x["row"] for x in recs] == [3, 0]
    assert set(recs[0]) >= {
        "row",
        "chunk_id",
        "text",
        "title",
        "article_id",
        "page_id",
        "paper",
        "date",
        "issue_no",
        "page",
        "page_name",
        "source",
    }
    issues = r.issues()
    assert [i["date"] for i in issues] == ["2025-07-20", "2025-07-21", "2025-07-22", "2025-07-23"]
    assert issues[0]["issue_no"] == "100"
    assert issues[0]["pages"] == [
        {"page": 1, "page_name": "要闻", "articles": 2},
        {"page": 2, "page_name": None, "articles": 2},
    ]
    assert r.issue_dates() == [i["date"] for i in issues] and r.issue_dates("别的报") == []
    p = r.page("2025-07-21", 2)
    assert p["paper"] == "聊城日报" and [a["title"] for a in p["articles"]] == ["2025-07-21第2版防汛", "城市新闻"]
    assert p["articles"][0]["captions"] == [] and r.page("2025-07-21", 9) is None


def test_missing_and_wrong_format(tmp_path, index):
    with pytest.raises(IndexMissing) as e:
        IndexReader.open(tmp_path / "nothing")
    assert "qa index seeds/" in str(e.value)
    meta_path = index / "v000001" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["format_version"] = 999
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexFormatError):
        IndexReader.open(index)


def test_no_pickle_anywhere(index):
    npys = list(index.rglob("*.npy"))
    assert len(npys) >= 6  # vectors, row arrays, bm25 postings, periods
    for f in npys:
        arr = np.load(f, allow_pickle=False)  # raises if any object array was pickled
        assert arr.dtype != object
    assert not any(f.suffix in (".pkl", ".pickle") for f in index.rglob("*"))


def test_many_reader_threads(index, fake_embedder):
    r = IndexReader.open(index)
    q = fake_embedder.encode_queries(["专精特新企业发展"])[0]
    expected = (
        r.dense_search(q, 5),
        r.bm25_search(tokenize("专精特新"), 5),
        [x["chunk_id"] for x in r.chunk_records(list(range(16)))],
    )
    errors, results = [], []

    def work():
        try:
            for _ in range(20):
                allowed = r.rows_matching("2025-07-21", None, None, None)
                results.append(
                    (
                        r.dense_search(q, 5),
                        r.bm25_search(tokenize("专精特新"), 5),
                        [x["chunk_id"] for x in r.chunk_records(list(range(16)))],
                    )
                )
                r.dense_search(q, 3, allowed)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and len(results) == 160 and all(x == expected for x in results)
    r.close()


def test_rows_speaking_of_a_period_come_from_the_period_index(index):
    r = IndexReader.open(index)
    rows = r.rows_speaking_of("2025-07-21", "2025-07-21")  # 「2025-07-21各地…」 in that day's first articles
    recs = r.chunk_records(rows.tolist())
    assert len(recs) == 2 and all("2025-07-21" in (x["title"] or "") for x in recs)
    assert r.period_phrase(int(rows[0]), "2025-07-21", "2025-07-21") is not None
    assert len(r.rows_speaking_of("2025-07-21", "2025-07-22")) == 4
    assert len(r.rows_speaking_of("2025-07-21", "2025-07-21", paper="人民日报")) == 0
    assert len(r.rows_speaking_of("1999-01-01", "1999-12-31")) == 0
