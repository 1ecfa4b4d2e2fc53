"""The build steps for a Milvus target: plan -> chunk -> reuse or embed -> write -> publish (alias) -> clean up.

Planning is ``qa.store.plan``'s, unchanged: the live version's pages and articles are laid out in a
scratch folder as the embedded index's files (``milvus_writer.export_live``). Vectors of unchanged
texts are read back from the live collection by text hash. Each version is a new collection; the
alias switch publishes it atomically; the live and the previous version are kept.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from qa.embed import Embedder, embed_passages
from qa.ingest.chunk import ChunkSettings
from qa.store.folder.layout import print_to_stderr
from qa.store.location import MilvusTarget
from qa.store.milvus.client import check_free, chunks_name, cleanup, connect, live_collection, next_version, publish
from qa.store.milvus.writer import BM25_PARAMS, HNSW_THRESHOLD, export_live, vectors_by_hash, write_version
from qa.store.plan import BuildReport, ChunkRows, Live, chunk_rows, decide
from qa.types import Page, Skipped


def build_milvus(
    pages: list[Page],
    roots: list[str],
    target: MilvusTarget,
    *,
    skipped: list[Skipped],
    rebuild: bool = False,
    model: str | None = None,
    embedder: Embedder | None = None,
    settings: ChunkSettings | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] = print_to_stderr,
    hnsw_threshold: int = HNSW_THRESHOLD,
    device: str | None = None,
):
    """Build and publish a new version of ``target`` from ``pages`` (see ``qa.store.build.build_pages``)."""

    started = time.monotonic()
    client = connect(target)
    cleanup(target, client, log)  # leftovers of a crashed build
    live_name = live_collection(target)
    with tempfile.TemporaryDirectory(prefix="qa-milvus-plan-") as scratch:
        if live_name:
            export_live(client, live_name, Path(scratch))
        live, plan, kept = decide(
            pages,
            roots,
            Path(scratch),
            skipped=skipped,
            started=started,
            log=log,
            rebuild=rebuild,
            model=model,
            embedder=embedder,
            settings=settings,
            device=device,
        )
        if kept is not None:
            return kept
        rows = chunk_rows(plan, live.settings)
    vectors, embedded, reused = reuse_or_embed(rows, live, client, live_name if live.folder else None, progress, log)
    version = next_version(target, client)
    check_free(target, client, version)
    collection = chunks_name(target, version)
    counts = _counts(rows)
    meta = {
        "version": version,
        "backend": "milvus",
        "embedder": {"name": live.embedder.name, "dim": int(live.embedder.dim)},
        "built_at": dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "chunking": live.settings.to_json(),
        "papers": sorted({p["paper"] for p in rows.pages}),
        "counts": counts,
        "bm25": {"library": "milvus", "k1": BM25_PARAMS["bm25_k1"], "b": BM25_PARAMS["bm25_b"], "analyzer": "jieba"},
        "roots": sorted({r["root"] for r in rows.pages if r["root"]}),
    }
    write_version(client, collection, vectors=vectors, rows=rows, meta=meta, hnsw_threshold=hnsw_threshold)
    publish(target, client, collection)
    cleanup(target, client, log)
    log(
        f"已发布索引版本 {version}（Milvus {target.uri}）：{counts['pages']} 版，{counts['articles']} 篇文章，"
        f"{counts['chunks']} 个段落；新嵌入 {embedded} 个，复用 {reused} 个；"
        f"新增 {plan.added} 版，更新 {plan.changed} 版，移除 {plan.removed} 版。"
    )
    return BuildReport(
        version,
        counts["pages"],
        counts["articles"],
        counts["chunks"],
        embedded,
        reused,
        plan.added,
        plan.changed,
        plan.removed,
        skipped,
        live.reason,
        True,
        time.monotonic() - started,
    )


def reuse_or_embed(
    rows: ChunkRows, live: Live, client, live_name: str | None, progress: bool | None, log: Callable[[str], None]
) -> tuple[np.ndarray, int, int]:
    """Vectors for every chunk row: the live collection's for unchanged texts, the embedder's for new ones.

    Returns (vectors, number embedded now, number reused); identical texts embed once.
    """
    old: dict[str, np.ndarray] = {}
    if live_name and not live.model_changed:
        old = vectors_by_hash(client, live_name, sorted({c["text_hash"] for c in rows.chunks}))
    vectors = np.zeros((len(rows.chunks), live.embedder.dim), dtype=np.float32)
    todo: dict[str, list[int]] = {}  # embedded text -> rows needing it
    reused = 0
    for i, c in enumerate(rows.chunks):
        v = old.get(c["text_hash"])
        if v is not None:
            vectors[i] = v
            reused += 1
        else:
            todo.setdefault(rows.texts[i], []).append(i)
    if todo:
        log(f"向量化 {len(todo)} 个新段落，复用 {reused} 个。")
        for v, where in zip(embed_passages(live.embedder, list(todo), progress=progress), todo.values()):
            vectors[where] = v
    return vectors, len(todo), reused


def _counts(rows: ChunkRows) -> dict:
    papers = {p["paper"] for p in rows.pages}
    return {
        "papers": len(papers),
        "issues": len({(p["paper"], p["date"]) for p in rows.pages}),
        "pages": len(rows.pages),
        "articles": len(rows.articles),
        "chunks": len(rows.chunks),
    }
