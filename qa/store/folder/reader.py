"""Reading one published index version: its segments searched as one archive, safe to share between threads.

A version lists segments (``qa.store.folder.segment``); a row number here is the segment's offset plus its
own row, so the rest of the program sees one row space. Rows of pages deleted since a segment was
written are never returned. BM25 statistics are global over the live rows (``qa.store.folder.bm25``), and
vector scores are exact inner products, so results of different segments merge by score.
Usage (an index of the seeds)::

    r = IndexReader.open(Path("index"))           # the live version named by index/CURRENT
    rows = r.rows_matching("2025-07-29", "2025-07-29")
    r.dense_search(embedder.encode_queries(["防汛要求"])[0], k=5, allowed=rows)   # [(12, 0.87), ...]
    r.chunk_records([12])[0]["title"]             # '全面压实政治责任 落实落细各项防汛措施'
"""

from __future__ import annotations

import bisect
import heapq
import json
import sqlite3
from pathlib import Path

import numpy as np

from qa.errors import BadInput, EmbedderMismatch, IndexFormatError
from qa.store.folder.bm25 import SegmentedBM25
from qa.store.folder.layout import SEGMENTS, live_folder, read_meta
from qa.store.folder.regions import add_regions
from qa.store.folder.segment import Segment
from qa.text.chinese import date_number
from qa.text.tokens import tokenize


class IndexReader:
    """Read-only view of one complete index version; safe to share between many threads."""

    concurrent_search = True  # dense and BM25 searches may run at the same time (qa.retrieve.search)

    def __init__(self, path: Path, meta: dict) -> None:
        self.path = Path(path)
        self.version = self.path.name
        self.meta = meta
        self.embedder_name: str = meta["embedder"]["name"]
        self.dim: int = int(meta["embedder"]["dim"])
        self._papers: list[str] = list(meta.get("papers", []))
        deleted = meta.get("deleted", {})
        self.segments: list[Segment] = []
        try:
            for s in meta["segments"]:
                self.segments.append(
                    Segment(self.path.parent / SEGMENTS / s["name"], frozenset(deleted.get(s["name"], [])))
                )
        except BaseException:
            self.close()
            raise
        self.offsets = np.cumsum([0] + [seg.rows for seg in self.segments]).astype(np.int64)
        self.n_chunks: int = int(self.offsets[-1])  # the row space (deleted rows included, never returned)
        self._bm25 = SegmentedBM25([(seg.postings, seg.live) for seg in self.segments])
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

    def close(self) -> None:
        """Close every thread's SQLite connections."""
        for seg in self.segments:
            seg.close()

    def __enter__(self) -> "IndexReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- rows <-> segments ---------------------------------------------------------------------
    def _split(self, rows: np.ndarray | None) -> list[np.ndarray | None]:
        """Sorted global rows -> each segment's local rows (None stays None: every row)."""
        if rows is None:
            return [None] * len(self.segments)
        rows = np.asarray(rows, dtype=np.int64)
        cuts = np.searchsorted(rows, self.offsets)
        return [rows[cuts[i] : cuts[i + 1]] - self.offsets[i] for i in range(len(self.segments))]

    def _join(self, parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([p.astype(np.int64) + self.offsets[i] for i, p in enumerate(parts)])

    def _locate(self, row: int) -> tuple[Segment, int]:
        i = int(np.searchsorted(self.offsets, row, side="right")) - 1
        if not 0 <= i < len(self.segments):
            raise IndexError(f"row {row} is not in this index")
        return self.segments[i], int(row - self.offsets[i])

    # --- filters -----------------------------------------------------------------------------
    def rows_matching(
        self,
        date_from: str | None = None,
        date_to: str | None = None,
        paper: str | None = None,
        page: int | None = None,
    ) -> np.ndarray | None:
        """Sorted int64 rows meeting every given filter; None when no filter is given.

        Dates may be ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (a partial ``date_to`` covers its month/year).
        Each segment's rows are sorted by date, so a date filter is a ``searchsorted`` range per segment.
        """
        if date_from is None and date_to is None and paper is None and page is None:
            return None
        low = _date_bound(date_from, low=True) if date_from is not None else None
        high = _date_bound(date_to, low=False) if date_to is not None else None
        return self._join([seg.rows_matching(low, high, paper, page) for seg in self.segments])

    # --- searches ----------------------------------------------------------------------------
    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` rows by inner product; ``allowed`` (sorted rows) restricts the search itself,
        passed to each segment as a row range or bitmap."""
        q = np.ascontiguousarray(np.asarray(qvec, dtype=np.float32).reshape(-1))
        if q.shape[0] != self.dim:
            raise BadInput(f"查询向量维度 {q.shape[0]} 与索引维度 {self.dim} 不符。")
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        hits: list[tuple[float, int]] = []
        for i, (seg, local) in enumerate(zip(self.segments, self._split(allowed))):
            if seg.rows == 0 or (local is not None and len(local) == 0):
                continue
            rows, scores = seg.dense.search(q, k, seg.allowed_mask(local))
            hits += [(float(s), int(r) + int(self.offsets[i])) for r, s in zip(rows, scores)]
        best = heapq.nsmallest(k, hits, key=lambda h: (-h[0], h[1]))
        return [(row, score) for score, row in best]

    def bm25_search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` rows by BM25 over ``tokens`` (see qa.text.tokens), score > 0 only; filter inside scoring."""
        if k <= 0 or not tokens or (allowed is not None and len(allowed) == 0) or not self.segments:
            return []
        masks = None
        if allowed is not None:
            masks = []
            for seg, local in zip(self.segments, self._split(allowed)):
                mask = np.zeros(seg.rows, dtype=bool)
                mask[local] = True
                masks.append(mask)
        found = self._bm25.search([t for t in tokens if t], k, masks)
        return [(int(self.offsets[s]) + int(r), float(score)) for s, r, score in found]

    def bm25_text_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """:meth:`bm25_search` over the words of ``query`` (what search.py calls; Milvus cuts them server-side)."""
        return self.bm25_search(tokenize(query), k, allowed)

    # --- records -----------------------------------------------------------------------------
    def chunk_records(self, rows: list[int]) -> list[dict]:
        """Chunk text and citation fields for ``rows``, in the order given (unknown rows left out)."""
        rows = [int(r) for r in rows]
        found: dict[int, dict] = {}
        wanted = np.array(sorted(set(r for r in rows if 0 <= r < self.n_chunks)), dtype=np.int64)
        sql = (
            "SELECT c.row, c.chunk_id, c.text, c.title, c.article_id, c.page_id, p.paper, p.date, p.issue_no,"
            " p.page, p.page_name, p.source FROM chunks c JOIN pages p ON p.page_id = c.page_id WHERE c.row IN ({})"
        )
        for i, (seg, local) in enumerate(zip(self.segments, self._split(wanted))):
            base = int(self.offsets[i])
            recs = [{**dict(r), "row": base + r["row"]} for r in seg.query_in(sql, seg.live_rows(local).tolist())]
            add_regions(seg, recs)
            found.update((r["row"], r) for r in recs)
        return [found[r] for r in rows if r in found]

    def page_image(self, key: str) -> dict | None:
        """The ``page_images`` row (page_id, image_key, file, kind, width, height) of a live page by its
        key, or None: the only way the image route finds a file."""
        for seg in self.segments:
            if seg.has_images:
                for r in seg.db().execute("SELECT * FROM page_images WHERE image_key = ?", (key,)):
                    if r["page_id"] not in seg.deleted_pages:
                        return dict(r)
        return None

    def _pages(self, sql: str, args: tuple | list = ()) -> list[sqlite3.Row]:
        """Live page rows of every segment for one ``SELECT … FROM pages`` query (page_id selected)."""
        return [r for seg in self.segments for r in seg.pages(sql, args)]

    def issues(self) -> list[dict]:
        """Every issue with its pages and article counts, by date then paper."""
        out: dict[tuple, dict] = {}
        sql = (
            "SELECT p.page_id, p.paper, p.date, p.issue_no, p.page, p.page_name, COUNT(a.article_id) AS n FROM pages p"
            " LEFT JOIN articles a ON a.page_id = p.page_id GROUP BY p.page_id"
        )
        for r in sorted(self._pages(sql), key=lambda r: (r["date"], r["paper"], r["page"] is None, r["page"] or 0)):
            issue = out.setdefault(
                (r["date"], r["paper"]), {"paper": r["paper"], "date": r["date"], "issue_no": None, "pages": {}}
            )
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
        sql, args = "SELECT page_id, date FROM pages", ()
        if paper is not None:
            sql, args = sql + " WHERE paper = ?", (paper,)
        return sorted({r["date"] for r in self._pages(sql, args)})

    def rows_of_articles(self, article_ids: list[str]) -> np.ndarray:
        """Sorted rows of the chunks of these articles (a follow-up about "this report")."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return np.zeros(0, dtype=np.int64)
        parts = []
        for seg in self.segments:
            local = np.array(
                sorted(r[0] for r in seg.query_in("SELECT row FROM chunks WHERE article_id IN ({})", ids)),
                dtype=np.int64,
            )
            parts.append(seg.live_rows(local))
        return self._join(parts)

    def articles_by_id(self, article_ids: list[str]) -> dict[str, dict]:
        """The live articles of these ids with their page's row: ``article_id, page_id, ordinal, title,
        body`` plus the page's ``paper, date, page, page_name, issue_no, source, root`` (for the
        archive team's corrections: which page an article stands on, and how it reads now)."""
        ids = list(dict.fromkeys(article_ids))
        sql = (
            "SELECT a.article_id, a.page_id, a.ordinal, a.title, a.body, p.paper, p.date, p.page, p.page_name,"
            " p.issue_no, p.source, p.root FROM articles a JOIN pages p ON p.page_id = a.page_id"
            " WHERE a.article_id IN ({})"
        )
        found: dict[str, dict] = {}
        for seg in self.segments if ids else []:
            for r in seg.query_in(sql, ids):
                if r["page_id"] not in seg.deleted_pages:
                    found[r["article_id"]] = dict(r)
        return found

    def _page_records(self, date: str, page: int, paper: str | None) -> list:
        """(segment, row) of the live page records of one printed page, of one paper (the first by name)."""
        sql, args = "SELECT * FROM pages WHERE date = ? AND page = ?", [date, int(page)]
        if paper is not None:
            sql, args = sql + " AND paper = ?", args + [paper]
        recs = [(seg, r) for seg in self.segments for r in seg.pages(sql, args)]
        recs.sort(key=lambda sr: (sr[1]["paper"], sr[1]["page_id"]))
        return [(seg, r) for seg, r in recs if r["paper"] == recs[0][1]["paper"]] if recs else []

    def page_files(self, date: str, page: int, paper: str | None = None) -> list[str]:
        """The files (page ids) one printed page was read from: for the archive team's corrections, never
        sent to clients (citations show ``source``, a path relative to the archive)."""
        return [r["page_id"] for _, r in self._page_records(date, page, paper)]

    def page(self, date: str, page: int, paper: str | None = None) -> dict | None:
        """One printed page with its articles in page order; pages split over several records are merged."""
        recs = self._page_records(date, page, paper)
        if not recs:
            return None
        first = recs[0][1]
        articles = []
        for seg, r in recs:
            for a in seg.db().execute("SELECT * FROM articles WHERE page_id = ? ORDER BY ordinal", (r["page_id"],)):
                d = {k: a[k] for k in ("article_id", "title", "pre_title", "subtitle", "byline", "body")}
                d["captions"] = json.loads(a["captions"] or "[]")
                d["refs"] = json.loads(a["refs"] or "[]")
                articles.append(d)
        return {
            "paper": first["paper"],
            "date": first["date"],
            "page": first["page"],
            "page_name": next((r["page_name"] for _, r in recs if r["page_name"]), None),
            "issue_no": next((r["issue_no"] for _, r in recs if r["issue_no"]), None),
            "source": first["source"],
            "text": "\n\n".join(r["text"] or "" for _, r in recs),
            "articles": articles,
        }

    def rows_speaking_of(self, date_from: str, date_to: str, paper: str | None = None) -> np.ndarray:
        """Sorted rows whose text speaks of a day in ``date_from..date_to`` (「今年上半年」 printed in July
        2025 speaks of 2025-01..06), read from each segment's period index, never by scanning text."""
        if paper is not None and paper not in self._papers:
            return np.zeros(0, dtype=np.int64)
        parts = []
        for seg in self.segments:
            rows = seg.live_rows(seg.periods.rows_speaking_of(date_from, date_to).astype(np.int64))
            parts.append(rows[seg.paper_mask(rows, paper)] if paper is not None and len(rows) else rows)
        return self._join(parts)

    def period_phrase(self, row: int, date_from: str, date_to: str) -> str | None:
        """The words by which row ``row`` speaks of the period (「今年上半年」), or None."""
        seg, local = self._locate(int(row))
        return seg.periods.why(local, date_from, date_to)

    def row_date(self, row: int) -> str:
        """The issue date of row ``row``, ISO."""
        seg, local = self._locate(int(row))
        d = str(int(seg.row_date[local]))
        return f"{d[:4]}-{d[4:6]}-{d[6:]}"

    def counts(self) -> dict:
        """papers, issues, pages, articles, chunks of this version."""
        return dict(self.meta["counts"])


def index_stats(index_dir: Path) -> dict:
    """Figures for ``qa stats``: what is in the live version and how big it is."""
    with IndexReader.open(Path(index_dir)) as r:
        dates = r.issue_dates()
        c = r.counts()
        size = sum(
            p.stat().st_size
            for folder in [r.path, *(seg.folder for seg in r.segments)]
            for p in folder.rglob("*")
            if p.is_file()
        )
        return {
            "version": r.version,
            "built_at": r.meta.get("built_at"),
            "papers": r.meta.get("papers", []),
            "first_issue": dates[0] if dates else None,
            "last_issue": dates[-1] if dates else None,
            "issues": c["issues"],
            "pages": c["pages"],
            "articles": c["articles"],
            "chunks": c["chunks"],
            "embedder": r.embedder_name,
            "dim": r.dim,
            "vector_index": r.meta["vector_index"]["type"],
            "segments": len(r.segments),
            "chunking": r.meta.get("chunking"),
            "size_bytes": size,
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
