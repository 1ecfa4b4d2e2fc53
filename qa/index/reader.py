"""Reading one published index version: searches, filters and records, safe to share between threads.

The files it reads are named in ``qa.index.layout`` and written by ``qa.index.writer``.
FAISS and numpy searches are read-only; SQLite gets one read-only connection per thread.
Usage (an index of the seeds)::

    r = IndexReader.open(Path("index"))           # the live version named by index/CURRENT
    rows = r.rows_matching("2025-07-29", "2025-07-29")
    r.dense_search(embedder.encode_queries(["防汛要求"])[0], k=5, allowed=rows)   # [(12, 0.87), ...]
    r.chunk_records([12])[0]["title"]             # '全面压实政治责任 落实落细各项防汛措施'
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from pathlib import Path

import bm25s
import faiss
import numpy as np

from ..errors import BadInput, EmbedderMismatch, IndexFormatError
from ..text import date_number
from ..time.period_index import PeriodIndex
from ..tokens import tokenize
from .layout import (BM25, DB, DENSE, PERIODS, ROW_DATE, ROW_PAGE, ROW_PAPER, VECTORS, live_folder, read_meta,
                     sqlite_uri)
from .writer import HNSW_EF_SEARCH


class IndexReader:
    """Read-only view of one complete index version; safe to share between many threads.

    FAISS and numpy searches are read-only; SQLite gets one connection per thread.
    """

    def __init__(self, path: Path, meta: dict) -> None:
        self.path = Path(path)
        self.version = self.path.name
        self.meta = meta
        self.embedder_name: str = meta["embedder"]["name"]
        self.dim: int = int(meta["embedder"]["dim"])
        self.n_chunks: int = int(meta["counts"]["chunks"])
        self._papers: list[str] = list(meta.get("papers", []))
        self._faiss = faiss.read_index(str(self.path / DENSE))
        self._is_hnsw = isinstance(self._faiss, faiss.IndexHNSWFlat)
        self._vectors = np.load(self.path / VECTORS, mmap_mode="r", allow_pickle=False)
        self._row_date = np.load(self.path / ROW_DATE, allow_pickle=False)
        self._row_page = np.load(self.path / ROW_PAGE, allow_pickle=False)
        self._row_paper = np.load(self.path / ROW_PAPER, allow_pickle=False)
        self._bm25 = None
        if self.n_chunks:
            self._bm25 = bm25s.BM25.load(str(self.path / BM25), load_corpus=False, mmap=False, allow_pickle=False)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._periods = PeriodIndex.load(self.path / PERIODS)
        # Per-version facts every question needs: read once, not per request.
        self._issue_dates: dict[str | None, list[str]] = {None: self._query_issue_dates(None)}

    @classmethod
    def open(cls, index_dir: Path) -> "IndexReader":
        """Open the version named by ``index_dir/CURRENT``."""
        path = live_folder(Path(index_dir))
        meta = read_meta(path)
        try:
            return cls(path, meta)
        except (OSError, RuntimeError, KeyError, ValueError, sqlite3.Error) as e:
            raise IndexFormatError(f"索引 {path} 无法读取（{e}）。请运行 `qa index --rebuild 路径…` 重建。") from e

    # --- SQLite, one connection per thread -------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # A published version never changes, so read-only + immutable is safe and skips locking.
            db = sqlite3.connect(sqlite_uri(self.path / DB), uri=True, check_same_thread=False)
            db.row_factory = sqlite3.Row
            self._local.db = db
            with self._conns_lock:
                self._conns.append(db)
        return db

    def close(self) -> None:
        """Close every thread's SQLite connection and drop the in-memory indexes."""
        with self._conns_lock:
            for db in self._conns:
                db.close()
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> "IndexReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- filters -----------------------------------------------------------------------------
    def rows_matching(self, date_from: str | None = None, date_to: str | None = None,
                      paper: str | None = None, page: int | None = None) -> np.ndarray | None:
        """Sorted int64 rows meeting every given filter; None when no filter is given.

        Dates may be ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (a partial ``date_to`` covers its month/year).
        """
        if date_from is None and date_to is None and paper is None and page is None:
            return None
        mask = np.ones(self.n_chunks, dtype=bool)
        if date_from is not None:
            mask &= self._row_date >= _date_bound(date_from, low=True)
        if date_to is not None:
            mask &= self._row_date <= _date_bound(date_to, low=False)
        if paper is not None:
            if paper not in self._papers:
                return np.zeros(0, dtype=np.int64)
            mask &= self._row_paper == self._papers.index(paper)
        if page is not None:
            mask &= self._row_page == int(page)
        return np.flatnonzero(mask).astype(np.int64)

    # --- searches ----------------------------------------------------------------------------
    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` rows by inner product; ``allowed`` restricts the search itself (IDSelector)."""
        q = np.ascontiguousarray(np.asarray(qvec, dtype=np.float32).reshape(1, -1))
        if q.shape[1] != self.dim:
            raise BadInput(f"查询向量维度 {q.shape[1]} 与索引维度 {self.dim} 不符。")
        if self.n_chunks == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        k = min(k, self.n_chunks if allowed is None else len(allowed))
        params = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=max(HNSW_EF_SEARCH, 2 * k))
                      if self._is_hnsw else faiss.SearchParameters(sel=sel))
        elif self._is_hnsw:
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, 2 * k))
        scores, ids = self._faiss.search(q, k, params=params)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        if self._is_hnsw and allowed is not None and len(hits) < k:
            # A very selective filter can starve the HNSW graph walk; score the allowed rows exactly.
            rows = np.asarray(allowed, dtype=np.int64)
            s = np.asarray(self._vectors[rows]) @ q[0]
            top = np.argsort(-s, kind="stable")[:k]
            hits = [(int(rows[i]), float(s[i])) for i in top]
        return hits

    def bm25_search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` rows by BM25 over ``tokens`` (see qa.tokens), score > 0 only; filter inside scoring."""
        if self._bm25 is None or k <= 0 or not tokens or (allowed is not None and len(allowed) == 0):
            return []
        ids = self._bm25.get_tokens_ids([t for t in tokens if t])
        if not ids:
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(self.n_chunks, dtype=np.float32)
            mask[np.asarray(allowed, dtype=np.int64)] = 1.0
        scores = self._bm25.get_scores_from_ids(ids, weight_mask=mask)
        cand = np.flatnonzero(scores > 0)
        if len(cand) > k:
            cand = cand[np.argpartition(-scores[cand], k - 1)[:k]]
        cand = cand[np.lexsort((cand, -scores[cand]))]
        return [(int(r), float(scores[r])) for r in cand]

    def bm25_text_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """:meth:`bm25_search` over the words of ``query`` (what search.py calls; Milvus cuts them server-side)."""
        return self.bm25_search(tokenize(query), k, allowed)

    # --- records -----------------------------------------------------------------------------
    def chunk_records(self, rows: list[int]) -> list[dict]:
        """Chunk text and citation fields for ``rows``, in the order given (unknown rows left out)."""
        rows = [int(r) for r in rows]
        found: dict[int, dict] = {}
        db = self._db()
        for i in range(0, len(rows), 500):
            part = rows[i : i + 500]
            sql = (
                "SELECT c.row, c.chunk_id, c.text, c.title, c.article_id, c.page_id, p.paper, p.date, p.issue_no,"
                " p.page, p.page_name, p.source FROM chunks c JOIN pages p ON p.page_id = c.page_id"
                f" WHERE c.row IN ({','.join('?' * len(part))})"
            )
            for r in db.execute(sql, part):
                found[r["row"]] = dict(r)
        return [found[r] for r in rows if r in found]

    def issues(self) -> list[dict]:
        """Every issue with its pages and article counts, by date then paper."""
        sql = (
            "SELECT p.paper, p.date, p.issue_no, p.page, p.page_name, COUNT(a.article_id) AS n FROM pages p"
            " LEFT JOIN articles a ON a.page_id = p.page_id GROUP BY p.page_id ORDER BY p.date, p.paper, p.page"
        )
        out: dict[tuple, dict] = {}
        for r in self._db().execute(sql):
            issue = out.setdefault((r["date"], r["paper"]), {"paper": r["paper"], "date": r["date"], "issue_no": None, "pages": {}})
            issue["issue_no"] = issue["issue_no"] or r["issue_no"]
            pg = issue["pages"].setdefault(r["page"], {"page": r["page"], "page_name": r["page_name"], "articles": 0})
            pg["page_name"] = pg["page_name"] or r["page_name"]
            pg["articles"] += r["n"]
        result = []
        for key in sorted(out):
            issue = out[key]
            issue["pages"] = sorted(issue["pages"].values(), key=lambda p: (p["page"] is None, p["page"] or 0))
            result.append(issue)
        return result

    def issue_dates(self, paper: str | None = None) -> list[str]:
        """Distinct issue dates, ascending (of one paper when given); cached per version."""
        dates = self._issue_dates.get(paper)
        if dates is None:
            dates = self._issue_dates[paper] = self._query_issue_dates(paper)
        return dates

    def has_issues(self, date_from: str, date_to: str, paper: str | None = None) -> bool:
        """Was any issue printed between the two ISO dates (inclusive)?"""
        dates = self.issue_dates(paper)
        i = bisect.bisect_left(dates, date_from)
        return i < len(dates) and dates[i] <= date_to

    def _query_issue_dates(self, paper: str | None) -> list[str]:
        sql, args = "SELECT DISTINCT date FROM pages", ()
        if paper is not None:
            sql, args = sql + " WHERE paper = ?", (paper,)
        return [r[0] for r in self._db().execute(sql + " ORDER BY date", args)]

    def rows_of_articles(self, article_ids: list[str]) -> np.ndarray:
        """Sorted rows of the chunks of these articles (a follow-up about "this report")."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return np.zeros(0, dtype=np.int64)
        sql = f"SELECT row FROM chunks WHERE article_id IN ({','.join('?' * len(ids))})"
        return np.array(sorted(r[0] for r in self._db().execute(sql, ids)), dtype=np.int64)

    def page(self, date: str, page: int, paper: str | None = None) -> dict | None:
        """One printed page with its articles in page order; pages split over several records are merged."""
        db = self._db()
        sql, args = "SELECT * FROM pages WHERE date = ? AND page = ?", [date, int(page)]
        if paper is not None:
            sql, args = sql + " AND paper = ?", args + [paper]
        recs = db.execute(sql + " ORDER BY paper, page_id", args).fetchall()
        if not recs:
            return None
        recs = [r for r in recs if r["paper"] == recs[0]["paper"]]
        first = recs[0]
        articles = []
        for r in recs:
            for a in db.execute("SELECT * FROM articles WHERE page_id = ? ORDER BY ordinal", (r["page_id"],)):
                d = {k: a[k] for k in ("article_id", "title", "pre_title", "subtitle", "byline", "body")}
                d["captions"] = json.loads(a["captions"] or "[]")
                d["refs"] = json.loads(a["refs"] or "[]")
                articles.append(d)
        return {
            "paper": first["paper"], "date": first["date"], "page": first["page"],
            "page_name": next((r["page_name"] for r in recs if r["page_name"]), None),
            "issue_no": next((r["issue_no"] for r in recs if r["issue_no"]), None),
            "source": first["source"], "text": "\n\n".join(r["text"] or "" for r in recs), "articles": articles,
        }

    def rows_speaking_of(self, date_from: str, date_to: str, paper: str | None = None) -> np.ndarray:
        """Sorted rows whose text speaks of a day in ``date_from..date_to`` (「今年上半年」 printed in July
        2025 speaks of 2025-01..06), read from the period index, never by scanning text."""
        rows = self._periods.rows_speaking_of(date_from, date_to)
        if paper is not None and len(rows):
            if paper not in self._papers:
                return np.zeros(0, dtype=np.int64)
            rows = rows[self._row_paper[rows] == self._papers.index(paper)]
        return rows

    def period_phrase(self, row: int, date_from: str, date_to: str) -> str | None:
        """The words by which row ``row`` speaks of the period (「今年上半年」), or None."""
        return self._periods.why(int(row), date_from, date_to)

    def row_date(self, row: int) -> str:
        """The issue date of row ``row``, ISO."""
        d = str(int(self._row_date[int(row)]))
        return f"{d[:4]}-{d[4:6]}-{d[6:]}"

    def counts(self) -> dict:
        """papers, issues, pages, articles, chunks of this version."""
        return dict(self.meta["counts"])


def index_stats(index_dir: Path) -> dict:
    """Figures for ``qa stats``: what is in the live version and how big it is."""
    with IndexReader.open(Path(index_dir)) as r:
        dates = r.issue_dates()
        c = r.counts()
        size = sum(p.stat().st_size for p in r.path.rglob("*") if p.is_file())
        return {
            "version": r.version, "built_at": r.meta.get("built_at"), "papers": r.meta.get("papers", []),
            "first_issue": dates[0] if dates else None, "last_issue": dates[-1] if dates else None,
            "issues": c["issues"], "pages": c["pages"], "articles": c["articles"], "chunks": c["chunks"],
            "embedder": r.embedder_name, "dim": r.dim, "vector_index": r.meta["vector_index"]["type"],
            "chunking": r.meta.get("chunking"), "size_bytes": size,
        }


def check_embedder(reader: IndexReader, embedder) -> None:
    """Raise EmbedderMismatch unless ``embedder`` is the one the index was built with (name and dim)."""
    if reader.embedder_name != embedder.name or reader.dim != int(embedder.dim):
        raise EmbedderMismatch(
            f"索引 {reader.version} 是用向量模型「{reader.embedder_name}」（{reader.dim} 维）建立的，"
            f"不能用「{embedder.name}」（{embedder.dim} 维）查询。请改用「{reader.embedder_name}」，"
            f"或运行 `qa index 路径… --model {embedder.name}` 用新模型重建索引。"
        )


def _date_bound(value: str, *, low: bool) -> int:
    """``2025-07`` -> 20250700 (low) / 20250799 (high); full dates map to themselves."""
    try:
        return date_number(value, low=low)
    except ValueError:
        raise BadInput(f"日期「{value}」格式不对，应为 YYYY-MM-DD。") from None
