"""Reading one published version from Milvus, with the interface of ``IndexReader`` (the ask path
cannot tell them apart). Safe to share between threads: one MilvusClient per URI.

Every search and query carries the version's own filter (``born <= 7 and died > 7``), so a
reader keeps answering from its version while later ones are written beside it. Filters run
inside Milvus' searches as filter expressions: a row set from :meth:`MilvusReader.rows_matching`
is sent as the scalar filter that made it (``date >= 20250701 and date <= 20250731 and paper ==
"聊城日报"``), and any other set (a period widened by the passages that name it) as primary-key
ranges plus a short id list (a build numbers its new rows in date, paper, page order):

>>> rows_expr(np.array([3, 4, 5, 6, 9]))
'(row >= 3 and row <= 6) or row in [9]'
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import weakref

import numpy as np

from qa.errors import BadInput, IndexFormatError, IndexMissing
from qa.store.folder.reader import _date_bound
from qa.store.folder.writer import date_int
from qa.store.location import MilvusTarget
from qa.store.milvus.client import MILVUS_FORMAT_VERSION, connect, query_all, quote, records_name, visible
from qa.store.milvus.versions import gen_of, live_collection, newest_meta
from qa.store.milvus.writer import HNSW_EF_SEARCH
from qa.time.mentions import extract_periods
from qa.time.period_index import PeriodIndex

CHUNK_FIELDS = [
    "row",
    "chunk_id",
    "text",
    "title",
    "article_id",
    "page_id",
    "paper",
    "iso_date",
    "issue_no",
    "page",
    "page_name",
    "source",
]
MIN_RANGE = 4  # shorter runs of consecutive rows go into the id list
PAGE_OF_ARTICLE = ("paper", "date", "page", "page_name", "issue_no", "source", "root")
PAGE_FIELDS = ["page_id", "paper", "date", "page", "row_lo", "row_hi", "articles", "page_name", "issue_no"]


def rows_expr(rows: np.ndarray) -> str:
    """A filter expression selecting exactly the sorted, distinct ``rows`` (runs as ranges)."""
    rows = np.asarray(rows, dtype=np.int64)
    cut = np.flatnonzero(np.diff(rows) != 1)
    starts, ends = rows[np.r_[0, cut + 1]], rows[np.r_[cut, len(rows) - 1]]
    long = ends - starts + 1 >= MIN_RANGE
    parts = [f"(row >= {a} and row <= {b})" for a, b in zip(starts[long], ends[long])]
    singles = [str(r) for a, b in zip(starts[~long], ends[~long]) for r in range(a, b + 1)]
    if singles:
        parts.append(f"row in [{','.join(singles)}]")
    return " or ".join(parts)


class MilvusReader:
    """Read-only view of one published version stored in Milvus (its collection, not the alias, and
    every search and query filtered to the rows of that version)."""

    def __init__(self, target: MilvusTarget, client, collection: str, meta: dict, pages: list[dict]) -> None:
        self.target, self._client, self.collection = target, client, collection
        self.records = records_name(collection)
        self.path = target.uri
        self.version: str = meta["version"]
        self.visible = visible(gen_of(self.version))  # rows of this version only, whatever is published later
        self.meta = meta
        self.embedder_name: str = meta["embedder"]["name"]
        self.dim: int = int(meta["embedder"]["dim"])
        self.n_chunks: int = int(meta["counts"]["chunks"])
        self._is_hnsw = meta["vector_index"]["type"] == "HNSW"
        pages.sort(key=lambda p: (p["date"], p["paper"], p["page"], p["page_id"]))
        self._pages = pages
        self._p_date = np.array([date_int(p["date"]) for p in pages], dtype=np.int64)
        self._p_paper = np.array([p["paper"] for p in pages], dtype=object)
        self._p_page = np.array([p["page"] for p in pages], dtype=np.int64)
        self._p_lo = np.array([p["row_lo"] for p in pages], dtype=np.int64)
        self._p_hi = np.array([p["row_hi"] for p in pages], dtype=np.int64)
        self._periods: PeriodIndex | None = None
        self._exprs: dict[int, tuple[weakref.ref, str]] = {}  # id(row array) -> the filter that made it
        self._exprs_lock = threading.Lock()
        self._issue_dates: dict[str | None, list[str]] = {}
        self._issues: list[dict] | None = None

    @classmethod
    def open(cls, target: MilvusTarget) -> "MilvusReader":
        """Open the version published now; later publishes do not affect this reader."""
        collection = live_collection(target)
        if collection is None:
            raise IndexMissing(
                f"Milvus {target.uri} 中没有已发布的索引（别名 {target.alias} 不存在）。"
                f"请先运行 `qa index 路径… --backend {target.uri}`。"
            )
        client = connect(target)
        try:
            client.load_collection(collection)
            client.load_collection(records_name(collection))
            meta = newest_meta(client, collection)
            if not meta or meta.get("format_version") != MILVUS_FORMAT_VERSION:
                raise IndexFormatError(
                    f"Milvus 集合 {collection} 的格式版本为 {meta and meta.get('format_version')}，"
                    f"本程序需要 {MILVUS_FORMAT_VERSION}。"
                    f"请运行 `qa index --rebuild 路径… --backend {target.uri}` 重建。"
                )
            pages = [
                {k: r.get(k) for k in PAGE_FIELDS}  # the page list without texts: filters, issues
                for r in query_all(
                    client,
                    records_name(collection),
                    f'kind == "page" and {visible(gen_of(meta["version"]))}',
                    PAGE_FIELDS,
                )
            ]
        except IndexFormatError:
            raise
        except Exception as e:  # noqa: BLE001 - a dropped collection, a lost connection: say which and what to do
            raise IndexFormatError(
                f"Milvus 集合 {collection}（{target.uri}）无法读取（{str(e)[:200]}）。"
                f"请运行 `qa index --rebuild 路径… --backend {target.uri}` 重建。"
            ) from e
        return cls(target, client, collection, meta, pages)

    def close(self) -> None:
        """Nothing to release: the client is shared by every reader of this URI."""

    def __enter__(self) -> "MilvusReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- filters -----------------------------------------------------------------------------
    def rows_matching(
        self,
        date_from: str | None = None,
        date_to: str | None = None,
        paper: str | None = None,
        page: int | None = None,
    ) -> np.ndarray | None:
        """Sorted int64 rows meeting every given filter; None when no filter is given (as IndexReader)."""
        if date_from is None and date_to is None and paper is None and page is None:
            return None
        mask = np.ones(len(self._pages), dtype=bool)
        expr = []
        if date_from is not None:
            lo = _date_bound(date_from, low=True)
            mask &= self._p_date >= lo
            expr.append(f"date >= {lo}")
        if date_to is not None:
            hi = _date_bound(date_to, low=False)
            mask &= self._p_date <= hi
            expr.append(f"date <= {hi}")
        if paper is not None:
            mask &= self._p_paper == paper
            expr.append(f"paper == {quote(paper)}")
        if page is not None:
            mask &= self._p_page == int(page)
            expr.append(f"page == {int(page)}")
        lo, hi = self._p_lo[mask], self._p_hi[mask]
        keep = hi >= lo
        rows = np.concatenate(
            [np.arange(a, b + 1, dtype=np.int64) for a, b in zip(lo[keep], hi[keep])] or [np.zeros(0, dtype=np.int64)]
        )
        rows.sort()
        self._remember(rows, " and ".join(expr))
        return rows

    def _remember(self, rows: np.ndarray, expr: str) -> None:
        """Note the scalar filter behind ``rows`` for as long as that array lives."""
        key = id(rows)

        def forget(_ref, key=key):
            with self._exprs_lock:
                self._exprs.pop(key, None)

        with self._exprs_lock:
            self._exprs[key] = (weakref.ref(rows, forget), expr)

    def _filter(self, allowed: np.ndarray | None) -> str:
        """This version's rows, narrowed to ``allowed`` (by the scalar filter that made it, when known)."""
        if allowed is None:
            return self.visible
        with self._exprs_lock:
            ref, expr = self._exprs.get(id(allowed), (None, None))
        return f"{self.visible} and ({expr if ref is not None and ref() is allowed else rows_expr(allowed)})"

    # --- searches ----------------------------------------------------------------------------
    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` rows by inner product; ``allowed`` becomes the search's filter expression."""
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise BadInput(f"查询向量维度 {q.shape[0]} 与索引维度 {self.dim} 不符。")
        if self.n_chunks == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        k = min(k, self.n_chunks if allowed is None else len(allowed))
        params = {"metric_type": "IP", "params": {"ef": max(HNSW_EF_SEARCH, 2 * k)} if self._is_hnsw else {}}
        res = self._client.search(
            self.collection,
            data=[q.tolist()],
            anns_field="vector",
            limit=k,
            filter=self._filter(allowed),
            output_fields=["row"],
            search_params=params,
        )
        return [(int(h["row"]), float(h["distance"])) for h in res[0]]

    def bm25_text_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` rows by Milvus' BM25 over ``query`` (its jieba analyzer cuts the words), score > 0 only."""
        if self.n_chunks == 0 or k <= 0 or not query.strip() or (allowed is not None and len(allowed) == 0):
            return []
        res = self._client.search(
            self.collection,
            data=[query],
            anns_field="sparse",
            limit=k,
            filter=self._filter(allowed),
            output_fields=["row"],
            search_params={"metric_type": "BM25"},
        )
        # Milvus Lite reports BM25 as a negated distance, a Milvus server as the score itself.
        hits = [(int(h["row"]), abs(float(h["distance"]))) for h in res[0]]
        return [(r, s) for r, s in hits if s > 0]

    def bm25_search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """BM25 over words already cut by ``qa.text.tokens`` (Milvus' analyzer cuts them again)."""
        return self.bm25_text_search(" ".join(t for t in tokens if t), k, allowed)

    # --- records -----------------------------------------------------------------------------
    def chunk_records(self, rows: list[int]) -> list[dict]:
        """Chunk text and citation fields for ``rows``, in the order given (unknown rows left out)."""
        rows = [int(r) for r in rows]
        found: dict[int, dict] = {}
        for i in range(0, len(rows), 500):
            part = rows[i : i + 500]
            for r in self._client.query(
                self.collection, filter=f"row in {part} and {self.visible}", output_fields=CHUNK_FIELDS
            ):
                rec = {k: r.get(k) for k in CHUNK_FIELDS}
                rec["date"] = rec.pop("iso_date")
                rec["page"] = None if rec["page"] == -1 else rec["page"]
                rec.update(image_key=None, regions=None, passage_regions=0)  # no page images in Milvus
                found[int(rec["row"])] = rec
        return [found[r] for r in rows if r in found]

    def page_image(self, key: str) -> dict | None:
        """Page images are not kept in Milvus (no regions either): every key is unknown."""
        return None

    def issues(self) -> list[dict]:
        """Every issue with its pages and article counts, by date then paper (read once per version)."""
        if self._issues is None:
            out: dict[tuple, dict] = {}
            for p in self._pages:
                issue = out.setdefault(
                    (p["date"], p["paper"]), {"paper": p["paper"], "date": p["date"], "issue_no": None, "pages": {}}
                )
                issue["issue_no"] = issue["issue_no"] or p["issue_no"]
                number = None if p["page"] == -1 else p["page"]
                pg = issue["pages"].setdefault(number, {"page": number, "page_name": p["page_name"], "articles": 0})
                pg["page_name"] = pg["page_name"] or p["page_name"]
                pg["articles"] += p["articles"]
            for issue in out.values():
                issue["pages"] = sorted(issue["pages"].values(), key=lambda x: (x["page"] is None, x["page"] or 0))
            self._issues = [out[k] for k in sorted(out)]
        return self._issues

    def issue_dates(self, paper: str | None = None) -> list[str]:
        """Distinct issue dates, ascending (of one paper when given)."""
        dates = self._issue_dates.get(paper)
        if dates is None:
            dates = sorted({p["date"] for p in self._pages if paper is None or p["paper"] == paper})
            self._issue_dates[paper] = dates
        return dates

    def has_issues(self, date_from: str, date_to: str, paper: str | None = None) -> bool:
        """Was any issue printed between the two ISO dates (inclusive)?"""
        dates = self.issue_dates(paper)
        i = bisect.bisect_left(dates, date_from)
        return i < len(dates) and dates[i] <= date_to

    def rows_of_articles(self, article_ids: list[str]) -> np.ndarray:
        """Sorted rows of the chunks of these articles (a follow-up about "this report")."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return np.zeros(0, dtype=np.int64)
        expr = f"article_id in [{','.join(quote(a) for a in ids)}] and {self.visible}"
        return np.array(
            sorted(int(r["row"]) for r in query_all(self._client, self.collection, expr, ["row"])), dtype=np.int64
        )

    def articles_by_id(self, article_ids: list[str]) -> dict[str, dict]:
        """The live articles of these ids with their page's fields (see ``IndexReader.articles_by_id``)."""
        # one equality per id: Milvus Lite (3.2.2) refuses `in` on a JSON path ("left side of in must be a field")
        same = " or ".join(f'doc["article_id"] == {quote(a)}' for a in dict.fromkeys(article_ids))
        if not same:
            return {}
        arts = query_all(self._client, self.records, f'kind == "article" and ({same}) and {self.visible}', ["doc"])
        pages = ",".join(quote(p) for p in {a["doc"]["page_id"] for a in arts})
        if not pages:
            return {}
        docs = query_all(
            self._client, self.records, f'kind == "page" and page_id in [{pages}] and {self.visible}', ["doc"]
        )
        page_of = {d["doc"]["page_id"]: d["doc"] for d in docs}
        return {
            a["article_id"]: {k: a.get(k) for k in ("article_id", "page_id", "ordinal", "title", "body")}
            | {k: page_of[a["page_id"]].get(k) for k in PAGE_OF_ARTICLE}
            for a in (x["doc"] for x in arts)
            if a["page_id"] in page_of
        }

    def page_files(self, date: str, page: int, paper: str | None = None) -> list[str]:
        """The files (page ids) one printed page was read from (see ``IndexReader.page_files``)."""
        return [r["page_id"] for r in self._page_records(date, page, paper)]

    def _page_records(self, date: str, page: int, paper: str | None) -> list[dict]:
        """The page list's records of one printed page, of one paper (the first by name), by page id."""
        recs = [
            p
            for p in self._pages
            if p["date"] == date and p["page"] == int(page) and (paper is None or p["paper"] == paper)
        ]
        return [r for r in recs if r["paper"] == recs[0]["paper"]] if recs else []

    def _period_index(self) -> PeriodIndex:
        """What each chunk speaks of, computed from its text once per reader (Milvus stores no period arrays:
        a cost linear in the archive at first use, see docs/operations.md, "Milvus")."""
        with self._exprs_lock:
            if self._periods is None:
                recs = query_all(self._client, self.collection, self.visible, ["row", "text", "title", "iso_date"])
                per_row: list[list] = [[] for _ in range(int(self.meta["next_row"]))]
                for r in recs:
                    text = ((r.get("title") or "") + "\n" + (r.get("text") or "")).strip()
                    per_row[int(r["row"])] = extract_periods(text, dt.date.fromisoformat(r["iso_date"]))
                self._periods = PeriodIndex.build(per_row)
        return self._periods

    def rows_speaking_of(self, date_from: str, date_to: str, paper: str | None = None) -> np.ndarray:
        """Sorted rows whose text speaks of a day in ``date_from..date_to`` (see IndexReader)."""
        rows = self._period_index().rows_speaking_of(date_from, date_to)
        if paper is not None and len(rows):
            keep = self.rows_matching(None, None, paper, None)
            rows = np.intersect1d(rows, keep if keep is not None else rows)
        return rows.astype(np.int64)

    def period_phrase(self, row: int, date_from: str, date_to: str) -> str | None:
        return self._period_index().why(int(row), date_from, date_to)

    def page(self, date: str, page: int, paper: str | None = None) -> dict | None:
        """One printed page with its articles in page order; pages split over several records are merged."""
        recs = self._page_records(date, page, paper)
        if not recs:
            return None
        docs = []
        for r in recs:
            expr = f'kind == "page" and page_id == {quote(r["page_id"])} and {self.visible}'
            docs += [x["doc"] for x in self._client.query(self.records, filter=expr, output_fields=["doc"])]
        ids = ",".join(quote(d["page_id"]) for d in docs)
        found = query_all(
            self._client, self.records, f'kind == "article" and page_id in [{ids}] and {self.visible}', ["doc"]
        )
        order = {d["page_id"]: i for i, d in enumerate(docs)}
        arts = sorted((x["doc"] for x in found), key=lambda a: (order[a["page_id"]], a["ordinal"]))
        articles = [
            {k: a.get(k) for k in ("article_id", "title", "pre_title", "subtitle", "byline", "body")}
            | {"captions": list(a.get("captions") or []), "refs": list(a.get("refs") or [])}
            for a in arts
        ]
        first = docs[0]
        return {
            "paper": first["paper"],
            "date": first["date"],
            "page": first["page"],
            "page_name": next((d["page_name"] for d in docs if d["page_name"]), None),
            "issue_no": next((d["issue_no"] for d in docs if d["issue_no"]), None),
            "source": first["source"],
            "text": "\n\n".join(d["text"] or "" for d in docs),
            "articles": articles,
        }

    def counts(self) -> dict:
        """papers, issues, pages, articles, chunks of this version."""
        return dict(self.meta["counts"])
