"""Versions in Milvus: which collection is live (the alias), which version of it is published (its
newest ``g:`` record), undoing a killed build's writes, and dropping what no kept version needs.

Readers see version g through the filter ``born <= g and died > g`` (``client.visible``). A build of
version G inserts rows with born = G (no reader of g < G sees them) and sets died = G on the rows
it replaces (still alive for g < G); it publishes by inserting ``g:vG`` last. The live version and
the one before it stay readable: rows are physically deleted once no kept version has them.

>>> version_name(7), gen_of("v000007")
('v000007', 7)
"""

from __future__ import annotations

import re
from typing import Callable

from qa.store.location import MilvusTarget
from qa.store.milvus.client import (
    ALIVE,
    BATCH,
    GEN_PREFIX,
    META_KEY,
    RECORDS_SUFFIX,
    chunks_name,
    connect,
    query_all,
    quote,
    records_name,
)


def version_name(gen: int) -> str:
    return f"v{gen:06d}"


def gen_of(version: str) -> int:
    return int(version[1:])


def live_collection(target: MilvusTarget) -> str | None:
    """The collection the alias points at, or None when no version was published yet."""
    client = connect(target, create=False)
    if target.alias not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(target.alias)["collection_name"]


def newest_meta(client, collection: str) -> dict | None:
    """Meta of the newest published version in ``collection`` (format 2: its one ``meta`` record), or None."""
    records = records_name(collection)
    if not client.has_collection(records):
        return None
    client.load_collection(records)
    # Keys and documents in one query: asking for the newest key's document afterwards raced a build that
    # replaced that record in between (an empty answer, seen as a failed reload in a server polling here).
    rows = query_all(client, records, f'key like "{GEN_PREFIX}%" or key == "{META_KEY}"', ["key", "doc"])
    return max(rows, key=lambda r: r["key"])["doc"] if rows else None


def live_version(target: MilvusTarget) -> str | None:
    """Name of the live version (``v000007``), or None; cheap, polled by every replica."""
    collection = live_collection(target)
    if collection is None:
        return None
    meta = newest_meta(connect(target), collection)
    return meta["version"] if meta else None


def _collections(target: MilvusTarget, client) -> list[str]:
    """This target's chunk collections (``qa_v000001``), oldest first."""
    pattern = re.compile(re.escape(target.prefix) + r"_v\d{6}")
    return sorted(n for n in client.list_collections() if pattern.fullmatch(n))


def next_gen(target: MilvusTarget, client, live_meta: dict | None) -> int:
    """One more than the live version and than any collection's name (a number is never reused)."""
    names = [int(n[len(target.prefix) + 2 :]) for n in _collections(target, client)]
    return max([gen_of(live_meta["version"]) if live_meta else 0, *names]) + 1


def switch_alias(target: MilvusTarget, client, collection: str) -> None:
    """Point the alias at ``collection`` in one Milvus call: every reader sees the old or the new pair."""
    if target.alias in client.list_aliases().get("aliases", []):
        client.alter_alias(collection_name=collection, alias=target.alias)
    else:
        client.create_alias(collection_name=collection, alias=target.alias)


def cleanup(target: MilvusTarget, client, log: Callable[[str], None]) -> None:
    """Keep the live collection pair and the newest published one before it; drop the others
    (a killed build's unpublished pair, pairs older than the previous one)."""
    live = live_collection(target)
    names = _collections(target, client)
    older = [n for n in names if live is None or n < live]
    previous = next((n for n in reversed(older) if newest_meta(client, n) is not None), None)
    for name in names:
        if name in (live, previous):
            continue
        if newest_meta(client, name) is None:
            log(f"清理未完成的索引版本 {name[len(target.prefix) + 1 :]}")
        client.drop_collection(name)
        if client.has_collection(name + RECORDS_SUFFIX):
            client.drop_collection(name + RECORDS_SUFFIX)


def _set_died(client, collection: str, key: str, keys: list, died: int) -> None:
    """Partial upserts: only ``died`` changes, the rows' other fields (vectors included) stay as stored."""
    for start in range(0, len(keys), BATCH):
        client.upsert(collection, [{key: k, "died": died} for k in keys[start : start + BATCH]], partial_update=True)


def retire(client, collection: str, page_ids: list[str], gen: int) -> int:
    """Version ``gen`` no longer has these pages: their chunk rows, page and article records get died = gen.

    Returns the number of chunk rows retired."""
    if not page_ids:
        return 0
    rows: list[int] = []
    keys: list[str] = []
    for start in range(0, len(page_ids), BATCH):
        ids = ",".join(quote(p) for p in page_ids[start : start + BATCH])
        where = f"page_id in [{ids}] and born < {gen} and died == {ALIVE}"  # not the page's new rows
        rows += [r["row"] for r in query_all(client, collection, where, ["row"])]
        keys += [r["key"] for r in query_all(client, records_name(collection), where, ["key"])]
    _set_died(client, collection, "row", rows, gen)
    _set_died(client, records_name(collection), "key", keys, gen)
    return len(rows)


def recover(client, collection: str, live_gen: int, log: Callable[[str], None]) -> None:
    """Undo what a killed build wrote after version ``live_gen``: its rows go, the rows it retired live again."""
    for name, key in ((collection, "row"), (records_name(collection), "key")):
        client.load_collection(name)
        born = query_all(client, name, f"born > {live_gen}", [key])
        died = [r[key] for r in query_all(client, name, f"died > {live_gen} and died < {ALIVE}", [key])]
        if born or died:
            log(f"撤销一次未完成的发布在 {name} 中的 {len(born)} 行新增、{len(died)} 行删除")
        if born:
            client.delete(name, filter=f"born > {live_gen}")
        _set_died(client, name, key, died, ALIVE)


def collect(client, collection: str, gen: int) -> None:
    """After publishing ``gen``: delete the rows that neither it nor the version before it has, and
    the ``g:`` records of older versions (replicas read the newest one every second)."""
    older = f'died <= {gen - 1} or (kind == "gen" and born < {gen - 1})'
    for name, key, where in ((collection, "row", f"died <= {gen - 1}"), (records_name(collection), "key", older)):
        gone = [r[key] for r in query_all(client, name, where, [key])]
        if gone:  # by primary key: the deletes name exactly the rows that went
            client.delete(name, ids=gone)


__all__ = ["chunks_name", "cleanup", "collect", "live_version", "recover", "retire", "switch_alias"]
