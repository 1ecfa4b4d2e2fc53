"""Writing one index version's data files: FAISS, BM25, per-row filter arrays and SQLite metadata.

File names come from ``qa.index.layout``; ``qa.index.reader`` reads what is written here and
``qa.index.build`` decides what goes in, then seals and publishes the folder.

>>> date_int("2025-07-29"), date_int("bad")
(20250729, 0)
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import bm25s
import faiss
import numpy as np

from ..text import date_number
from ..time.mentions import extract_periods
from ..time.period_index import PeriodIndex
from .layout import BM25, DB, DENSE, PERIODS, ROW_DATE, ROW_PAGE, ROW_PAPER, VECTORS, sqlite_uri

HNSW_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
BM25_PARAMS = {"method": "lucene", "k1": 1.2, "b": 0.75}

SCHEMA = """
CREATE TABLE pages (page_id TEXT PRIMARY KEY, paper TEXT NOT NULL, date TEXT NOT NULL, page INTEGER,
    page_name TEXT, issue_no TEXT, source TEXT, root TEXT, content_hash TEXT, text TEXT);
CREATE TABLE articles (article_id TEXT NOT NULL, page_id TEXT NOT NULL, ordinal INTEGER, title TEXT,
    pre_title TEXT, subtitle TEXT, byline TEXT, body TEXT, captions TEXT, refs TEXT);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, article_id TEXT NOT NULL,
    page_id TEXT NOT NULL, ordinal INTEGER, text TEXT, title TEXT, text_hash TEXT, tokens TEXT);
CREATE INDEX pages_date ON pages(date);
CREATE INDEX pages_paper ON pages(paper, date);
CREATE INDEX pages_page ON pages(date, page);
CREATE INDEX articles_page ON articles(page_id, ordinal);
CREATE INDEX articles_id ON articles(article_id);
CREATE INDEX chunks_hash ON chunks(text_hash);
CREATE INDEX chunks_page ON chunks(page_id);
"""

PAGE_COLS = ("page_id", "paper", "date", "page", "page_name", "issue_no", "source", "root", "content_hash", "text")
ARTICLE_COLS = ("article_id", "page_id", "ordinal", "title", "pre_title", "subtitle", "byline", "body", "captions", "refs")
CHUNK_COLS = ("row", "chunk_id", "article_id", "page_id", "ordinal", "text", "title", "text_hash", "tokens")


def date_int(date: str) -> int:
    """``"2025-07-29"`` -> ``20250729`` (how dates sit in ``row_date.npy``)."""
    try:
        return date_number(date)
    except ValueError:
        return 0  # a malformed date sorts first instead of failing the build


def build_faiss(vectors: np.ndarray, threshold: int = HNSW_THRESHOLD) -> faiss.Index:
    """Exact inner-product index for small archives, HNSW (inner product) for large ones."""
    dim = vectors.shape[1]
    if len(vectors) < threshold:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_store(
    folder: Path,
    *,
    vectors: np.ndarray,
    tokens: list[list[str]],
    pages: list[dict],
    articles: list[dict],
    chunks: list[dict],
    texts: list[str] | None = None,
    hnsw_threshold: int = HNSW_THRESHOLD,
) -> dict:
    """Write every data file of one version into ``folder``; return what meta.json should record.

    ``chunks[i]`` must be row ``i`` of ``vectors`` and ``tokens``. Dict keys follow the SQLite
    columns (``captions``/``refs`` as lists, ``tokens`` is taken from the ``tokens`` argument).
    """
    folder.mkdir(parents=True, exist_ok=True)
    assert len(vectors) == len(chunks) == len(tokens), "rows of vectors, tokens and chunks must line up"
    vector_index = _write_dense(folder, vectors, hnsw_threshold)
    vocab = _write_bm25(folder, tokens) if chunks else 0
    papers = sorted({p["paper"] for p in pages})
    _write_row_arrays(folder, pages, chunks, papers)
    n_periods = _write_periods(folder, pages, chunks, texts or [c["text"] for c in chunks])
    _write_sqlite(folder / DB, pages, articles, chunks, tokens)
    issues = {(p["paper"], p["date"]) for p in pages}
    return {
        "vector_index": vector_index,
        "bm25": {**BM25_PARAMS, "library": "bm25s", "vocab": vocab},
        "papers": papers,
        "periods": n_periods,
        "counts": {"papers": len(papers), "issues": len(issues), "pages": len(pages),
                   "articles": len(articles), "chunks": len(chunks)},
    }


def _write_dense(folder: Path, vectors: np.ndarray, hnsw_threshold: int) -> dict:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    np.save(folder / VECTORS, vectors, allow_pickle=False)
    index = build_faiss(vectors, hnsw_threshold)
    faiss.write_index(index, str(folder / DENSE))
    hnsw = isinstance(index, faiss.IndexHNSWFlat)
    return {
        "type": type(index).__name__,
        "metric": "inner_product",
        "hnsw_threshold": hnsw_threshold,
        **({"hnsw_m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH} if hnsw else {}),
    }


def _write_bm25(folder: Path, tokens: list[list[str]]) -> int:
    """bm25s' own JSON + .npy files (no pickle); returns the vocabulary size."""
    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.index(list(tokens), show_progress=False)
    retriever.save(str(folder / BM25), allow_pickle=False)
    return len(retriever.vocab_dict)


def _write_row_arrays(folder: Path, pages: list[dict], chunks: list[dict], papers: list[str]) -> None:
    """Per-row issue date, page and paper number as int32, so filters are numpy compares."""
    page_by_id = {p["page_id"]: p for p in pages}
    paper_ix = {name: i for i, name in enumerate(papers)}
    row_page = [page_by_id[c["page_id"]] for c in chunks]
    np.save(folder / ROW_DATE, np.array([date_int(p["date"]) for p in row_page], dtype=np.int32))
    np.save(folder / ROW_PAGE, np.array([-1 if p["page"] is None else p["page"] for p in row_page], dtype=np.int32))
    np.save(folder / ROW_PAPER, np.array([paper_ix[p["paper"]] for p in row_page], dtype=np.int32))


def _write_periods(folder: Path, pages: list[dict], chunks: list[dict], texts: list[str]) -> int:
    """What each chunk (headline included) speaks of, resolved against its issue date (qa.time)."""
    date_of = {p["page_id"]: p["date"] for p in pages}
    rows_periods = []
    for c, text in zip(chunks, texts):
        try:
            issue = dt.date.fromisoformat(date_of[c["page_id"]])
        except ValueError:  # an impossible date never reaches here from the readers; no periods if it does
            rows_periods.append([])
            continue
        rows_periods.append(extract_periods(text, issue))
    index = PeriodIndex.build(rows_periods)
    index.save(folder / PERIODS)
    return len(index)


def _write_sqlite(path: Path, pages: list[dict], articles: list[dict], chunks: list[dict],
                  tokens: list[list[str]]) -> None:
    def marks(cols: tuple) -> str:
        return ",".join("?" * len(cols))

    def article_row(a: dict) -> tuple:
        return tuple(json.dumps(a[c], ensure_ascii=False) if c in ("captions", "refs") else a[c] for c in ARTICLE_COLS)

    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        db.executemany(f"INSERT INTO pages VALUES ({marks(PAGE_COLS)})", [tuple(p[c] for c in PAGE_COLS) for p in pages])
        db.executemany(f"INSERT INTO articles VALUES ({marks(ARTICLE_COLS)})", [article_row(a) for a in articles])
        db.executemany(
            f"INSERT INTO chunks VALUES ({marks(CHUNK_COLS)})",
            [(i, c["chunk_id"], c["article_id"], c["page_id"], c["ordinal"], c["text"], c["title"], c["text_hash"],
              json.dumps(tokens[i], ensure_ascii=False)) for i, c in enumerate(chunks)],
        )
        db.commit()
    finally:
        db.close()


def read_rows(db_path: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    """One-off read of an older version's SQLite (used by incremental builds)."""
    db = sqlite3.connect(sqlite_uri(db_path), uri=True)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()
