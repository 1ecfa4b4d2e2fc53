"""What a build will do, decided before any work: the live version it starts from, which pages make up
the new version (kept, added, changed, removed), and the chunk rows they give.

The build (``qa.store.build``) then only executes: reuse or embed -> write -> seal -> publish.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

from qa.embed import Embedder, load_embedder
from qa.errors import QAError
from qa.ingest.chunk import DEFAULT, ChunkSettings, chunk_article, embedding_text
from qa.ingest.regions import page_regions
from qa.store.folder.layout import DB, SEGMENTS, current_version, read_meta
from qa.store.folder.writer import read_rows, read_rows_in
from qa.types import Article, Chunk, Page, Skipped


@dataclass(frozen=True)
class LiveSource:
    """One SQLite file holding live pages: a segment (``name`` s000012) or a format-1/2 version folder
    (``name`` ""), with the page ids deleted from it since it was written."""

    name: str
    folder: Path
    deleted: frozenset[str] = frozenset()


def live_sources(index_dir: Path, name: str, meta: dict) -> list[LiveSource]:
    """Where the live version's pages are: its segments (and the pages each has deleted)."""
    deleted = meta.get("deleted", {})
    return [
        LiveSource(s["name"], index_dir / SEGMENTS / s["name"], frozenset(deleted.get(s["name"], [])))
        for s in meta["segments"]
    ]


@dataclass
class Live:
    """The version a build starts from (``meta`` None: start empty; ``folder`` None too) and
    what changed since it."""

    name: str | None
    folder: Path | None
    meta: dict | None
    embedder: Embedder
    settings: ChunkSettings
    reason: str | None = None  # why everything is re-chunked or re-embedded, for the log and report
    model_changed: bool = False
    sources: list[LiveSource] = field(default_factory=list)


@dataclass
class PagePlan:
    """Page records (SQLite ``pages`` columns) with their articles, in index order, and the counts."""

    records: list[tuple[dict, list[Article]]] = field(default_factory=list)
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass
class ChunkRows:
    """Everything the writer needs besides vectors and tokens; ``texts[i]`` is what row i embeds."""

    pages: list[dict] = field(default_factory=list)
    articles: list[dict] = field(default_factory=list)
    chunks: list[dict] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)  # SQLite ``regions`` rows (qa.ingest.regions)
    images: list[dict] = field(default_factory=list)  # SQLite ``page_images`` rows: pages with an image


CHUNK_FIELDS = [f.name for f in fields(Chunk)]


def page_hash(page: Page) -> str:
    """Content hash of everything about a page that reaches the index."""
    arts = [
        (a.article_id, a.title, a.pre_title, a.subtitle, a.byline, a.body, a.captions, a.refs) for a in page.articles
    ]
    key = [page.paper, page.date, page.page, page.page_name, page.issue_no, page.source, page.text, arts]
    if page.frame is not None:  # pages indexed before regions existed are read into the index once more
        key.append(["regions-1", page.frame.kind, page.frame.width, page.frame.height])
    return hashlib.sha1(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def live_state(
    index_dir: Path,
    *,
    rebuild: bool,
    model: str | None,
    embedder: Embedder | None,
    settings: ChunkSettings | None,
    log: Callable[[str], None],
    device: str | None = None,
) -> Live:
    """The live version (unless ``rebuild``), the embedder (made on ``device`` unless given) and chunk
    settings to build with, and any full-redo reason."""
    name = current_version(index_dir)
    meta = None
    if name:
        try:
            meta = read_meta(index_dir / name)
            if "segments" not in meta:
                raise QAError("folder index of format 1 or 2")  # dropped: such an index is rebuilt
        except QAError:
            log(f"现有索引 {name} 无法读取或格式版本过旧，请重建索引：现在只用本次给出的路径重建。")
            meta = None
    sources = live_sources(index_dir, name, meta) if meta else []
    return resume(
        name,
        index_dir / name if meta else None,
        meta,
        sources,
        rebuild=rebuild,
        model=model,
        embedder=embedder,
        settings=settings,
        log=log,
        device=device,
    )


def resume(
    name: str | None,
    folder: Path | None,
    meta: dict | None,
    sources: list[LiveSource],
    *,
    rebuild: bool,
    model: str | None,
    embedder: Embedder | None,
    settings: ChunkSettings | None,
    log: Callable[[str], None],
    device: str | None = None,
) -> Live:
    """The build's start from a live version's ``meta`` (folder or Milvus): the embedder, the chunk
    settings, and why everything is re-chunked or re-embedded, if it is."""
    if embedder is None:  # without --model, keep the model the index was built with (even on --rebuild)
        embedder = load_embedder(model or (meta["embedder"]["name"] if meta else None), device=device)
        if getattr(embedder, "why", ""):
            log(f"向量引擎：{getattr(embedder, 'engine', embedder.name)}（{embedder.why}）")
    if rebuild or meta is None:
        return Live(None, None, None, embedder, settings or DEFAULT)
    old_settings = ChunkSettings(**{"scheme": 1, **meta["chunking"]})  # indexes from before `scheme` are scheme 1
    # Keep the live index's sizes, but always chunk with this program's scheme.
    settings = settings or replace(old_settings, scheme=DEFAULT.scheme)
    live = Live(name, folder, meta, embedder, settings, sources=sources)
    # A vector depends only on (model, embedded text): a new model re-embeds everything; new chunk
    # settings re-chunk everything, and only chunk texts that come out identical keep their vectors.
    old = meta["embedder"]
    if old["name"] != embedder.name or int(old["dim"]) != int(embedder.dim):
        live.reason, live.model_changed = f"向量模型由「{old['name']}」改为「{embedder.name}」", True
        log(f"{live.reason}，全部段落重新向量化。")
    elif old_settings != settings:
        live.reason = f"分块设置由 {meta['chunking']} 改为 {settings.to_json()}"
        log(f"{live.reason}，全部重新分块，文本未变的段落复用原有向量。")
    return live


def under_roots(page_id: str, page_root: str, roots: list[str]) -> bool:
    """Was this page found (or should it have been found) under one of ``roots``?"""
    for r in roots:
        if (
            page_root == r
            or page_id == r
            or page_id.startswith(r.rstrip(os.sep) + os.sep)
            or page_id.startswith(r + "#")
        ):
            return True
    return False


def chunk_rows(plan: PagePlan, settings: ChunkSettings) -> ChunkRows:
    """Page, article and chunk rows in index order; chunk ``text_hash`` keys vector and token reuse."""
    rows = ChunkRows()
    for rec, arts in plan.records:
        rows.pages.append(rec)
        first = len(rows.chunks)
        for i, a in enumerate(arts):
            rows.articles.append(
                {
                    "article_id": a.article_id,
                    "page_id": rec["page_id"],
                    "ordinal": i,
                    "title": a.title,
                    "pre_title": a.pre_title,
                    "subtitle": a.subtitle,
                    "byline": a.byline,
                    "body": a.body,
                    "captions": list(a.captions),
                    "refs": list(a.refs),
                }
            )
            for c in chunk_article(a, rec["page_id"], settings):
                t = embedding_text(c)
                rows.texts.append(t)
                rows.chunks.append({**asdict(c), "text_hash": text_hash(t)})
        _page_geometry(rows, rec, arts, rows.chunks[first:])
    return rows


def _page_geometry(rows: ChunkRows, rec: dict, arts: list[Article], chunks: list[dict]) -> None:
    """The page's image row and regions: computed from its line boxes when it was read now
    (``_frame``), else the rows it had in the live version (``_geometry``), less chunks now gone."""
    frame, page_id = rec.get("_frame"), rec["page_id"]
    if frame is not None:
        rows.images.append(image_row(page_id, frame.kind, frame.width, frame.height, rec.get("_image_file")))
        by_article: dict[str, list[Chunk]] = {}
        for c in chunks:
            by_article.setdefault(c["article_id"], []).append(Chunk(**{k: c[k] for k in CHUNK_FIELDS}))
        # lines are matched to the articles as printed (a corrected headline is not on the image), and
        # only this page's articles keep boxes (a corrected article moved to its own page takes its own)
        ids = {a.article_id for a in arts}
        found = page_regions(frame, page_id, rec.get("_printed") or arts, by_article)
        rows.regions += [r for r in found if r["article_id"] in ids]
    elif rec.get("_geometry"):
        image, regions = rec["_geometry"]
        ids = {c["chunk_id"] for c in chunks}
        rows.images.append(image)
        rows.regions += [r for r in regions if r["chunk_id"] is None or r["chunk_id"] in ids]


def image_row(page_id: str, kind: str, width: float, height: float, file: str | None = None) -> dict:
    """A ``page_images`` row: the page's file is its id (the resolved path it was read from), or
    ``file`` (a corrected article's own page shows the page it was printed on); the key the API
    hands out is a hash of the page id, so no request ever names a path."""
    key = hashlib.sha1(page_id.encode("utf-8")).hexdigest()[:20]
    return {
        "page_id": page_id,
        "image_key": key,
        "file": file or page_id,
        "kind": kind,
        "width": width,
        "height": height,
    }


def page_record(p: Page, content_hash: str) -> dict:
    """A page as its SQLite ``pages`` row."""
    return {
        "page_id": p.page_id,
        "paper": p.paper,
        "date": p.date,
        "page": p.page,
        "page_name": p.page_name,
        "issue_no": p.issue_no,
        "source": p.source,
        "root": p.root,
        "content_hash": content_hash,
        "text": p.text,
        "_frame": p.frame,
        "_printed": p.printed,
        "_image_file": p.image_file,
    }  # not columns: read by chunk_rows for the page's regions


def segment_articles(page: Page, log: Callable[[str], None]) -> list[Article]:
    """Articles of a page; the whole page as one untitled article when segmentation finds none."""
    from qa.ingest.segment import segment_page

    arts = list(page.articles) or segment_page(page)
    if not arts and page.text.strip():
        arts = [Article(article_id=f"{page.source}#a0", title=None, body=page.text.strip())]
    return arts


def live_pages(live: Live, columns: str = "*") -> dict[str, dict]:
    """Page rows (these SQLite ``pages`` columns plus ``segment``) of every live page, by page id."""
    out: dict[str, dict] = {}
    for src in live.sources:
        for r in read_rows(src.folder / DB, f"SELECT {columns} FROM pages"):
            if r["page_id"] not in src.deleted:
                out[r["page_id"]] = {**dict(r), "segment": src.name}
    return out


def stored_article(row) -> Article:
    """An Article from a stored row: a SQLite ``articles`` row (captions and refs as JSON text) or a
    Milvus record (lists)."""

    def listed(value) -> list:
        return json.loads(value or "[]") if isinstance(value, str) or value is None else list(value)

    return Article(
        article_id=row["article_id"],
        title=row["title"],
        body=row["body"] or "",
        pre_title=row["pre_title"],
        subtitle=row["subtitle"],
        byline=row["byline"],
        captions=listed(row["captions"] if "captions" in row.keys() else None),
        refs=listed(row["refs"] if "refs" in row.keys() else None),
    )


def source_articles(src: LiveSource, page_ids: list[str] | None = None) -> dict[str, list[Article]]:
    """Articles of the live pages of one source (only of ``page_ids`` when given), in page order."""
    out: dict[str, list[Article]] = {}
    if page_ids is None:
        found = read_rows(src.folder / DB, "SELECT * FROM articles ORDER BY page_id, ordinal")
    else:
        found = read_rows_in(
            src.folder / DB, "SELECT * FROM articles WHERE page_id IN ({}) ORDER BY page_id, ordinal", page_ids
        )
    for a in found:
        if a["page_id"] in src.deleted:
            continue
        out.setdefault(a["page_id"], []).append(stored_article(a))
    return out


@dataclass
class BuildReport:
    version: str | None  # the published version, or the live one when nothing was published
    pages: int
    articles: int
    chunks: int
    embedded: int  # new vectors computed in this build
    reused: int  # rows whose vectors come from the previous version (kept in place or found by text hash)
    pages_added: int
    pages_changed: int
    pages_removed: int
    skipped: list[Skipped] = field(default_factory=list)
    full_reembed_reason: str | None = None
    published: bool = True  # False when nothing changed (or nothing was read) and the live version was kept
    seconds: float = 0.0
    nothing_read: bool = False  # no page at all came from the given paths: nothing was published


def kept_report(live: Live, skipped: list[Skipped], started: float, nothing_read: bool = False) -> BuildReport:
    c = live.meta["counts"] if live.meta else {"pages": 0, "articles": 0, "chunks": 0}
    return BuildReport(
        live.name,
        c["pages"],
        c["articles"],
        c["chunks"],
        0,
        c["chunks"],
        0,
        0,
        0,
        skipped,
        None,
        False,
        time.monotonic() - started,
        nothing_read,
    )
