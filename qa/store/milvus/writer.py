"""Writing into Milvus (names and schemas in ``qa.store.milvus.client``): creating a collection pair,
inserting the chunk rows and the page/article records of one version, and the record that publishes it.

>>> row_ranges([{"page_id": "a"}, {"page_id": "a"}, {"page_id": "b"}], first=10)
{'a': (10, 11), 'b': (12, 12)}
"""

from __future__ import annotations

import numpy as np

from qa.store.milvus.client import (
    ALIVE,
    BATCH,
    GEN_PREFIX,
    MILVUS_FORMAT_VERSION,
    chunk_schema,
    records_name,
    records_schema,
)
from qa.store.plan import ChunkRows
from qa.text.chinese import date_number

BM25_PARAMS = {"bm25_k1": 1.2, "bm25_b": 0.75}  # the same k1 and b as the embedded index's BM25
HNSW_THRESHOLD = 200_000  # Milvus indexes FLAT below this many chunks, HNSW above
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def row_ranges(chunks: list[dict], first: int = 0) -> dict[str, tuple[int, int]]:
    """First and last row of each page's chunks (a page's chunks are consecutive rows from ``first``)."""
    out: dict[str, tuple[int, int]] = {}
    for i, c in enumerate(chunks, start=first):
        lo = out.get(c["page_id"], (i, i))[0]
        out[c["page_id"]] = (lo, i)
    return out


def index_info(hnsw: bool, hnsw_threshold: int) -> dict:
    """What a version's meta records about the collection's vector index."""
    return {
        "type": "HNSW" if hnsw else "FLAT",
        "metric": "inner_product",
        "hnsw_threshold": hnsw_threshold,
        **({"hnsw_m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION} if hnsw else {}),
    }


def create_pair(client, collection: str, dim: int, hnsw: bool) -> None:
    """A new chunk collection (FLAT or HNSW, inner product; BM25 over the jieba analyzer) and its records one."""
    ix = client.prepare_index_params()
    if hnsw:
        ix.add_index(
            field_name="vector",
            index_type="HNSW",
            metric_type="IP",
            params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
        )
    else:
        ix.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    ix.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
    client.create_collection(collection, schema=chunk_schema(dim), index_params=ix, consistency_level="Strong")
    rix = client.prepare_index_params()
    rix.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    client.create_collection(
        records_name(collection), schema=records_schema(), index_params=rix, consistency_level="Strong"
    )


def write_rows(client, collection: str, *, vectors: np.ndarray, rows: ChunkRows, first: int, gen: int) -> None:
    """Insert ``rows`` as version ``gen``'s new chunks (rows ``first``…) and its new page and article records."""
    n = len(rows.chunks)
    page_by_id = {p["page_id"]: p for p in rows.pages}
    for start in range(0, n, BATCH):
        batch = [
            _chunk_entity(i, first + i, rows, page_by_id, vectors[i], gen) for i in range(start, min(n, start + BATCH))
        ]
        client.insert(collection, batch)
    _insert_records(client, records_name(collection), rows, first, gen)


def publish_version(client, collection: str, meta: dict) -> None:
    """Flush, then insert the ``g:`` record: from this one insert on, readers open the new version."""
    records = records_name(collection)
    client.flush(collection)
    client.flush(records)
    gen = int(meta["version"][1:])
    doc = {"format_version": MILVUS_FORMAT_VERSION, **meta}
    client.insert(records, [_record(GEN_PREFIX + meta["version"], "gen", gen, doc=doc)])
    client.flush(records)


def lock_record(key: str, doc: dict) -> dict:
    """The build lease's record (``qa.store.milvus.lease``): no page, in no version's rows."""
    return _record(key, "lock", 0, doc=doc)


def _chunk_entity(i: int, row: int, rows: ChunkRows, page_by_id: dict, vector: np.ndarray, gen: int) -> dict:
    c = rows.chunks[i]
    p = page_by_id[c["page_id"]]
    try:
        date = date_number(p["date"])
    except ValueError:
        date = 0  # a malformed date sorts first instead of failing the build (as in the embedded index)
    return {
        "row": row,
        "vector": vector.astype(np.float32).tolist(),
        "bm25_text": rows.texts[i],
        "date": date,
        "page": -1 if p["page"] is None else int(p["page"]),
        "paper": p["paper"],
        "iso_date": p["date"],
        "chunk_id": c["chunk_id"],
        "article_id": c["article_id"],
        "page_id": c["page_id"],
        "source": p["source"] or "",
        "text_hash": c["text_hash"],
        "text": c["text"],
        "title": c["title"],
        "page_name": p["page_name"],
        "issue_no": p["issue_no"],
        "born": gen,
        "died": ALIVE,
    }


def _record(
    key: str,
    kind: str,
    gen: int,
    *,
    page: dict | None = None,
    ordinal: int = 0,
    rows: tuple[int, int] = (-1, -2),
    articles: int = 0,
    doc: dict,
) -> dict:
    page = page or {}
    return {
        "key": key,
        "kind": kind,
        "page_id": page.get("page_id", ""),
        "paper": page.get("paper", ""),
        "date": page.get("date", ""),
        "page": -1 if page.get("page") is None else int(page["page"]),
        "ordinal": ordinal,
        "row_lo": rows[0],
        "row_hi": rows[1],
        "articles": articles,
        "page_name": page.get("page_name"),
        "issue_no": page.get("issue_no"),
        "content_hash": page.get("content_hash") or "",
        "root": page.get("root") or "",
        "doc": doc,
        "unused": [0.0, 0.0],
        "born": gen,
        "died": ALIVE,
    }


def _insert_records(client, records: str, rows: ChunkRows, first: int, gen: int) -> None:
    """Page and article records; keys end in ``@gen`` so that a page's new records sit beside its old ones."""
    ranges = row_ranges(rows.chunks, first)
    n_articles: dict[str, int] = {}
    for a in rows.articles:
        n_articles[a["page_id"]] = n_articles.get(a["page_id"], 0) + 1
    entities = [
        _record(
            f"p:{p['page_id']}@{gen}",
            "page",
            gen,
            page=p,
            rows=ranges.get(p["page_id"], (-1, -2)),
            articles=n_articles.get(p["page_id"], 0),
            doc={k: v for k, v in p.items() if not k.startswith("_")},
        )
        for p in rows.pages
    ]
    page_by_id = {p["page_id"]: p for p in rows.pages}
    entities += [
        _record(
            f"a:{a['page_id']}#{a['ordinal']}@{gen}",
            "article",
            gen,
            page=page_by_id[a["page_id"]],
            ordinal=a["ordinal"],
            doc=a,
        )
        for a in rows.articles
    ]
    for start in range(0, len(entities), BATCH):
        client.insert(records, entities[start : start + BATCH])


__all__ = ["create_pair", "index_info", "lock_record", "publish_version", "row_ranges", "write_rows"]
