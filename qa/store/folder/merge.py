"""Merging segments: which to merge (a tiered policy), and the merge itself, without re-embedding
or re-tokenising anything.

Adding one issue writes one small segment. When ``MERGE_FACTOR`` segments of one size tier
exist (tiers are powers of ten of ``FLOOR_ROWS`` live rows) they are merged into one of the
next tier, so an archive of N chunks has O(log N) segments and each row is rewritten O(log N)
times over its life. A segment whose rows are mostly deleted is rewritten without them.

>>> tier(5_000), tier(20_000), tier(199_999), tier(200_000)
(0, 1, 1, 2)
>>> pick_merges([("s1", 900, 900)] * 3 + [("s2", 30_000, 9_000)], factor=3)
[['s2'], ['s1', 's1', 's1']]
>>> len(pick_merges([(f"s{i}", 900, 900) for i in range(7)], factor=3))  # k at a time, the rest waits
2
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np

from qa.store.folder.dense_build import write_dense_codes
from qa.store.folder.layout import BM25, DB
from qa.store.folder.segment import Segment
from qa.store.folder.streams import merge_postings, merged_codes
from qa.store.folder.writer import SCHEMA, write_segment_files
from qa.time.period_index import PeriodIndex

FLOOR_ROWS = 20_000
MERGE_FACTOR = 10
MOSTLY_DELETED = 0.5  # rewrite a segment alone when more than half its rows are deleted


def tier(live_rows: int) -> int:
    """0 below ``FLOOR_ROWS``, then one tier per power of ten."""
    return 0 if live_rows < FLOOR_ROWS else 1 + int(math.floor(math.log10(live_rows / FLOOR_ROWS)))


def pick_merges(segments: list[tuple[str, int, int]], factor: int | None = None) -> list[list[str]]:
    """Groups of segment names to merge, from (name, rows, live rows) in version order."""
    factor = factor or MERGE_FACTOR
    groups: list[list[str]] = []
    by_tier: dict[int, list[str]] = {}
    for name, rows, live in segments:
        if rows and live < rows * (1 - MOSTLY_DELETED):
            groups.append([name])
        else:
            by_tier.setdefault(tier(live), []).append(name)
    for _, names in sorted(by_tier.items()):  # ``factor`` at a time: a merge's size is bounded by its tier
        groups += [names[i : i + factor] for i in range(0, len(names) - factor + 1, factor)]
    return groups


def pick_all(segments: list[tuple[str, int, int]]) -> list[list[str]]:
    """``qa merge --all``: every segment into one, until one is left with no deleted rows.

    >>> pick_all([("s1", 900, 900), ("s2", 30, 20)]), pick_all([("s3", 920, 920)]), pick_all([("s3", 920, 900)])
    ([['s1', 's2']], [], [['s3']])
    """
    if len(segments) > 1 or (segments and segments[0][2] < segments[0][1]):
        return [[name for name, _, _ in segments]]
    return []


def merge_segments(folder: Path, segments: list[Segment], dense_threshold: int | None = None) -> dict:
    """Write the live rows of ``segments`` as one new segment in ``folder`` (a new folder; rows sorted by
    issue date); return its segment.json.

    Streamed (``qa.store.folder.streams``): vectors and postings go from the segments' files to the new
    ones a bounded block at a time, and the compressed vector index trains on a sample, so the memory a
    merge needs is a few bytes per row (row order, filters) plus its vocabulary and periods, not the size
    of the vectors and postings it writes."""
    folder.mkdir(parents=True)
    papers = sorted({p for seg in segments for p in seg.papers})
    keep = [np.flatnonzero(seg.live) if seg.live is not None else np.arange(seg.rows) for seg in segments]
    order, new_rows = _merged_order(segments, keep, papers)
    n, dim = int(len(order)), segments[0].dense.dim if segments else 0
    new_of, start = [], 0
    for seg, rows in zip(segments, keep):  # each segment's local row -> merged row (-1: deleted)
        local = np.full(seg.rows, -1, dtype=np.int64)
        local[rows] = new_rows[start : start + len(rows)]
        new_of.append(local)
        start += len(rows)

    def vectors(dense_folder: Path, kw: dict) -> dict:
        codes = merged_codes([seg.folder for seg in segments], keep, order)
        return write_dense_codes(dense_folder, n, dim, codes, **kw)

    return write_segment_files(
        folder,
        vectors=vectors,
        postings=lambda bm25: merge_postings([(seg.folder / BM25, m) for seg, m in zip(segments, new_of)], n, bm25),
        periods=_merged_periods(segments, keep, new_rows, n),
        papers=papers,
        row_arrays=_merged_row_arrays(segments, keep, order, papers),
        dense_threshold=dense_threshold,
        records=lambda db_path: _merge_records(db_path, segments, keep, new_rows),
    )


def _merged_order(segments: list[Segment], keep: list[np.ndarray], papers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``order[i]``: which concatenated kept row becomes new row i; ``new_rows``: the inverse.

    Sorted by (date, paper, page, segment, row): dates ascend and each page's chunks stay together."""
    date = np.concatenate([np.asarray(seg.row_date)[k] for seg, k in zip(segments, keep)] or [np.zeros(0, np.int32)])
    page = np.concatenate([np.asarray(seg.row_page)[k] for seg, k in zip(segments, keep)] or [np.zeros(0, np.int32)])
    rank = [np.array([papers.index(p) for p in seg.papers] or [0], dtype=np.int32) for seg in segments]
    paper = np.concatenate(
        [r[np.asarray(seg.row_paper)[k]] for r, seg, k in zip(rank, segments, keep)] or [np.zeros(0, np.int32)]
    )
    position = np.arange(len(date))  # segment, then row: concatenation order
    order = np.lexsort((position, page, paper, date))
    new_rows = np.empty_like(order)
    new_rows[order] = np.arange(len(order))
    return order, new_rows


def _merged_row_arrays(segments: list[Segment], keep: list[np.ndarray], order: np.ndarray, papers: list[str]) -> dict:
    rank = [np.array([papers.index(p) for p in seg.papers] or [0], dtype=np.int32) for seg in segments]

    def gather(get) -> np.ndarray:
        parts = [get(i, seg)[k] for i, (seg, k) in enumerate(zip(segments, keep))]
        return (np.concatenate(parts) if parts else np.zeros(0, np.int32))[order].astype(np.int32)

    return {
        "date": gather(lambda i, s: np.asarray(s.row_date)),
        "page": gather(lambda i, s: np.asarray(s.row_page)),
        "paper": gather(lambda i, s: rank[i][np.asarray(s.row_paper)]),
    }


def _merged_periods(segments: list[Segment], keep: list[np.ndarray], new_rows: np.ndarray, n: int) -> PeriodIndex:
    """The segments' periods with rows renumbered; deleted rows' periods dropped."""
    cols: dict[str, list] = {"row": [], "start": [], "end": [], "vague": [], "offset": [], "phrases": []}
    same: dict[str, str] = {}  # one object per distinct phrase (「今年」 recurs millions of times)
    start = 0
    for seg, rows in zip(segments, keep):
        a = seg.periods.a
        local = np.full(seg.rows, -1, dtype=np.int64)
        local[rows] = new_rows[start : start + len(rows)]
        start += len(rows)
        mapped = local[np.asarray(a["row"])]
        live = np.flatnonzero(mapped >= 0)
        cols["row"].append(mapped[live])
        for name in ("start", "end", "vague", "offset"):
            cols[name].append(np.asarray(a[name])[live])
        cols["phrases"] += [same.setdefault(p, p) for p in map(seg.periods.phrase, live.tolist())]
    arrays = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items() if k != "phrases"}
    return PeriodIndex.from_arrays(
        rows=n,
        row=arrays["row"].astype(np.int64),
        start=arrays["start"].astype(np.int64),
        end=arrays["end"].astype(np.int64),
        vague=arrays["vague"].astype(bool),
        offset=arrays["offset"].astype(np.int64),
        phrases=cols["phrases"],
    )


def _merge_records(db_path: Path, segments: list[Segment], keep: list[np.ndarray], new_rows: np.ndarray) -> None:
    """Copy the live pages, articles, chunks, regions and page images of every segment into a new SQLite
    file, inside SQLite."""
    db = sqlite3.connect(db_path)
    try:
        db.executescript(SCHEMA)
        db.execute("CREATE TEMP TABLE row_map (old INTEGER PRIMARY KEY, new INTEGER)")
        db.execute("CREATE TEMP TABLE gone (page_id TEXT PRIMARY KEY)")
        start = 0
        for seg, rows in zip(segments, keep):
            db.execute("DELETE FROM row_map")
            db.execute("DELETE FROM gone")
            db.executemany(
                "INSERT INTO row_map VALUES (?, ?)", zip(rows.tolist(), new_rows[start : start + len(rows)].tolist())
            )
            db.executemany("INSERT INTO gone VALUES (?)", [(p,) for p in seg.deleted_pages])
            start += len(rows)
            db.execute("ATTACH DATABASE ? AS part", (str(seg.folder / DB),))
            db.execute("INSERT INTO pages SELECT * FROM part.pages WHERE page_id NOT IN (SELECT page_id FROM gone)")
            db.execute(
                "INSERT INTO articles SELECT * FROM part.articles WHERE page_id NOT IN (SELECT page_id FROM gone)"
            )
            db.execute(
                "INSERT INTO chunks SELECT m.new, c.chunk_id, c.article_id, c.page_id, c.ordinal, c.text, c.title,"
                " c.text_hash FROM part.chunks c JOIN row_map m ON m.old = c.row"
            )
            tables = {r[0] for r in db.execute("SELECT name FROM part.sqlite_master WHERE type = 'table'")}
            for table in ("regions", "page_images") if "regions" in tables else ():  # older segments have neither
                db.execute(
                    f"INSERT INTO {table} SELECT * FROM part.{table} WHERE page_id NOT IN (SELECT page_id FROM gone)"
                )
            db.commit()
            db.execute("DETACH DATABASE part")
        db.commit()
    finally:
        db.close()
