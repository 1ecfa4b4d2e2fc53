"""Composing a new version from segments: the live ones (with the pages deleted from them), the new
ones a build wrote, merges where a size tier is full, and the counts ``meta.json`` records.

A version's ``meta.json`` says, besides the embedder and chunking::

    "segments": [{"name": "s000001", "rows": 20113}, {"name": "s000004", "rows": 512}],
    "deleted": {"s000001": ["/archive/2025-07-28/01.txt"]},   # pages replaced or removed since written
    "counts": {"papers": 1, "issues": 2, "pages": 4, "articles": 12, "chunks": 20571}
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from qa.store.folder.layout import DB, SEGMENTS, next_segment
from qa.store.folder.merge import merge_segments, pick_merges
from qa.store.folder.segment import Segment
from qa.store.folder.writer import in_parts, read_rows, read_rows_in
from qa.store.plan import Live, source_articles

MERGE_MODES = ("new", "all", "none")


def carry_pages(live: Live, page_ids: list[str], batcher) -> None:
    """Hand live pages (with their articles, not segmented again) to ``batcher`` to be chunked anew."""
    wanted = set(page_ids)
    for src in live.sources:
        ids = [
            r["page_id"]
            for r in read_rows(src.folder / DB, "SELECT page_id FROM pages")
            if r["page_id"] in wanted and r["page_id"] not in src.deleted
        ]
        for part in in_parts(ids):
            arts, geometry = source_articles(src, part), _geometry(src.folder / DB, part)
            for rec in read_rows_in(src.folder / DB, "SELECT * FROM pages WHERE page_id IN ({})", part):
                batcher.add({**dict(rec), "_geometry": geometry.get(rec["page_id"])}, arts.get(rec["page_id"], []))
            wanted -= set(part)


def _geometry(db_path: Path, page_ids: list[str]) -> dict[str, tuple[dict, list[dict]]]:
    """page id -> (its ``page_images`` row, its ``regions`` rows), for the pages that have an image."""
    if not read_rows(db_path, "SELECT name FROM sqlite_master WHERE name = 'page_images'"):
        return {}  # a segment written before page images
    images = read_rows_in(db_path, "SELECT * FROM page_images WHERE page_id IN ({})", page_ids)
    out = {r["page_id"]: (dict(r), []) for r in images}
    for r in read_rows_in(db_path, "SELECT * FROM regions WHERE page_id IN ({}) ORDER BY rowid", page_ids):
        if r["page_id"] in out:
            out[r["page_id"]][1].append(dict(r))
    return out


def compose_version(
    index_dir: Path,
    live: Live,
    redo: bool,
    deleted_now: dict[str, str],
    new: list[dict],
    log: Callable[[str], None],
    dense_threshold: int | None = None,
    merge: str = "new",
) -> tuple[dict, int]:
    """The new version's meta (segments, deleted pages, counts…) and how many rows it keeps from the live one.

    ``deleted_now``: live pages this version replaces or removes -> the segment holding each. ``merge``
    (see :data:`MERGE_MODES`): ``"new"`` merges only the segments this build wrote (a bulk build's batches),
    never a live one, so a daily add costs what its issue costs; ``"all"`` also merges full tiers of live
    segments; ``"none"`` merges nothing. Full tiers left are merged by ``qa merge`` or ``qa serve``."""
    names: list[str] = []
    deleted: dict[str, set[str]] = {}
    if not redo and live.meta and "segments" in live.meta:
        for s in live.meta["segments"]:
            names.append(s["name"])
            deleted[s["name"]] = set(live.meta.get("deleted", {}).get(s["name"], []))
        for pid, seg in deleted_now.items():
            deleted[seg].add(pid)
    names += [info["name"] for info in new]
    new_names = {info["name"] for info in new}
    segments = {n: Segment(index_dir / SEGMENTS / n, frozenset(deleted.get(n, ()))) for n in names}
    try:
        kept_rows = sum(_live_rows(segments[n]) for n in names if n not in new_names)
        names = [n for n in names if _live_pages(segments[n])]  # wholly deleted: dropped
        if merge == "all":
            names = _merge(index_dir, names, segments, log, dense_threshold)
        elif merge == "new":
            old = [n for n in names if n not in new_names]
            names = old + _merge(index_dir, [n for n in names if n in new_names], segments, log, dense_threshold)
        meta = version_meta(names, segments)
    finally:
        for seg in segments.values():
            seg.close()
    return meta, kept_rows


def _live_rows(seg: Segment) -> int:
    return seg.rows if seg.live is None else int(seg.live.sum())


def _live_pages(seg: Segment) -> int:
    gone = seg.query_in("SELECT COUNT(*) FROM pages WHERE page_id IN ({})", sorted(seg.deleted_pages))
    return int(seg.info["pages"]) - sum(r[0] for r in gone)


def _live_issues(seg: Segment) -> set[tuple[str, str]]:
    """(paper, date) of the issues with a live page here: per-issue page counts less the deleted pages."""
    count = {
        (r[0], r[1]): r[2] for r in seg.db().execute("SELECT paper, date, COUNT(*) FROM pages GROUP BY paper, date")
    }
    for r in seg.query_in("SELECT paper, date FROM pages WHERE page_id IN ({})", sorted(seg.deleted_pages)):
        count[(r[0], r[1])] -= 1
    return {issue for issue, n in count.items() if n > 0}


def _merge(
    index_dir: Path,
    names: list[str],
    segments: dict[str, Segment],
    log: Callable[[str], None],
    dense_threshold: int | None,
) -> list[str]:
    """Merge groups chosen by ``pick_merges`` until none is left; the merged segment takes the group's place."""
    while True:
        groups = pick_merges([(n, segments[n].rows, _live_rows(segments[n])) for n in names])
        if not groups:
            return names
        for group in groups:
            parts = [segments[n] for n in group]
            info = merge_segments(next_segment(index_dir, set(segments)), parts, dense_threshold)
            log(f"合并 {len(group)} 个分段为 {info['name']}（{info['rows']} 个段落）。")
            segments[info["name"]] = Segment(index_dir / SEGMENTS / info["name"])
            at = names.index(group[0])
            names = [n for n in names if n not in group]
            names.insert(min(at, len(names)), info["name"])


def merge_mode(merge: bool | str) -> str:
    """``True`` (the old flag) is ``"all"``, ``False`` is ``"none"``; otherwise one of :data:`MERGE_MODES`."""
    mode = {True: "all", False: "none"}.get(merge, merge) if isinstance(merge, bool) else merge
    if mode not in MERGE_MODES:
        raise ValueError(f"merge must be one of {MERGE_MODES}, got {merge!r}")
    return mode


def pending_merges(meta: dict) -> list[list[str]]:
    """Groups of the version's segments that a merge would take now (``qa merge``, ``qa serve``)."""
    return pick_merges([(s["name"], s["rows"], s.get("live", s["rows"])) for s in meta.get("segments", [])])


def version_meta(names: list[str], segments: dict[str, Segment]) -> dict:
    issues, papers, pages, articles, chunks, periods = set(), set(), 0, 0, 0, 0
    types: dict[str, int] = {}
    for n in names:
        seg = segments[n]
        live_issues = _live_issues(seg)  # grouped in SQLite: one row per issue, not per page
        issues |= live_issues
        papers |= {paper for paper, _ in live_issues}
        pages += _live_pages(seg)
        gone = seg.query_in("SELECT COUNT(*) FROM articles WHERE page_id IN ({})", sorted(seg.deleted_pages))
        articles += seg.info["articles"] - sum(r[0] for r in gone)
        chunks += _live_rows(seg)
        periods += seg.info["periods"]
        kind = seg.info["dense"]["type"]
        types[kind] = types.get(kind, 0) + 1
    largest = max(names, key=lambda n: segments[n].rows, default=None)
    return {
        "segments": [{"name": n, "rows": segments[n].rows, "live": _live_rows(segments[n])} for n in names],
        "deleted": {n: sorted(segments[n].deleted_pages) for n in names if segments[n].deleted_pages},
        "papers": sorted(papers),
        "vector_index": {"type": segments[largest].info["dense"]["type"] if largest else "flat", "segments": types},
        "bm25": {"library": "qa.store.folder.bm25", "method": "lucene", "k1": 1.2, "b": 0.75},
        "periods": periods,
        "counts": {
            "papers": len(papers),
            "issues": len(issues),
            "pages": pages,
            "articles": articles,
            "chunks": chunks,
        },
    }
