"""Build, incrementally update and atomically publish index versions, as named steps:

plan (``qa.store.plan``) -> stream pages into new segments (``qa.store.folder.batch``) -> delete replaced
pages -> merge this build's own segments (``qa.store.folder.merge``) -> seal -> publish. Full tiers of live
segments are merged apart (``qa.store.folder.mergejob``: ``qa merge``, or ``qa serve`` in the background).

A build holds ``index/.lock`` throughout. Pages are read one at a time: an unchanged page costs
its hash; new and changed pages are written, a batch at a time, as new segments; the old copies of
changed pages, and pages that vanished from under a given PATH, are marked deleted in the new
version (their segments are not rewritten); pages of other PATHs stay where they are. A crash at
any point leaves ``CURRENT`` as it was; leftovers are removed by the next build, and vectors
already computed come back from the vector cache. A run that read no page at all publishes
nothing and says why.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable

from qa.embed import Embedder
from qa.ingest.chunk import ChunkSettings
from qa.store.folder.batch import SegmentBatcher
from qa.store.folder.dense_build import EXACT_MAX_ROWS
from qa.store.folder.layout import (
    CACHE,
    DEFAULT_LOCK_TIMEOUT,
    build_lock,
    cleanup_versions,
    next_version,
    print_to_stderr,
    seal_and_publish,
)
from qa.store.folder.livepages import COLUMNS, LivePages
from qa.store.folder.version import carry_pages, compose_version, merge_mode, pending_merges
from qa.store.location import MilvusTarget, ocr_cache
from qa.store.overlay import corrected
from qa.store.overlay import load as load_corrections
from qa.store.plan import (
    BuildReport,
    Live,
    PagePlan,
    kept_report,
    live_pages,
    live_state,
    page_hash,
    page_record,
    segment_articles,
    under_roots,
)
from qa.types import Page, Skipped


def build_index(
    paths: list[str | Path],
    index_dir: Path | MilvusTarget,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    log: Callable[[str], None] = print_to_stderr,
    **kw,
) -> BuildReport:
    """Read ``paths`` (issue folders, manifest folders, JSONL), then build and publish a new version
    (``index_dir`` may be a :class:`MilvusTarget`: see ``qa.store.milvus.build``).

    Keyword arguments: ``rebuild``, ``model``, ``embedder``, ``settings``, ``progress``, ``device``, ``merge``
    (see :class:`Build`).
    """
    from qa.ingest import read_archive

    if isinstance(index_dir, MilvusTarget):  # --backend URI: the same steps, written to Milvus
        from qa.store.milvus.build import build_milvus

        report = read_archive([str(p) for p in paths], ocr_cache=ocr_cache(index_dir))
        roots = [r for r in report.roots if os.path.exists(r)]
        return build_milvus(report.pages, roots, index_dir, skipped=list(report.skipped), log=log, **kw)
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    # A path that does not exist (mistyped) must never remove the pages indexed from it.
    roots = [Path(p).resolve().as_posix() for p in paths if os.path.exists(p)]
    with build_lock(index_dir, lock_timeout, log):
        build = Build(index_dir, roots, log=log, **kw)
        report = read_archive(
            [str(p) for p in paths], ocr_cache=ocr_cache(index_dir), sink=build.page
        )  # OCR once per page
        return build.finish(list(report.skipped))


def build_from_pages(
    pages: list[Page],
    roots: list[str],
    index_dir: Path | MilvusTarget,
    *,
    skipped: list[Skipped] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    log: Callable[[str], None] = print_to_stderr,
    **kw,
) -> BuildReport:
    """Same as :func:`build_index` for pages already read (``roots`` = the PATHs they came from)."""
    if isinstance(index_dir, MilvusTarget):
        from qa.store.milvus.build import build_milvus

        return build_milvus(pages, roots, index_dir, skipped=list(skipped or []), log=log, **kw)
    unique = {p.page_id: p for p in pages}  # a later duplicate replaces an earlier one
    return build_stream(
        iter(unique.values()), roots, index_dir, skipped=skipped, lock_timeout=lock_timeout, log=log, **kw
    )


def build_stream(
    pages: Iterable[Page],
    roots: list[str],
    index_dir: Path,
    *,
    skipped: list[Skipped] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    log: Callable[[str], None] = print_to_stderr,
    **kw,
) -> BuildReport:
    """:func:`build_from_pages` for pages made one at a time (distinct page ids): memory stays bounded."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(index_dir, lock_timeout, log):
        build = Build(index_dir, roots, log=log, **kw)
        for page in pages:
            build.page(page)
        return build.finish(list(skipped or []))


BACKFILL_ROWS = 1_000_000  # a build this big is a backfill: suggest `qa merge --all` after it


def backfill_hint(written: list[dict], segments: list[dict]) -> bool:
    """A build that wrote ``BACKFILL_ROWS`` rows or more and left several IVF-sized segments: one
    segment answers faster (``qa merge --all``, docs/operations.md)."""
    big = sum(int(s["live"]) >= EXACT_MAX_ROWS for s in segments)
    return sum(int(s["rows"]) for s in written) >= BACKFILL_ROWS and big > 1


class Build:
    """One build under the lock: judge each page as it is read, then compose and publish the version."""

    def __init__(
        self,
        index_dir: Path,
        roots: list[str],
        *,
        rebuild: bool = False,
        model: str | None = None,
        embedder: Embedder | None = None,
        settings: ChunkSettings | None = None,
        progress: bool | None = None,
        log: Callable[[str], None] = print_to_stderr,
        dense_threshold: int | None = None,
        batch_rows: int | None = None,
        workers: int | None = None,
        device: str | None = None,
        merge: bool | str = "new",
    ) -> None:
        self.started = time.monotonic()
        # "new" (default): merge only this build's own segments; full tiers of live segments are left to
        # `qa merge` / `qa serve`, so the daily add costs what its issue costs (see compose_version).
        self.merge = merge_mode(merge)
        self.index_dir, self.roots, self.log = index_dir, [os.path.abspath(r) for r in roots], log
        self.dense_threshold = dense_threshold
        self.version = next_version(index_dir)  # before cleanup: a half-written folder's number is never reused
        cleanup_versions(index_dir, log)
        self.live: Live = live_state(
            index_dir, rebuild=rebuild, model=model, embedder=embedder, settings=settings, log=log, device=device
        )
        # Model, chunking or format changed: every page is chunked again into new segments.
        self.redo = self.live.reason is not None
        # A redo chunks every live page again, so it reads them all; otherwise pages are looked up as read.
        self.old = live_pages(self.live, COLUMNS) if self.live.folder and self.redo else None
        self.lookup = LivePages(self.live.sources)
        self.batcher = SegmentBatcher(
            index_dir,
            self.live,
            cache_dir=index_dir / CACHE / "vectors",
            progress=progress,
            log=log,
            dense_threshold=dense_threshold,
            workers=workers,
            **({"batch_rows": batch_rows} if batch_rows else {}),
        )
        self.seen: set[str] = set()
        self.carried: set[str] = set()  # unchanged pages re-chunked from the live version (redo only)
        self.replaced: dict[str, str] = {}  # live pages read again with new content -> their segment
        self.plan = PagePlan()
        self.corrections = load_corrections(index_dir)  # page id -> the corrections of its articles

    def page(self, page: Page) -> None:
        """One page read now, as the index's corrections make it (``qa.store.overlay``): unchanged
        pages stay where they are, others go to a new segment."""
        for p in corrected(page, self.corrections, lambda q: segment_articles(q, self.log), self.log):
            self._page(p)

    def _page(self, page: Page) -> None:
        self.seen.add(page.page_id)
        digest = page_hash(page)
        old = self.old.get(page.page_id) if self.old is not None else self.lookup.find(page.page_id)
        if old is not None and old["content_hash"] == digest:
            if self.redo:
                self.carried.add(page.page_id)  # keeps its articles: no new segmentation
            return
        if old is None:
            self.plan.added += 1
        else:
            self.plan.changed += 1
            self.replaced[page.page_id] = old["segment"]
        self.batcher.add(page_record(page, digest), segment_articles(page, self.log))

    def finish(self, skipped: list[Skipped]) -> BuildReport:
        try:
            return self._finish(skipped)
        finally:
            self.lookup.close()

    def _finish(self, skipped: list[Skipped]) -> BuildReport:
        under = self.old if self.old is not None else self.lookup.under(self.roots)
        removed = {
            pid: o["segment"]
            for pid, o in under.items()
            if pid not in self.seen and under_roots(pid, o["root"] or "", self.roots)
        }
        self.plan.removed = len(removed)
        if not self.seen and (self.live.folder is None or self.plan.unchanged):
            self.log("没有从给出的路径读到任何版面，未发布新的索引版本。")
            return self._kept(skipped, nothing_read=True)
        if self.live.folder and self.plan.unchanged and not self.redo:
            self.log(f"索引已是最新（{self.live.name}），无需更新。")
            return self._kept(skipped)
        segment_of = {**self.replaced, **removed}  # pages the new version deletes -> their segment
        if self.redo:  # every other live page is chunked again
            carry_pages(self.live, [pid for pid in self.old if pid not in segment_of], self.batcher)
        new = self.batcher.finish()
        meta, kept_rows = compose_version(
            self.index_dir, self.live, self.redo, segment_of, new, self.log, self.dense_threshold, self.merge
        )
        embedder = {
            "name": self.live.embedder.name,
            "dim": int(self.live.embedder.dim),
            "engine": getattr(self.live.embedder, "engine", None),
        }
        seal_and_publish(
            self.index_dir,
            self.version,
            {"embedder": embedder, "chunking": self.live.settings.to_json(), **meta},
            self.log,
        )
        c, p = meta["counts"], self.plan
        embedded, reused = self.batcher.embedded, self.batcher.reused + kept_rows
        self.log(
            f"已发布索引版本 {self.version}：{c['pages']} 版，{c['articles']} 篇文章，{c['chunks']} 个段落"
            f"（{len(meta['segments'])} 个分段）；新嵌入 {embedded} 个，复用 {reused} 个；"
            f"新增 {p.added} 版，更新 {p.changed} 版，移除 {p.removed} 版。"
        )
        if pending := pending_merges(meta):
            waiting = sum(map(len, pending))
            self.log(f"有 {waiting} 个分段待合并，运行 qa merge 或由 qa serve 在后台合并。")
        if backfill_hint(new, meta["segments"]):
            self.log(f"大批回填完成：索引有 {len(meta['segments'])} 个分段，运行 qa merge --all 合并为一个，提问更快。")
        return BuildReport(
            self.version,
            c["pages"],
            c["articles"],
            c["chunks"],
            embedded,
            reused,
            p.added,
            p.changed,
            p.removed,
            skipped,
            self.live.reason,
            True,
            time.monotonic() - self.started,
        )

    def _kept(self, skipped: list[Skipped], nothing_read: bool = False) -> BuildReport:
        self.batcher.finish()
        return kept_report(self.live, skipped, self.started, nothing_read)
