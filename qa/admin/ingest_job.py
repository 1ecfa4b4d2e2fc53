"""Index issue folders already in the archive and say what came of each file: the step shared by
``POST /api/issues`` (``qa.app.upload_api``) and the inbox (``qa.admin.inbox``).

Stages, reported through ``progress`` as they begin: ``reading`` (text files and PDF text layers)
or ``ocr`` (when a scan or PDF is among the files), ``embedding`` (new and changed pages chunked,
embedded and written as a new index version), ``published`` (the version is live; the server has
been told to swap it in). The build is ``qa.store.build_from_pages``: incremental, atomically
published, and a crash at any point leaves the live version as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.ingest.archive import PAGE_SUFFIXES
from qa.ingest.ocr import IMAGE_SUFFIXES
from qa.store.location import Location, ocr_cache

log = logging.getLogger("qa.ingest")
SCAN_SUFFIXES = {".pdf", *IMAGE_SUFFIXES}


@dataclass
class Progress:
    """What a job shows while it runs (``GET /api/issues/<job>``)."""

    stage: str = "queued"
    pages_read: int = 0
    pages_total: int = 0
    listeners: list[Callable[["Progress"], None]] = field(default_factory=list, repr=False)

    def set(self, **kw) -> None:
        for k, v in kw.items():
            setattr(self, k, v)
        for fn in self.listeners:
            fn(self)

    def to_json(self) -> dict:
        return {"stage": self.stage, "pages_read": self.pages_read, "pages_total": self.pages_total}


def page_files(targets: list[Path]) -> list[Path]:
    files: list[Path] = []
    for t in targets:
        files += [t] if t.is_file() else sorted(p for p in t.rglob("*") if p.is_file() and not p.name.startswith("."))
    return files


def ingest_folders(
    targets: list[Path],
    index: Location,
    *,
    embedder=None,
    progress: Progress | None = None,
    on_published: Callable[[], None] | None = None,
) -> dict:
    """Read ``targets`` (issue folders, manifest folders, .jsonl files inside the archive), build and
    publish; returns ``{"version", "published", "pages": [...], "skipped": [...]}``."""
    from qa.ingest import read_archive
    from qa.store import build_from_pages
    from qa.store.plan import segment_articles

    progress = progress or Progress()
    files = page_files(targets)
    total = sum(1 for f in files if f.suffix.lower() in PAGE_SUFFIXES)
    progress.set(
        stage="ocr" if any(f.suffix.lower() in SCAN_SUFFIXES for f in files) else "reading",
        pages_total=total,
        pages_read=0,
    )
    pages = []

    def sink(page) -> None:
        pages.append(page)
        progress.set(pages_read=len(pages))

    report = read_archive([str(t) for t in targets], ocr_cache=ocr_cache(index), sink=sink)
    progress.set(stage="embedding")
    roots = [t.resolve().as_posix() for t in targets if t.exists()]
    built = build_from_pages(
        pages, roots, index, skipped=list(report.skipped), embedder=embedder, progress=False, log=log.info
    )
    if built.published and on_published is not None:
        on_published()
    progress.set(stage="published" if built.published else "unchanged")
    return {
        "version": built.version,
        "published": built.published,
        "pages": [_page_json(p, segment_articles(p, log.info)) for p in pages],
        "skipped": [
            {"file": Path(s.source).name, "source": s.path or s.source, "reason": s.reason, "line": s.line}
            for s in report.skipped
        ],
    }


def _page_json(page, articles) -> dict:
    # "source" is the server path (a page id is the file's path, ``#<id>`` added for JSONL lines);
    # the job's JSON leaves it out
    return {
        "file": Path(page.source).name,
        "source": page.page_id.split("#")[0],
        "paper": page.paper,
        "date": page.date,
        "page": page.page,
        "read_as": page.read_as,
        "articles": len(articles),
        "titles": [a.title for a in articles if a.title],
    }


def skipped_files(result: dict, targets: list[Path]) -> dict[Path, str]:
    """Files under ``targets`` that were skipped as a whole (not single JSONL lines) -> the reason.
    (``source`` here is the server path; the job's JSON leaves it out.)"""
    wanted = {f.resolve(): f for f in page_files(targets)}
    out: dict[Path, str] = {}
    for s in result["skipped"]:
        path = Path(s["source"]).resolve()
        if s["line"] is None and path in wanted:
            out[wanted[path]] = s["reason"]
    return out


def copy_atomic(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` through a hidden temporary name (which readers ignore), then rename:
    ``dst`` is whole or absent, whenever the process dies; running it again is harmless."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part")
    shutil.copyfile(src, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dst)
