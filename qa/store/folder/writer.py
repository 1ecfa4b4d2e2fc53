"""Writing one segment's data files: vectors (``qa.store.folder.dense_build``), BM25 postings
(``qa.store.folder.bm25``), per-row filter arrays, periods and SQLite records.

File names come from ``qa.store.folder.layout``; ``qa.store.folder.segment`` reads what is written here and
``qa.store.build`` / ``qa.store.folder.merge`` decide what goes in. Rows are written in the order given,
which the build keeps sorted by issue date, so a date filter is a row range within a segment.

>>> date_int("2025-07-29"), date_int("bad")
(20250729, 0)
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Callable

import numpy as np

from qa.store.folder.bm25 import Postings
from qa.store.folder.dense_build import write_dense
from qa.store.folder.layout import (
    BM25,
    COMPLETE,
    DB,
    DENSE_DIR,
    PERIODS,
    ROW_DATE,
    ROW_PAGE,
    ROW_PAPER,
    SEGMENT_META,
    fsync_tree,
    sqlite_uri,
)
from qa.text.chinese import date_number
from qa.time.period_index import PeriodIndex

SEGMENT_FORMAT = 1

SCHEMA = """
CREATE TABLE pages (page_id TEXT PRIMARY KEY, paper TEXT NOT NULL, date TEXT NOT NULL, page INTEGER,
    page_name TEXT, issue_no TEXT, source TEXT, root TEXT, content_hash TEXT, text TEXT);
CREATE TABLE articles (article_id TEXT NOT NULL, page_id TEXT NOT NULL, ordinal INTEGER, title TEXT,
    pre_title TEXT, subtitle TEXT, byline TEXT, body TEXT, captions TEXT, refs TEXT);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, article_id TEXT NOT NULL,
    page_id TEXT NOT NULL, ordinal INTEGER, text TEXT, title TEXT, text_hash TEXT);
CREATE TABLE regions (article_id TEXT NOT NULL, page_id TEXT NOT NULL, chunk_id TEXT, n INTEGER,
    x0 REAL, y0 REAL, x1 REAL, y1 REAL);
CREATE TABLE page_images (page_id TEXT PRIMARY KEY, image_key TEXT NOT NULL, file TEXT NOT NULL, kind TEXT NOT NULL,
    width REAL, height REAL);
CREATE INDEX pages_date ON pages(date);
CREATE INDEX pages_paper ON pages(paper, date);
CREATE INDEX pages_page ON pages(date, page);
CREATE INDEX articles_page ON articles(page_id, ordinal);
CREATE INDEX articles_id ON articles(article_id);
CREATE INDEX chunks_hash ON chunks(text_hash);
CREATE INDEX chunks_page ON chunks(page_id);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE INDEX regions_article ON regions(article_id, page_id);
CREATE INDEX page_images_key ON page_images(image_key);
"""

PAGE_COLS = ("page_id", "paper", "date", "page", "page_name", "issue_no", "source", "root", "content_hash", "text")
ARTICLE_COLS = (
    "article_id",
    "page_id",
    "ordinal",
    "title",
    "pre_title",
    "subtitle",
    "byline",
    "body",
    "captions",
    "refs",
)
CHUNK_COLS = ("row", "chunk_id", "article_id", "page_id", "ordinal", "text", "title", "text_hash")
# Added later: a segment written before them has neither table (its pages have no image or regions).
REGION_COLS = ("article_id", "page_id", "chunk_id", "n", "x0", "y0", "x1", "y1")
IMAGE_COLS = ("page_id", "image_key", "file", "kind", "width", "height")


def date_int(date: str) -> int:
    """``"2025-07-29"`` -> ``20250729`` (how dates sit in ``row_date.npy``)."""
    try:
        return date_number(date)
    except ValueError:
        return 0  # a malformed date sorts first instead of failing the build


def write_segment(
    folder: Path,
    *,
    vectors: np.ndarray,
    postings: Postings,
    periods: PeriodIndex,
    pages: list[dict],
    articles: list[dict],
    chunks: list[dict],
    dense_threshold: int | None = None,
    regions: list[dict] = (),
    images: list[dict] = (),
) -> dict:
    """Write every data file of one segment into ``folder`` and seal it; return its ``segment.json``.

    ``chunks[i]`` is row ``i`` of ``vectors``, ``postings`` and ``periods``. Dict keys follow the
    SQLite columns (``captions``/``refs`` as lists); ``regions`` and ``images`` are optional rows of
    the ``regions`` and ``page_images`` tables.
    """
    papers = sorted({p["paper"] for p in pages})
    return write_segment_files(
        folder,
        vectors=vectors,
        postings=postings,
        periods=periods,
        papers=papers,
        row_arrays=row_arrays(pages, chunks, papers),
        dense_threshold=dense_threshold,
        records=lambda path: write_sqlite(path, pages, articles, chunks, regions, images),
    )


def write_segment_files(
    folder: Path,
    *,
    vectors: np.ndarray | Callable[[Path, dict], dict],
    postings: Postings | Callable[[Path], None],
    periods: PeriodIndex,
    papers: list[str],
    row_arrays: dict[str, np.ndarray],
    records: Callable[[Path], None],
    dense_threshold: int | None = None,
) -> dict:
    """The files of :func:`write_segment` from arrays; ``records(path)`` writes the SQLite file. A merge
    passes writers instead of arrays: ``vectors(folder, kw)`` (returns what ``write_dense`` returns, given
    its keyword arguments) and ``postings(folder)``, so nothing of the size of the segment is in memory."""
    n = len(row_arrays["date"])
    assert callable(vectors) or len(vectors) == n, "rows of vectors and arrays must line up"
    assert callable(postings) or len(postings.doc_len) == n, "rows of postings and arrays must line up"
    folder.mkdir(parents=True, exist_ok=True)
    kw = {} if dense_threshold is None else {"threshold": dense_threshold}
    dense = vectors(folder / DENSE_DIR, kw) if callable(vectors) else write_dense(folder / DENSE_DIR, vectors, **kw)
    if callable(postings):
        postings(folder / BM25)
    else:
        postings.save(folder / BM25)
    periods.save(folder / PERIODS)
    for name, array in (
        (ROW_DATE, row_arrays["date"]),
        (ROW_PAGE, row_arrays["page"]),
        (ROW_PAPER, row_arrays["paper"]),
    ):
        np.save(folder / name, np.asarray(array, dtype=np.int32), allow_pickle=False)
    records(folder / DB)
    n_pages, n_articles, first, last = read_rows(
        folder / DB,
        "SELECT (SELECT COUNT(*) FROM pages), (SELECT COUNT(*) FROM articles),"
        " (SELECT MIN(date) FROM pages), (SELECT MAX(date) FROM pages)",
    )[0]
    # The PATHs its pages were read from: a build that re-reads other PATHs skips this segment's root scan.
    roots = sorted(r[0] for r in read_rows(folder / DB, "SELECT DISTINCT root FROM pages") if r[0] is not None)
    info = {
        "format_version": SEGMENT_FORMAT,
        "name": folder.name,
        "rows": int(n),
        "pages": n_pages,
        "articles": n_articles,
        "papers": papers,
        "first_date": first,
        "last_date": last,
        "dense": dense,
        "periods": len(periods),
        "roots": roots,
    }
    (folder / SEGMENT_META).write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    fsync_tree(folder)
    (folder / COMPLETE).write_text(folder.name + "\n", encoding="utf-8")
    return info


def row_arrays(pages: list[dict], chunks: list[dict], papers: list[str]) -> dict[str, np.ndarray]:
    """Per-row issue date, page and paper number (into ``papers``): filters are numpy compares and ranges."""
    page_by_id = {p["page_id"]: p for p in pages}
    paper_ix = {name: i for i, name in enumerate(papers)}
    row_page = [page_by_id[c["page_id"]] for c in chunks]
    return {
        "date": np.array([date_int(p["date"]) for p in row_page], dtype=np.int32),
        "page": np.array([-1 if p["page"] is None else p["page"] for p in row_page], dtype=np.int32),
        "paper": np.array([paper_ix[p["paper"]] for p in row_page], dtype=np.int32),
    }


def write_sqlite(
    path: Path,
    pages: list[dict],
    articles: list[dict],
    chunks: list[dict],
    regions: list[dict] = (),
    images: list[dict] = (),
) -> None:
    """Pages, articles and chunks (row = position in ``chunks``), regions and page images into a new SQLite file."""

    def marks(cols: tuple) -> str:
        return ",".join("?" * len(cols))

    def article_row(a: dict) -> tuple:
        return tuple(json.dumps(a[c], ensure_ascii=False) if c in ("captions", "refs") else a[c] for c in ARTICLE_COLS)

    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        db.executemany(
            f"INSERT INTO pages VALUES ({marks(PAGE_COLS)})", [tuple(p[c] for c in PAGE_COLS) for p in pages]
        )
        db.executemany(f"INSERT INTO articles VALUES ({marks(ARTICLE_COLS)})", [article_row(a) for a in articles])
        db.executemany(
            f"INSERT INTO chunks VALUES ({marks(CHUNK_COLS)})",
            [(i, *(c[k] for k in CHUNK_COLS[1:])) for i, c in enumerate(chunks)],
        )
        for table, cols, rows in (("regions", REGION_COLS, regions), ("page_images", IMAGE_COLS, images)):
            db.executemany(f"INSERT INTO {table} VALUES ({marks(cols)})", [tuple(r[c] for c in cols) for r in rows])
        db.commit()
    finally:
        db.close()


IN_PART = 500  # values per ``IN (…)`` list: below SQLite's limit on bound variables


def in_parts(values: list, size: int = IN_PART):
    """``values`` in slices small enough for one ``IN (…)`` list."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def read_rows_in(db_path: Path, sql: str, values: list) -> list[sqlite3.Row]:
    """``sql`` with one ``IN ({})`` placeholder, read over ``values`` in parts."""
    return [row for part in in_parts(values) for row in read_rows(db_path, sql.format(",".join("?" * len(part))), part)]


def read_rows(db_path: Path, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
    """One-off read of a published SQLite file (used by builds and merges)."""
    db = sqlite3.connect(sqlite_uri(db_path), uri=True)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()
