"""The build steps for a Milvus target: the archive team's corrections applied to the pages read (the
overlay in the target's local folder, ``qa.store.location.local_folder``) -> recover -> plan from the
live fingerprints -> chunk -> vectors
from the cache -> write only what changed -> publish (one ``g:`` record) -> drop what no kept version has.

A daily add inserts the new pages' chunk rows and records as version G and sets died = G on the rows
of changed and removed pages; nothing else is written. A first build, ``--rebuild``, a new model or
new chunk settings, or a FLAT collection outgrowing ``hnsw_threshold`` writes a new collection pair
instead and switches the alias to it. Vectors come through the vector cache (``qa.embed.cache``),
seeded from the live collection for texts it lacks: an unchanged text is never embedded twice.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from qa.embed.cache import VectorCache
from qa.ingest.chunk import ChunkSettings
from qa.store.folder.layout import print_to_stderr
from qa.store.location import MilvusTarget, local_folder
from qa.store.milvus.client import MILVUS_FORMAT_VERSION, chunks_name, connect, visible
from qa.store.milvus.lease import build_lease
from qa.store.milvus.plan import Change, chunks_of, fingerprints, judge, vectors_by_hash, whole
from qa.store.milvus.versions import (
    cleanup,
    collect,
    gen_of,
    live_collection,
    newest_meta,
    next_gen,
    recover,
    retire,
    switch_alias,
    version_name,
)
from qa.store.milvus.writer import BM25_PARAMS, HNSW_THRESHOLD, create_pair, index_info, publish_version, write_rows
from qa.store.overlay import corrected
from qa.store.overlay import load as load_corrections
from qa.store.plan import BuildReport, ChunkRows, Live, chunk_rows, kept_report, resume, segment_articles
from qa.types import Page, Skipped


def cache_dir(target: MilvusTarget) -> Path:
    """Where a Milvus build keeps its vector cache: ``QA_MILVUS_CACHE``, else beside a Lite database
    (``milvus.db.cache/vectors``), else the user's cache folder (vectors depend only on model and text)."""
    if os.environ.get("QA_MILVUS_CACHE"):
        return Path(os.environ["QA_MILVUS_CACHE"])
    if target.is_lite:
        return Path(target.uri + ".cache") / "vectors"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa" / "vectors"


def build_milvus(
    pages: list[Page],
    roots: list[str],
    target: MilvusTarget,
    *,
    skipped: list[Skipped],
    rebuild: bool = False,
    model: str | None = None,
    embedder=None,
    settings: ChunkSettings | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] = print_to_stderr,
    hnsw_threshold: int = HNSW_THRESHOLD,
    device: str | None = None,
) -> BuildReport:
    """Build and publish a new version of ``target`` from ``pages`` (see ``qa.store.build.build_pages``)."""
    started = time.monotonic()
    corrections = load_corrections(local_folder(target))  # the archive team's, as a folder build applies them
    pages = [q for p in pages for q in corrected(p, corrections, lambda x: segment_articles(x, log), log)]
    client = connect(target)
    with build_lease(client, live_collection(target), target.uri):  # before undoing anyone's rows
        cleanup(target, client, log)  # a killed build's unpublished collection pair
        return _build(
            pages,
            roots,
            target,
            client,
            started,
            skipped=skipped,
            rebuild=rebuild,
            model=model,
            embedder=embedder,
            settings=settings,
            progress=progress,
            log=log,
            hnsw_threshold=hnsw_threshold,
            device=device,
        )


def _build(
    pages: list[Page],
    roots: list[str],
    target: MilvusTarget,
    client,
    started: float,
    *,
    skipped: list[Skipped],
    rebuild: bool,
    model: str | None,
    embedder,
    settings: ChunkSettings | None,
    progress: bool | None,
    log: Callable[[str], None],
    hnsw_threshold: int,
    device: str | None,
) -> BuildReport:
    collection, meta, legacy = _open_live(target, client, log)
    live = resume(
        meta and meta["version"],
        None,
        meta,
        [],
        rebuild=rebuild,
        model=model,
        embedder=embedder,
        settings=settings,
        log=log,
        device=device,
    )
    where = visible(gen_of(live.name)) if live.meta else ""
    old = fingerprints(client, collection, where) if live.meta else {}
    change = judge(pages, roots, old, log)
    if not pages and (live.meta is None or change.plan.unchanged):
        log("没有从给出的路径读到任何版面，未发布新的索引版本。")
        return kept_report(live, skipped, started, nothing_read=True)
    if live.meta and change.plan.unchanged and not live.reason:
        log(f"索引已是最新（{live.name}），无需更新。")
        return kept_report(live, skipped, started)
    gen = next_gen(target, client, meta)
    fresh = live.meta is None or live.reason is not None
    if not fresh and meta["vector_index"]["type"] == "FLAT":
        total = meta["counts"]["chunks"] - change.retired_rows(old)
        if total + sum(len(a) for _, a in change.plan.records) >= hnsw_threshold:  # lower bound of new chunks
            log(f"段落数达到 {hnsw_threshold}，改用 HNSW 索引：写入新的集合（已有的向量全部复用）。")
            fresh = True
    plan = whole(change, client, collection, where) if fresh and live.meta else change.plan
    rows = chunk_rows(plan, live.settings)
    reuse_from = None if live.model_changed else (collection if live.meta else legacy)
    vectors, embedded = embed_rows(rows, live, target, client, reuse_from, progress)
    kept = [] if fresh else list(change.kept.values())
    info = _meta(version_name(gen), live, rows, kept, meta, fresh, hnsw_threshold)
    if fresh:
        _write_pair(target, client, info, rows, vectors, gen, log)
    else:  # only what changed, into the live pair
        write_rows(client, collection, vectors=vectors, rows=rows, first=meta["next_row"], gen=gen)
        retire(client, collection, change.retire, gen)
        publish_version(client, collection, info)
        collect(client, collection, gen)
    return _report(info, change, len(rows.chunks), embedded, skipped, live, started, target, log)


def _open_live(target: MilvusTarget, client, log: Callable[[str], None]) -> tuple[str | None, dict | None, str | None]:
    """The live collection, its newest version's meta (None: start empty) and, when it has an older
    layout, its name (rebuilt from the given paths, its vectors reused). Undoes a killed build first."""
    collection = live_collection(target)
    meta = newest_meta(client, collection) if collection else None
    if meta and meta.get("format_version") != MILVUS_FORMAT_VERSION:
        log(f"Milvus 集合 {collection} 是旧的存储格式，现在只用本次给出的路径重建（文本未变的段落复用原有向量）。")
        return collection, None, collection
    if meta:
        recover(client, collection, gen_of(meta["version"]), log)  # a killed build's rows in the live pair
    return collection, meta, None


def _write_pair(target, client, info: dict, rows: ChunkRows, vectors: np.ndarray, gen: int, log) -> None:
    """Every row into a new collection pair, published, then the alias switched to it."""
    name = chunks_name(target, info["version"])
    create_pair(client, name, info["embedder"]["dim"], info["vector_index"]["type"] == "HNSW")
    write_rows(client, name, vectors=vectors, rows=rows, first=0, gen=gen)
    publish_version(client, name, info)
    switch_alias(target, client, name)
    cleanup(target, client, log)


def embed_rows(
    rows: ChunkRows, live: Live, target: MilvusTarget, client, reuse_from: str | None, progress: bool | None
) -> tuple[np.ndarray, int]:
    """Vectors of every chunk row through the vector cache (texts it lacks but ``reuse_from`` holds are
    taken from there); returns them and how many texts were embedded now."""
    cache = VectorCache.open(cache_dir(target), live.embedder.name, live.embedder.dim)
    try:
        hashes = [c["text_hash"] for c in rows.chunks]
        missing = sorted(set(hashes) - set(cache.lookup(hashes)))
        stored = vectors_by_hash(client, reuse_from, missing) if reuse_from and missing else {}
        source = _Stored(live.embedder, {t: stored[h] for h, t in zip(hashes, rows.texts) if h in stored})
        if missing:
            getattr(live.embedder, "preload", lambda: None)()
        vectors = cache.embed(source if stored else live.embedder, hashes, rows.texts, progress=progress)
        return vectors, (source.embedded if stored else len(missing))
    finally:
        cache.close()


class _Stored:
    """An embedder that answers from vectors already stored in Milvus, and embeds only the other texts."""

    def __init__(self, embedder, stored: dict[str, np.ndarray]) -> None:
        self.embedder, self.stored, self.embedded = embedder, stored, 0
        self.name, self.dim = embedder.name, embedder.dim

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t not in self.stored]
        for i, t in enumerate(texts):
            if t in self.stored:
                out[i] = self.stored[t]
        if todo:
            out[todo] = self.embedder.encode_passages([texts[i] for i in todo])
            self.embedded += len(todo)
        return out


def _meta(
    version: str, live: Live, rows: ChunkRows, kept: list[dict], meta: dict | None, fresh: bool, threshold: int
) -> dict:
    """The new version's meta: its counts over the kept and the new pages."""
    pages = [(p["paper"], p["date"], p["root"] or "") for p in kept] + [
        (p["paper"], p["date"], p["root"] or "") for p in rows.pages
    ]
    chunks = sum(chunks_of(p) for p in kept) + len(rows.chunks)
    first = 0 if fresh else meta["next_row"]
    return {
        "version": version,
        "backend": "milvus",
        "embedder": {"name": live.embedder.name, "dim": int(live.embedder.dim)},
        "built_at": dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "chunking": live.settings.to_json(),
        "papers": sorted({p for p, _, _ in pages}),
        "counts": {
            "papers": len({p for p, _, _ in pages}),
            "issues": len({(p, d) for p, d, _ in pages}),
            "pages": len(pages),
            "articles": sum(int(p["articles"]) for p in kept) + len(rows.articles),
            "chunks": chunks,
        },
        "bm25": {"library": "milvus", "k1": BM25_PARAMS["bm25_k1"], "b": BM25_PARAMS["bm25_b"], "analyzer": "jieba"},
        "roots": sorted({r for _, _, r in pages if r}),
        "next_row": first + len(rows.chunks),  # rows are never reused: new chunks are numbered from here
        "vector_index": index_info(chunks >= threshold, threshold) if fresh else meta["vector_index"],
    }


def _report(
    info: dict,
    change: Change,
    written: int,
    embedded: int,
    skipped: list[Skipped],
    live: Live,
    started: float,
    target: MilvusTarget,
    log: Callable[[str], None],
) -> BuildReport:
    c, p = info["counts"], change.plan
    log(
        f"已发布索引版本 {info['version']}（Milvus {target.uri}）：{c['pages']} 版，{c['articles']} 篇文章，"
        f"{c['chunks']} 个段落；写入 {written} 个段落，新嵌入 {embedded} 个，复用 {c['chunks'] - embedded} 个；"
        f"新增 {p.added} 版，更新 {p.changed} 版，移除 {p.removed} 版。"
    )
    return BuildReport(
        info["version"],
        c["pages"],
        c["articles"],
        c["chunks"],
        embedded,
        c["chunks"] - embedded,
        p.added,
        p.changed,
        p.removed,
        skipped,
        live.reason,
        True,
        time.monotonic() - started,
    )
