"""Corrections by the archive team as an overlay the build applies: source files are never rewritten.

The overlay is one readable JSON file in the index folder, ``INDEX/corrections.json``, so that every
build of that index applies it, whoever runs it (``qa index``, ``qa index --rebuild``, the server's
upload and correction jobs, ``qa watch``). Each entry names one article of one page:

- ``page_id``: the page as the index knows it (the resolved path of its file; ``<file>#<id>`` for a
  JSONL record), and ``ordinal``: the article's place in the page as read and segmented (0-based);
- ``fingerprint``: a hash of the article's title and body as read, so a page that is laid out
  differently after a program update finds its article again by content, or leaves the correction
  unapplied and says so (never applies it to another article);
- ``corrected``: any of ``title``, ``text``, ``date``, ``page``; ``original`` the values as read.

A title or text correction replaces the article in its page. A date or 版 correction moves the
article to a page of its own, ``<page_id>#corrected-<ordinal + 1>``, dated and numbered as corrected,
that keeps the printed page's image (``Page.image_file``), so the article stays drawn on the scan
it was printed on. Regions are always found from the articles as printed (``Page.printed``). The
page's content hash covers its articles, so a changed overlay makes its pages changed pages.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

from qa.errors import StorageError
from qa.types import Article, Page

FILE = "corrections.json"
VIRTUAL = "#corrected-"
_WRITE = threading.Lock()
_PARSED: dict[Path, tuple[tuple, dict[str, list[dict]]]] = {}  # load(): the overlay as last parsed


def fingerprint(title: str | None, body: str | None) -> str:
    return hashlib.sha1(json.dumps([title or "", body or ""], ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def base_page(page_id: str) -> tuple[str, int | None]:
    """The printed page of a page id and, for a moved article's own page, the article's ordinal.

    >>> base_page("/a/01.pdf#corrected-3"), base_page("/a/01.pdf")
    (('/a/01.pdf', 2), ('/a/01.pdf', None))
    """
    base, sep, n = page_id.rpartition(VIRTUAL)
    return (base, int(n) - 1) if sep and n.isdigit() else (page_id, None)


def moves(entry: dict) -> bool:
    return "date" in entry["corrected"] or "page" in entry["corrected"]


def load(index_dir: Path) -> dict[str, list[dict]]:
    """Active corrections by page id (empty when there are none). A file that exists but cannot be
    read stops the build (StorageError): publishing without it would silently undo every correction.

    Every answer marks its citations from this file, so it is parsed once per version of the file
    (its inode, size and mtime: ``save`` replaces it whole); entries are shared, read-only."""
    path = Path(index_dir) / FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StorageError(f"校对记录 {path} 无法读取（{exc}）：请检查文件权限。") from None
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _PARSED.get(path)
    if cached is None or cached[0] != key:
        cached = _PARSED[path] = (key, _parse(path))
    return {page_id: list(entries) for page_id, entries in cached[1].items()}


def _parse(path: Path) -> dict[str, list[dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data.get("corrections") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ValueError("没有 corrections 列表")
    except (OSError, ValueError) as exc:
        raise StorageError(
            f"校对记录 {path} 无法读取（{exc}）：请从备份恢复这个文件，或确认要放弃全部校对后删除它。"
        ) from None
    out: dict[str, list[dict]] = {}
    for e in entries:
        out.setdefault(e["page_id"], []).append(e)
    return out


def save(index_dir: Path, change: Callable[[list[dict]], list[dict]]) -> None:
    """Rewrite the overlay as ``change(entries)`` returns it, atomically (temporary file, then rename)."""
    path = Path(index_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)  # a Milvus target's local folder may not exist yet
    # one writer at a time: threads of this server (the lock), and other servers of this index (flock)
    with _WRITE, open(path.with_name(f".{FILE}.lock"), "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        entries = [e for es in load(index_dir).values() for e in es]
        entries = change(entries)
        tmp = path.with_name(f".{FILE}.{os.getpid()}.part")
        tmp.write_text(json.dumps({"corrections": entries}, ensure_ascii=False, indent=1), encoding="utf-8")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def locate(articles: list[Article], entry: dict) -> int | None:
    """The article an entry names: at its ordinal when its content is unchanged, else wherever that
    content now is (a new layout moved it), else None (the page no longer has it)."""
    k = entry["ordinal"]
    if 0 <= k < len(articles) and fingerprint(articles[k].title, articles[k].body) == entry["fingerprint"]:
        return k
    found = [i for i, a in enumerate(articles) if fingerprint(a.title, a.body) == entry["fingerprint"]]
    return found[0] if len(found) == 1 else None


def corrected_article(a: Article, entry: dict) -> Article:
    c = entry["corrected"]
    return replace(a, title=c.get("title", a.title), body=c.get("text", a.body))


def corrected(
    page: Page,
    corrections: dict[str, list[dict]],
    segment: Callable[[Page], list[Article]],
    log: Callable[[str], None],
) -> list[Page]:
    """``page`` as ``corrections`` (``load``) make it: ``[page]`` when none names it; ``segment``
    reads a page's articles (only called for a corrected page)."""
    entries = corrections.get(page.page_id)
    return apply(page, entries, segment(page), log) if entries else [page]


def apply(page: Page, entries: list[dict], articles: list[Article], log: Callable[[str], None]) -> list[Page]:
    """The pages a read page becomes under its corrections (``articles``: the page's articles as read)."""
    printed, out, moved = list(articles), list(articles), []
    for e in entries:
        k = locate(printed, e)
        if k is None:
            log(f"校对 {e['id']} 未应用：{page.source} 中已找不到这篇文章（版面识别结果已变），请重新校对。")
            continue
        out[k] = corrected_article(printed[k], e)
        if moves(e):
            moved.append((k, e))
    if out == printed and not moved:
        return [page]
    gone = {k for k, _ in moved}
    pages = []
    kept = [a for i, a in enumerate(out) if i not in gone]
    if kept:
        pages.append(replace(page, articles=kept, printed=printed))
    for k, e in moved:
        a, c = out[k], e["corrected"]
        pages.append(
            replace(
                page,
                page_id=f"{page.page_id}{VIRTUAL}{k + 1}",
                date=c.get("date", page.date),
                page=c.get("page", page.page),
                text="\n".join(t for t in (a.title, a.body) if t),
                articles=[a],
                printed=printed,
                image_file=page.image_file or page.page_id,
            )
        )
    return pages
