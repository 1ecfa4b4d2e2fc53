"""Build, incrementally update and atomically publish index versions, as named steps:

plan (``qa.index.plan``) -> chunk -> reuse or embed -> write -> seal -> publish.

A build holds ``index/.lock`` throughout. It starts from the live version's pages, replaces
pages re-read now, drops pages that vanished from under a given PATH, keeps pages of other
PATHs, re-chunks, and embeds only chunk texts whose hash is not in the live version. A crash at
any point leaves ``CURRENT`` as it was; leftovers are removed by the next build. A run that read
no page at all publishes nothing and says why.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import tokens as tok
from ..chunk import ChunkSettings
from ..embed import Embedder, embed_passages
from ..embed.cache import VectorCache
from ..types import Page, Skipped
from .backends import MilvusTarget
from .layout import (CACHE, DEFAULT_LOCK_TIMEOUT, DB, VECTORS, build_lock, cleanup_versions, next_version, print_to_stderr,
                     publish, seal)
from .plan import ChunkRows, Live, PagePlan, chunk_rows, live_state, plan_pages, text_hash
from .writer import HNSW_THRESHOLD, read_rows, write_store


@dataclass
class BuildReport:
    version: str | None  # the published version, or the live one when nothing was published
    pages: int
    articles: int
    chunks: int
    embedded: int  # new vectors computed in this build
    reused: int  # vectors copied from the previous version
    pages_added: int
    pages_changed: int
    pages_removed: int
    skipped: list[Skipped] = field(default_factory=list)
    full_reembed_reason: str | None = None
    published: bool = True  # False when nothing changed (or nothing was read) and the live version was kept
    seconds: float = 0.0
    nothing_read: bool = False  # no page at all came from the given paths: nothing was published


def build_index(paths: list[str | Path], index_dir: Path | MilvusTarget, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                log: Callable[[str], None] = print_to_stderr, **kw) -> BuildReport:
    """Read ``paths`` (issue folders, manifest folders, JSONL), then build and publish a new version
    (``index_dir`` may be a :class:`MilvusTarget`: see ``qa.index.milvus_build``).

    Keyword arguments: ``rebuild``, ``model``, ``embedder``, ``settings``, ``progress`` (see :func:`build_pages`).
    """
    from ..pages import read_archive

    if isinstance(index_dir, MilvusTarget):  # --backend URI: the same steps, written to Milvus
        from .milvus_build import build_milvus

        report = read_archive([str(p) for p in paths])
        roots = [r for r in report.roots if os.path.exists(r)]
        return build_milvus(report.pages, roots, index_dir, skipped=list(report.skipped), log=log, **kw)
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir, lock_timeout, log):
        report = read_archive([str(p) for p in paths], ocr_cache=index_dir / CACHE / "ocr")  # OCR once per page
        # A path that does not exist (mistyped) must never remove the pages indexed from it.
        roots = [r for r in report.roots if os.path.exists(r)]
        return build_pages(report.pages, roots, index_dir, skipped=list(report.skipped), log=log, **kw)


def build_from_pages(pages: list[Page], roots: list[str], index_dir: Path | MilvusTarget, *, skipped: list[Skipped] | None = None,
                     lock_timeout: float = DEFAULT_LOCK_TIMEOUT, log: Callable[[str], None] = print_to_stderr,
                     **kw) -> BuildReport:
    """Same as :func:`build_index` for pages already read (``roots`` = the PATHs they came from)."""
    if isinstance(index_dir, MilvusTarget):
        from .milvus_build import build_milvus

        return build_milvus(pages, roots, index_dir, skipped=list(skipped or []), log=log, **kw)
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir, lock_timeout, log):
        return build_pages(pages, roots, index_dir, skipped=list(skipped or []), log=log, **kw)


def build_pages(pages: list[Page], roots: list[str], index_dir: Path, *, skipped: list[Skipped], rebuild: bool = False,
                model: str | None = None, embedder: Embedder | None = None, settings: ChunkSettings | None = None,
                progress: bool | None = None, log: Callable[[str], None] = print_to_stderr,
                hnsw_threshold: int = HNSW_THRESHOLD) -> BuildReport:
    """The build steps, under the lock the caller holds."""
    started = time.monotonic()
    version = next_version(index_dir)  # before cleanup: a half-written folder's number is never reused
    cleanup_versions(index_dir, log)
    live, plan, kept = decide(pages, roots, index_dir, skipped=skipped, started=started, log=log, rebuild=rebuild,
                              model=model, embedder=embedder, settings=settings)
    if kept is not None:
        return kept
    rows = chunk_rows(plan, live.settings)
    vectors, tokens, embedded, reused = reuse_or_embed(rows, live, progress, log, cache_dir=index_dir / CACHE / "vectors")
    folder = index_dir / version
    info = write_store(folder, vectors=vectors, tokens=tokens, pages=rows.pages, articles=rows.articles,
                       chunks=rows.chunks, texts=rows.texts, hnsw_threshold=hnsw_threshold)
    seal(folder, _meta(info, live, rows))
    publish(index_dir, version)
    cleanup_versions(index_dir, log)
    c = info["counts"]
    log(f"已发布索引版本 {version}：{c['pages']} 版，{c['articles']} 篇文章，{c['chunks']} 个段落；"
        f"新嵌入 {embedded} 个，复用 {reused} 个；新增 {plan.added} 版，更新 {plan.changed} 版，移除 {plan.removed} 版。")
    return BuildReport(version, c["pages"], c["articles"], c["chunks"], embedded, reused, plan.added, plan.changed,
                       plan.removed, skipped, live.reason, True, time.monotonic() - started)


def decide(pages: list[Page], roots: list[str], folder: Path, *, skipped: list[Skipped], started: float,
           log: Callable[[str], None], **live_kw) -> tuple[Live, PagePlan, BuildReport | None]:
    """The plan step: the live version (laid out in ``folder``), the page plan, and the report to
    return at once when nothing is to be published (nothing read, or nothing changed)."""
    live = live_state(folder, log=log, **live_kw)
    plan = plan_pages(pages, roots, live, log)
    if not pages and (live.folder is None or plan.unchanged):
        log("没有从给出的路径读到任何版面，未发布新的索引版本。")
        return live, plan, _kept_report(live, skipped, started, nothing_read=True)
    if live.folder and plan.unchanged and not live.reason:
        log(f"索引已是最新（{live.name}），无需更新。")
        return live, plan, _kept_report(live, skipped, started)
    return live, plan, None


def reuse_or_embed(rows: ChunkRows, live: Live, progress: bool | None, log: Callable[[str], None],
                   cache_dir: Path | None = None) -> tuple[np.ndarray, list[list[str]], int, int]:
    """Vectors and BM25 tokens for every chunk row, reusing the live version's by text hash.

    New texts go through the vector cache in ``cache_dir`` (``qa.embed.cache``): every batch is
    persisted as soon as it is computed, so a build killed mid-way re-embeds only what was not
    saved. Returns (vectors, tokens, number embedded now, number reused); identical texts embed once.
    """
    old_rows: dict[str, tuple[int, str]] = {}
    if live.folder:
        for r in read_rows(live.folder / DB, "SELECT row, text_hash, tokens FROM chunks"):
            old_rows[r["text_hash"]] = (r["row"], r["tokens"])
    same_tokens = bool(live.meta) and live.meta.get("bm25", {}).get("tokenizer") == tok.MODE
    old_vectors = np.load(live.folder / VECTORS, mmap_mode="r") if live.folder and not live.model_changed else None
    embedder = live.embedder
    vectors = np.zeros((len(rows.chunks), embedder.dim), dtype=np.float32)
    tokens: list[list[str]] = []
    todo: dict[str, list[int]] = {}  # embedded text -> rows needing it
    reused = 0
    for i, c in enumerate(rows.chunks):
        old = old_rows.get(c["text_hash"])
        tokens.append(json.loads(old[1]) if old and same_tokens else tok.tokenize(rows.texts[i]))
        if old is not None and old_vectors is not None:
            vectors[i] = old_vectors[old[0]]
            reused += 1
        else:
            todo.setdefault(rows.texts[i], []).append(i)
    embedded = 0
    if todo:
        log(f"向量化 {len(todo)} 个新段落（{sum(map(len, todo))} 字），复用 {reused} 个。")
        texts = list(todo)
        if cache_dir is None:
            new, embedded = embed_passages(embedder, texts, progress=progress), len(texts)
        else:
            cache = VectorCache.open(cache_dir, embedder.name, embedder.dim)
            before = cache.rows
            try:
                new = cache.embed(embedder, [text_hash(t) for t in texts], texts, progress=progress)
            finally:
                embedded = cache.rows - before
                cache.close()
            if embedded < len(texts):
                log(f"其中 {len(texts) - embedded} 个段落的向量取自上次中断的建索引任务。")
        for v, where in zip(new, todo.values()):
            vectors[where] = v
    return vectors, tokens, embedded, reused


def _meta(info: dict, live: Live, rows: ChunkRows) -> dict:
    """What meta.json records besides the format version (``layout.seal`` adds that)."""
    return {
        "built_at": dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "embedder": {"name": live.embedder.name, "dim": int(live.embedder.dim),
                     "engine": getattr(live.embedder, "engine", None)},
        "chunking": live.settings.to_json(),
        **info,
        "bm25": {**info["bm25"], "tokenizer": tok.MODE},
        "roots": sorted({r["root"] for r in rows.pages if r["root"]}),
        "sources": {r["page_id"]: r["content_hash"] for r in rows.pages},
    }


def _kept_report(live: Live, skipped: list[Skipped], started: float, nothing_read: bool = False) -> BuildReport:
    c = live.meta["counts"] if live.meta else {"pages": 0, "articles": 0, "chunks": 0}
    return BuildReport(live.name, c["pages"], c["articles"], c["chunks"], 0, c["chunks"], 0, 0, 0, skipped, None,
                       False, time.monotonic() - started, nothing_read)
