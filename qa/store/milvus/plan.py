"""What a Milvus build does, decided from the live collection's own page fingerprints: each page read
now is new, changed or unchanged by the same content hash the folder build compares
(``qa.store.plan.page_hash``), and live pages under a given PATH that were not read are removed.

Only new and changed pages are chunked and written; the rows of changed and removed pages are
retired. A build that must write a new collection (first build, ``--rebuild``, a new model or
chunk settings, the FLAT index outgrown) takes every kept page back from the records collection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from qa.store.milvus.client import BATCH, query_all, quote, records_name
from qa.store.plan import PagePlan, page_hash, page_record, segment_articles, stored_article, under_roots
from qa.types import Article, Page

FINGERPRINT = ["page_id", "content_hash", "root", "paper", "date", "articles", "row_lo", "row_hi"]


@dataclass
class Change:
    """New and changed pages with their articles (``plan.records``, in index order), the live pages
    this version drops (changed or removed), and the live pages it keeps as they are, by page id."""

    plan: PagePlan = field(default_factory=PagePlan)
    retire: list[str] = field(default_factory=list)
    kept: dict[str, dict] = field(default_factory=dict)

    def retired_rows(self, old: dict[str, dict]) -> int:
        return sum(chunks_of(old[pid]) for pid in self.retire)


def chunks_of(page: dict) -> int:
    """Number of chunk rows of a page fingerprint (``row_lo..row_hi``, empty when -1..-2)."""
    return max(0, int(page["row_hi"]) - int(page["row_lo"]) + 1)


def fingerprints(client, collection: str, where: str) -> dict[str, dict]:
    """The live version's pages (``FINGERPRINT`` fields, no texts), by page id."""
    records = records_name(collection)
    client.load_collection(records)
    return {r["page_id"]: r for r in query_all(client, records, f'kind == "page" and {where}', FINGERPRINT)}


def judge(pages: list[Page], roots: list[str], old: dict[str, dict], log: Callable[[str], None]) -> Change:
    """Compare the pages read now with the live ones (as the folder build's ``Build.page`` does)."""
    roots = [os.path.abspath(r) for r in roots]
    by_id = {p.page_id: p for p in pages}  # a later duplicate replaces an earlier one
    change = Change()
    for pid, p in by_id.items():
        digest = page_hash(p)
        live = old.get(pid)
        if live is not None and live["content_hash"] == digest:
            continue
        if live is None:
            change.plan.added += 1
        else:
            change.plan.changed += 1
            change.retire.append(pid)
        change.plan.records.append((page_record(p, digest), segment_articles(p, log)))
    for pid, live in old.items():
        if pid not in by_id and under_roots(pid, live["root"] or "", roots):
            change.plan.removed += 1
            change.retire.append(pid)
    gone = set(change.retire)
    change.kept = {pid: live for pid, live in old.items() if pid not in gone}
    _sort(change.plan)
    return change


def whole(change: Change, client, collection: str, where: str) -> PagePlan:
    """Every page of the new version with its articles: the kept ones read back from the records
    collection (no new segmentation), plus the new and changed ones."""
    records = records_name(collection)
    ids = list(change.kept)
    docs: list[dict] = []
    arts: dict[str, list[Article]] = {}
    for start in range(0, len(ids), BATCH):
        part = f"page_id in [{','.join(quote(p) for p in ids[start : start + BATCH])}] and {where}"
        docs += [r["doc"] for r in query_all(client, records, f'kind == "page" and {part}', ["doc"])]
        found = query_all(client, records, f'kind == "article" and {part}', ["doc"])
        for a in sorted((r["doc"] for r in found), key=lambda a: (a["page_id"], a["ordinal"])):
            arts.setdefault(a["page_id"], []).append(stored_article(a))
    plan = PagePlan(
        records=[(d, arts.get(d["page_id"], [])) for d in docs] + change.plan.records,
        added=change.plan.added,
        changed=change.plan.changed,
        removed=change.plan.removed,
    )
    _sort(plan)
    return plan


def _sort(plan: PagePlan) -> None:
    plan.records.sort(key=lambda ra: (ra[0]["date"], ra[0]["paper"], ra[0]["page"] or 0, ra[0]["page_id"]))


def vectors_by_hash(client, collection: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """Stored vectors of a collection's chunks with these text hashes (absent ones left out): texts the
    vector cache lacks (built elsewhere, or before the cache) are not embedded again."""
    client.load_collection(collection)
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(hashes), BATCH):
        part = hashes[start : start + BATCH]
        expr = f"text_hash in [{','.join(quote(h) for h in part)}]"
        for r in client.query(collection, filter=expr, output_fields=["text_hash", "vector"]):
            found[r["text_hash"]] = np.asarray(r["vector"], dtype=np.float32)
    return found
