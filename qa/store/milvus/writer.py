"""Writing one index version into Milvus (names and schemas in ``qa.store.milvus.client``), and reading
back what an incremental build needs from the live version: its pages and articles, and the vectors
of unchanged texts by text hash.

>>> row_ranges([{"page_id": "a"}, {"page_id": "a"}, {"page_id": "b"}])
{'a': (0, 1), 'b': (2, 2)}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qa.text.chinese import date_number
from qa.store.folder.layout import CURRENT, DB, META, MILVUS_FORMAT_VERSION
from qa.store.milvus.client import (BATCH, META_KEY, chunk_schema, chunks_name, query_all, quote, records_name,
                           records_schema)
from qa.store.plan import ChunkRows
from qa.store.folder.writer import write_sqlite

BM25_PARAMS = {"bm25_k1": 1.2, "bm25_b": 0.75}  # the same k1 and b as the embedded index's BM25
HNSW_THRESHOLD = 200_000  # Milvus indexes FLAT below this many chunks, HNSW above
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def row_ranges(chunks: list[dict]) -> dict[str, tuple[int, int]]:
    """First and last row of each page's chunks (a page's chunks are consecutive rows)."""
    out: dict[str, tuple[int, int]] = {}
    for i, c in enumerate(chunks):
        lo = out.get(c["page_id"], (i, i))[0]
        out[c["page_id"]] = (lo, i)
    return out


def write_version(client, collection: str, *, vectors: np.ndarray, rows: ChunkRows, meta: dict,
                  hnsw_threshold: int = HNSW_THRESHOLD) -> dict:
    """Create and fill ``collection`` and its records collection; the meta record goes in last.

    Returns what the version's meta records about the vector index.
    """
    n, dim = len(rows.chunks), int(vectors.shape[1])
    ix = client.prepare_index_params()
    hnsw = n >= hnsw_threshold
    if hnsw:
        ix.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                     params={"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION})
    else:
        ix.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    ix.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
    client.create_collection(collection, schema=chunk_schema(dim), index_params=ix, consistency_level="Strong")
    page_by_id = {p["page_id"]: p for p in rows.pages}
    for start in range(0, n, BATCH):
        batch = [_chunk_entity(i, rows, page_by_id, vectors[i]) for i in range(start, min(n, start + BATCH))]
        client.insert(collection, batch)
    client.flush(collection)
    records = records_name(collection)
    rix = client.prepare_index_params()
    rix.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    client.create_collection(records, schema=records_schema(), index_params=rix, consistency_level="Strong")
    _insert_records(client, records, rows)
    info = {"type": "HNSW" if hnsw else "FLAT", "metric": "inner_product", "hnsw_threshold": hnsw_threshold,
            **({"hnsw_m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION} if hnsw else {})}
    meta = {"format_version": MILVUS_FORMAT_VERSION, **meta, "vector_index": info}
    client.insert(records, [_record(META_KEY, "meta", doc=meta)])
    client.flush(records)
    return info


def _chunk_entity(i: int, rows: ChunkRows, page_by_id: dict, vector: np.ndarray) -> dict:
    c = rows.chunks[i]
    p = page_by_id[c["page_id"]]
    try:
        date = date_number(p["date"])
    except ValueError:
        date = 0  # a malformed date sorts first instead of failing the build (as in the embedded index)
    return {"row": i, "vector": vector.astype(np.float32).tolist(), "bm25_text": rows.texts[i], "date": date,
            "page": -1 if p["page"] is None else int(p["page"]), "paper": p["paper"], "iso_date": p["date"],
            "chunk_id": c["chunk_id"], "article_id": c["article_id"], "page_id": c["page_id"], "source": p["source"] or "",
            "text_hash": c["text_hash"], "text": c["text"], "title": c["title"], "page_name": p["page_name"],
            "issue_no": p["issue_no"]}


def _record(key: str, kind: str, *, page: dict | None = None, ordinal: int = 0, rows: tuple[int, int] = (-1, -2),
            articles: int = 0, doc: dict) -> dict:
    page = page or {}
    return {"key": key, "kind": kind, "page_id": page.get("page_id", ""), "paper": page.get("paper", ""),
            "date": page.get("date", ""), "page": -1 if page.get("page") is None else int(page["page"]),
            "ordinal": ordinal, "row_lo": rows[0], "row_hi": rows[1], "articles": articles,
            "page_name": page.get("page_name"), "issue_no": page.get("issue_no"), "doc": doc,
            "unused": [0.0, 0.0]}


def _insert_records(client, records: str, rows: ChunkRows) -> None:
    ranges = row_ranges(rows.chunks)
    n_articles: dict[str, int] = {}
    for a in rows.articles:
        n_articles[a["page_id"]] = n_articles.get(a["page_id"], 0) + 1
    entities = [_record("p:" + p["page_id"], "page", page=p, rows=ranges.get(p["page_id"], (-1, -2)),
                        articles=n_articles.get(p["page_id"], 0),
                        doc={k: v for k, v in p.items() if not k.startswith("_")}) for p in rows.pages]
    page_by_id = {p["page_id"]: p for p in rows.pages}
    entities += [_record(f"a:{a['page_id']}#{a['ordinal']}", "article", page=page_by_id[a["page_id"]],
                         ordinal=a["ordinal"], doc=a) for a in rows.articles]
    for start in range(0, len(entities), BATCH):
        client.insert(records, entities[start:start + BATCH])


def export_live(client, collection: str, scratch: Path) -> None:
    """Lay the live version out as the embedded index's folder (CURRENT, meta.json, pages and articles
    in meta.sqlite) so that ``qa.store.plan`` plans a Milvus build exactly as it plans a folder build."""
    records = records_name(collection)
    client.load_collection(records)
    meta = client.query(records, filter=f'key == "{META_KEY}"', output_fields=["doc"])[0]["doc"]
    version = meta["version"]
    folder = scratch / version
    folder.mkdir(parents=True)
    pages = [r["doc"] for r in query_all(client, records, 'kind == "page"', ["doc"])]
    articles = sorted((r["doc"] for r in query_all(client, records, 'kind == "article"', ["doc"])),
                      key=lambda a: (a["page_id"], a["ordinal"]))
    write_sqlite(folder / DB, pages, articles, [])
    (folder / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    (scratch / CURRENT).write_text(version + "\n", encoding="utf-8")


def vectors_by_hash(client, collection: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """Stored vectors of the live version's chunks with these text hashes (absent ones left out)."""
    client.load_collection(collection)
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(hashes), BATCH):
        part = hashes[start:start + BATCH]
        expr = f"text_hash in [{','.join(quote(h) for h in part)}]"
        for r in client.query(collection, filter=expr, output_fields=["text_hash", "vector"]):
            found[r["text_hash"]] = np.asarray(r["vector"], dtype=np.float32)
    return found


__all__ = ["chunks_name", "export_live", "row_ranges", "vectors_by_hash", "write_version"]
