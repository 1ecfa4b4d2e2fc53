"""Build, incrementally update and atomically publish index versions (``index/vNNNNNN`` + ``CURRENT``).

A build holds ``index/.lock`` (fcntl.flock) throughout. It starts from the live version's pages,
replaces pages re-read now, drops pages that vanished from under a given PATH, keeps pages of
other PATHs, re-chunks, and embeds only chunk texts whose hash is not in the live version.
The new folder is written and fsynced completely, marked ``COMPLETE``, and only then named in
``CURRENT`` (write ``CURRENT.tmp``, fsync, ``os.replace``, fsync the folder). A crash at any
point leaves ``CURRENT`` as it was; leftovers are removed by the next build.

Example::

    >>> report = build_index(["seeds/"], Path("index"))
    >>> report.version, report.embedded == report.chunks, report.skipped
    ('v000001', True, [])
    >>> build_index(["seeds/"], Path("index")).embedded      # unchanged archive: nothing to embed
    0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import replace, asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import tokenize as tok
from .chunk import DEFAULT, ChunkSettings, chunk_article, embedding_text
from .embed import Embedder, embed_passages, load_embedder
from .store import FORMAT_VERSION, check_embedder, current_version
from .store_write import HNSW_THRESHOLD, read_rows, write_store
from .types import Article, Page, Skipped
from .versions import (DEFAULT_LOCK_TIMEOUT, build_lock, cleanup_versions, fsync_tree, print_to_stderr, publish,
                       version_folders)

__all__ = ["BuildReport", "build_index", "build_from_pages", "index_stats", "check_embedder", "page_hash"]



@dataclass
class BuildReport:
    version: str
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
    published: bool = True  # False when nothing changed and the live version was kept
    seconds: float = 0.0


def page_hash(page: Page) -> str:
    """Content hash of everything about a page that reaches the index."""
    arts = [(a.article_id, a.title, a.pre_title, a.subtitle, a.byline, a.body, a.captions, a.refs) for a in page.articles]
    key = [page.paper, page.date, page.page, page.page_name, page.issue_no, page.source, page.text, arts]
    return hashlib.sha1(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _under(page_id: str, page_root: str, roots: list[str]) -> bool:
    """Was this page found (or should it have been found) under one of ``roots``?"""
    for r in roots:
        if page_root == r or page_id == r or page_id.startswith(r.rstrip(os.sep) + os.sep) or page_id.startswith(r + "#"):
            return True
    return False


# --- building --------------------------------------------------------------------------------------


def build_index(
    paths: list[str | Path],
    index_dir: Path,
    *,
    rebuild: bool = False,
    model: str | None = None,
    embedder: Embedder | None = None,
    settings: ChunkSettings | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] = print_to_stderr,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> BuildReport:
    """Read ``paths`` (qa.ingest), segment pages (qa.segment) and build/publish a new version."""
    from .pages import read_archive

    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir, lock_timeout):
        report = read_archive([str(p) for p in paths], ocr_cache=index_dir / "cache" / "ocr")
        return _build(report.pages, list(report.roots), index_dir, skipped=list(report.skipped), rebuild=rebuild,
                      model=model, embedder=embedder, settings=settings, progress=progress, log=log)


def build_from_pages(pages: list[Page], roots: list[str], index_dir: Path, *, skipped: list[Skipped] | None = None,
                     lock_timeout: float = DEFAULT_LOCK_TIMEOUT, **kw) -> BuildReport:
    """Same as :func:`build_index` for pages already read (``roots`` = the PATHs they came from)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir, lock_timeout):
        return _build(pages, roots, index_dir, skipped=list(skipped or []), **kw)


def _live_chunking(live_meta: dict) -> ChunkSettings:
    """The live index's chunk settings; indexes from before ``scheme`` existed are scheme 1."""
    return ChunkSettings(**{"scheme": 1, **live_meta["chunking"]})


def _segment(page: Page, log: Callable[[str], None]) -> list[Article]:
    """Articles of a page; the whole page as one untitled article when segmentation finds none."""
    if page.articles:
        return list(page.articles)
    try:
        from .segment import segment_page

        arts = segment_page(page)
    except ImportError:
        log("提示：分稿模块 qa.segment 不可用，整版作为一篇文章索引。")
        arts = []
    if not arts and page.text.strip():
        arts = [Article(article_id=f"{page.source}#a0", title=None, body=page.text.strip())]
    return arts


def _old_articles(db: Path) -> dict[str, list[Article]]:
    out: dict[str, list[Article]] = {}
    for a in read_rows(db, "SELECT * FROM articles ORDER BY page_id, ordinal"):
        out.setdefault(a["page_id"], []).append(Article(
            article_id=a["article_id"], title=a["title"], body=a["body"] or "", pre_title=a["pre_title"],
            subtitle=a["subtitle"], byline=a["byline"], captions=json.loads(a["captions"] or "[]"),
            refs=json.loads(a["refs"] or "[]")))
    return out


def _build(pages: list[Page], roots: list[str], index_dir: Path, *, skipped: list[Skipped], rebuild: bool = False,
           model: str | None = None, embedder: Embedder | None = None, settings: ChunkSettings | None = None,
           progress: bool | None = None, log: Callable[[str], None] = print_to_stderr,
           hnsw_threshold: int = HNSW_THRESHOLD) -> BuildReport:
    started = time.monotonic()
    roots = [os.path.abspath(r) for r in roots]
    next_no = max([int(p.name[1:]) for p in version_folders(index_dir)] + [0]) + 1
    cleanup_versions(index_dir, log)

    live = current_version(index_dir)
    live_meta: dict | None = None
    if live:
        try:
            live_meta = json.loads((index_dir / live / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            live_meta = None
        if live_meta and live_meta.get("format_version") != FORMAT_VERSION:
            log(f"现有索引 {live} 的格式版本不同，无法增量更新，只用本次给出的路径重建。")
            live_meta = None
    if embedder is None:  # without --model, keep the model the index was built with (even on --rebuild)
        embedder = load_embedder(model or (live_meta["embedder"]["name"] if live_meta else None))
    if rebuild:
        live, live_meta = None, None
    live_dir = index_dir / live if live_meta else None

    if settings is None:
        # Keep the live index's sizes, but always chunk with this program's scheme.
        settings = replace(_live_chunking(live_meta), scheme=DEFAULT.scheme) if live_meta else DEFAULT
    # A vector depends only on (model, embedded text): a new model re-embeds everything; new chunk
    # settings re-chunk everything, and only chunk texts that come out identical keep their vectors.
    reason, model_changed = None, False
    if live_meta:
        old_e = live_meta["embedder"]
        if old_e["name"] != embedder.name or int(old_e["dim"]) != int(embedder.dim):
            reason, model_changed = f"向量模型由「{old_e['name']}」改为「{embedder.name}」", True
            log(f"{reason}，全部段落重新向量化。")
        elif _live_chunking(live_meta) != settings:
            reason = f"分块设置由 {live_meta['chunking']} 改为 {settings.to_json()}"
            log(f"{reason}，全部重新分块，文本未变的段落复用原有向量。")

    # --- which pages make up the new version --------------------------------------------------
    by_id: dict[str, Page] = {}
    for p in pages:
        by_id[p.page_id] = p  # a later duplicate replaces an earlier one
    new_hash = {pid: page_hash(p) for pid, p in by_id.items()}
    old_pages = {r["page_id"]: dict(r) for r in read_rows(live_dir / "meta.sqlite", "SELECT * FROM pages")} if live_dir else {}
    kept = {pid: r for pid, r in old_pages.items() if pid not in by_id and not _under(pid, r["root"] or "", roots)}
    added = sum(1 for pid in by_id if pid not in old_pages)
    changed = sum(1 for pid in by_id if pid in old_pages and old_pages[pid]["content_hash"] != new_hash[pid])
    removed = sum(1 for pid in old_pages if pid not in by_id and pid not in kept)
    if live_meta and not reason and not (added or changed or removed):
        c = live_meta["counts"]
        log(f"索引已是最新（{live}），无需更新。")
        return BuildReport(live, c["pages"], c["articles"], c["chunks"], 0, c["chunks"], 0, 0, 0, skipped, None, False,
                           time.monotonic() - started)

    old_arts = _old_articles(live_dir / "meta.sqlite") if live_dir else {}
    records: list[tuple[dict, list[Article]]] = []
    for pid, r in kept.items():
        records.append((r, old_arts.get(pid, [])))
    for pid, p in by_id.items():
        unchanged = pid in old_pages and old_pages[pid]["content_hash"] == new_hash[pid]
        arts = old_arts.get(pid, []) if unchanged else _segment(p, log)  # unchanged pages skip segmentation
        rec = {"page_id": pid, "paper": p.paper, "date": p.date, "page": p.page, "page_name": p.page_name,
               "issue_no": p.issue_no, "source": p.source, "root": p.root, "content_hash": new_hash[pid], "text": p.text}
        records.append((rec, arts))
    records.sort(key=lambda ra: (ra[0]["date"], ra[0]["paper"], ra[0]["page"] or 0, ra[0]["page_id"]))

    # --- chunks, reusing vectors and tokens by the hash of the embedded text --------------------
    page_rows, art_rows, chunk_rows, texts = [], [], [], []
    for rec, arts in records:
        page_rows.append(rec)
        for i, a in enumerate(arts):
            art_rows.append({"article_id": a.article_id, "page_id": rec["page_id"], "ordinal": i, "title": a.title,
                             "pre_title": a.pre_title, "subtitle": a.subtitle, "byline": a.byline, "body": a.body,
                             "captions": list(a.captions), "refs": list(a.refs)})
            for c in chunk_article(a, rec["page_id"], settings):
                t = embedding_text(c)
                texts.append(t)
                chunk_rows.append({**asdict(c), "text_hash": _text_hash(t)})

    old_rows: dict[str, tuple[int, str]] = {}
    if live_dir:
        for r in read_rows(live_dir / "meta.sqlite", "SELECT row, text_hash, tokens FROM chunks"):
            old_rows[r["text_hash"]] = (r["row"], r["tokens"])
    same_tokens = bool(live_meta) and live_meta.get("bm25", {}).get("tokenizer") == tok.MODE
    old_vectors = np.load(live_dir / "vectors.npy", mmap_mode="r") if live_dir and not model_changed else None

    vectors = np.zeros((len(chunk_rows), embedder.dim), dtype=np.float32)
    tokens: list[list[str]] = []
    todo: dict[str, list[int]] = {}  # embedded text -> rows needing it (identical texts embed once)
    reused = 0
    for i, c in enumerate(chunk_rows):
        old = old_rows.get(c["text_hash"])
        tokens.append(json.loads(old[1]) if old and same_tokens else tok.tokenize(texts[i]))
        if old is not None and old_vectors is not None:
            vectors[i] = old_vectors[old[0]]
            reused += 1
        else:
            todo.setdefault(texts[i], []).append(i)
    if todo:
        log(f"向量化 {len(todo)} 个新段落（{sum(map(len, todo))} 字），复用 {reused} 个。")
        new_vecs = embed_passages(embedder, list(todo), progress=progress)
        for v, rows in zip(new_vecs, todo.values()):
            vectors[rows] = v

    # --- write, seal, publish, prune ------------------------------------------------------------
    version = f"v{next_no:06d}"
    folder = index_dir / version
    info = write_store(folder, vectors=vectors, tokens=tokens, pages=page_rows, articles=art_rows, chunks=chunk_rows,
                       hnsw_threshold=hnsw_threshold)
    meta = {
        "format_version": FORMAT_VERSION,
        "version": version,
        "built_at": dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "embedder": {"name": embedder.name, "dim": int(embedder.dim)},
        "chunking": settings.to_json(),
        **info,
        "bm25": {**info["bm25"], "tokenizer": tok.MODE},
        "roots": sorted({r["root"] for r in page_rows if r["root"]}),
        "sources": {r["page_id"]: r["content_hash"] for r in page_rows},
    }
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    fsync_tree(folder)
    (folder / "COMPLETE").write_text(version + "\n", encoding="utf-8")
    fsync_tree(folder)
    publish(index_dir, version)
    cleanup_versions(index_dir, log)
    c = info["counts"]
    log(f"已发布索引版本 {version}：{c['pages']} 版，{c['articles']} 篇文章，{c['chunks']} 个段落；"
        f"新嵌入 {len(todo)} 个，复用 {reused} 个；新增 {added} 版，更新 {changed} 版，移除 {removed} 版。")
    return BuildReport(version, c["pages"], c["articles"], c["chunks"], len(todo), reused, added, changed, removed,
                       skipped, reason, True, time.monotonic() - started)


def index_stats(index_dir: Path) -> dict:
    """Figures for ``qa stats``: what is in the live version and how big it is."""
    from .store import IndexReader

    with IndexReader.open(Path(index_dir)) as r:
        dates = r.issue_dates()
        c = r.counts()
        size = sum(p.stat().st_size for p in r.path.rglob("*") if p.is_file())
        return {
            "version": r.version, "built_at": r.meta.get("built_at"), "papers": r.meta.get("papers", []),
            "first_issue": dates[0] if dates else None, "last_issue": dates[-1] if dates else None,
            "issues": c["issues"], "pages": c["pages"], "articles": c["articles"], "chunks": c["chunks"],
            "embedder": r.embedder_name, "dim": r.dim, "vector_index": r.meta["vector_index"]["type"],
            "chunking": r.meta.get("chunking"), "size_bytes": size,
        }
