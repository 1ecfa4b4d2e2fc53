"""Corrections by the archive team: an editor fixes an article's headline, date, 版 or text, for any
page the index holds (text, PDF, scan through OCR, JSONL record). Source files are never touched:
the correction is an entry of the index's overlay (``qa.store.overlay``, ``INDEX/corrections.json``)
that every build applies, and each change (correct, revert) is one row of the ``corrections`` table
in ``DATA/qa.sqlite3``, with the original values. Reverting removes the entry: the next build reads
the page as printed again.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from qa.admin.datadb import connect
from qa.errors import BadInput, NotCorrectable, NotFound
from qa.ingest.archive import read_archive, read_page_file
from qa.ingest.cache import OcrCache
from qa.request import parse_day, parse_page
from qa.store import overlay
from qa.store.location import Location, local_folder, ocr_cache
from qa.store.plan import segment_articles
from qa.types import Article, Page

SCHEMA = """
CREATE TABLE IF NOT EXISTS correction_log (id INTEGER PRIMARY KEY, at REAL NOT NULL, user TEXT NOT NULL,
                                           action TEXT NOT NULL, correction TEXT NOT NULL, page_id TEXT NOT NULL,
                                           entry TEXT NOT NULL);
"""
MAX_TEXT = 20000
WHERE = ("paper", "date", "page", "page_name", "issue_no", "source", "root")


def parse_correction(body: dict) -> dict:
    """The fields to correct (``title``, ``text``, ``date``, ``page``); BadInput naming a bad one."""
    out: dict = {}
    for field in ("title", "text"):
        v = body.get(field)
        if v is not None:
            if not isinstance(v, str) or not v.strip() or len(v) > MAX_TEXT:
                raise BadInput(f"字段 {field} 应为非空字符串，最多 {MAX_TEXT} 个字。")
            out[field] = v.strip()
    if body.get("new_date") is not None:
        out["date"] = parse_day(body["new_date"], "new_date")
    if body.get("new_page") is not None:
        out["page"] = parse_page(body["new_page"], "new_page")
    if not out:
        raise BadInput("没有要修改的内容：请给出 title（标题）、text（正文）、new_date（日期）或 new_page（版次）。")
    if not isinstance(body.get("article_id"), str) or not body["article_id"]:
        raise BadInput("缺少字段 article_id（引用中的文章编号）。")
    return out


def read_page(where: dict, page_id: str, index_dir: Path) -> Page:
    """The page as the archive reads it now (before corrections), with the metadata it is indexed under."""
    file, _, _ = page_id.partition("#")
    if "#" in page_id and file.lower().endswith(".jsonl"):
        found = [p for p in read_archive([file]).pages if p.page_id == page_id]
        if not found:
            raise NotCorrectable("这条 JSONL 记录已不在原文件中，不能校对。")
        return found[0]
    try:
        got = read_page_file(Path(page_id), OcrCache(ocr_cache(index_dir)))
    except (OSError, BadInput) as exc:
        raise NotCorrectable(f"这一版的原始文件无法读取（{getattr(exc, 'message', exc)}），不能校对。") from None
    return Page(
        page_id,
        where["paper"],
        where["date"],
        where["page"],
        got.text,
        where["source"],
        where["root"] or "",
        where["page_name"],
        where["issue_no"],
        read_as=got.read_as,
        roles=got.roles,
        columns=got.columns,
        frame=got.frame,
    )


def reindex_target(page_id: str, root: str) -> Path:
    """What to index again so the page is read anew: its JSONL file, the folder of the manifest.csv
    naming it, or its issue folder."""
    file = Path(page_id.partition("#")[0])
    if file.suffix.lower() == ".jsonl":
        return file
    top = Path(root) if root else file.parent
    for folder in file.parents:
        if (folder / "manifest.csv").is_file():
            return folder
        if folder == top or not folder.is_relative_to(top):
            break
    return file.parent


class Corrections:
    """The overlay of one index (folder or Milvus) and the change log in the data folder."""

    def __init__(self, data_dir: Path, index: Location):
        # the overlay sits in the index folder, or in a Milvus target's local folder (qa.store.location)
        self.data_dir, self.folder = Path(data_dir), local_folder(index)

    def _db(self) -> sqlite3.Connection:
        conn = connect(self.data_dir, SCHEMA)
        conn.row_factory = sqlite3.Row
        return conn

    def _log(self, user: str, action: str, entry: dict) -> None:
        with closing(self._db()) as db:
            db.execute(
                "INSERT INTO correction_log (at, user, action, correction, page_id, entry) VALUES (?,?,?,?,?,?)",
                (time.time(), user, action, entry["id"], entry["page_id"], json.dumps(entry, ensure_ascii=False)),
            )

    def entries(self) -> list[dict]:
        return [e for es in overlay.load(self.folder).values() for e in es]

    def correct(self, live: dict, article_id: str, changes: dict, user: str, before_save=None) -> dict:
        """Add (or extend) the correction of the live article ``live`` (``IndexReader.articles_by_id``).

        ``before_save(entry)`` runs just before the overlay is written: the server reserves its
        re-index job there, so a crash right after the write still ends with the page indexed."""
        base, moved_at = overlay.base_page(live["page_id"])
        mine = overlay.load(self.folder).get(base, [])
        where = {k: live[k] for k in WHERE}
        if moved_at is not None:  # a moved article: its page is named by the correction that moved it
            where = next((e["where"] for e in mine if overlay.moves(e)), None)
            if where is None:
                raise NotCorrectable("找不到这篇文章原来所在的版面，不能校对。")
        page = read_page(where, base, self.folder)
        arts = segment_articles(page, lambda _m: None)
        k = moved_at if moved_at is not None else _find(arts, mine, article_id, live)
        if k is None or k >= len(arts):
            raise NotCorrectable("在版面原文中找不到这篇文章（版面识别结果已变）：请刷新后重试。")
        old = next((e for e in mine if overlay.locate(arts, e) == k), None)
        a = arts[k]
        corrected = {**(old["corrected"] if old else {}), **changes}
        original = {"title": a.title, "text": a.body, "date": page.date, "page": page.page}
        corrected = {f: v for f, v in corrected.items() if v != original[f]}
        if not corrected:
            raise BadInput("改正后的内容与原文相同：没有要修改的内容（要撤销校对请用撤销）。")
        fixed = overlay.corrected_article(a, {"corrected": corrected})
        entry = {
            "id": old["id"] if old else secrets.token_hex(6),
            "page_id": base,
            "ordinal": k,
            "fingerprint": overlay.fingerprint(a.title, a.body),
            "after": overlay.fingerprint(fixed.title, fixed.body),
            "article_id": a.article_id,
            "where": {**where, "date": page.date, "page": page.page},
            "original": original,
            "corrected": corrected,
            "user": user,
            "at": time.time(),
        }
        if before_save is not None:
            before_save(entry)
        overlay.save(self.folder, lambda es: [e for e in es if e["id"] != entry["id"]] + [entry])
        self._log(user, "correct", entry)
        return entry

    def revert(self, correction_id: str, user: str, before_save=None) -> dict:
        entry = next((e for e in self.entries() if e["id"] == correction_id), None)
        if entry is None:
            raise NotFound(f"没有编号为 {correction_id} 的校对（可能已撤销）。")
        if before_save is not None:
            before_save(entry)
        overlay.save(self.folder, lambda es: [e for e in es if e["id"] != correction_id])
        self._log(user, "revert", entry)
        return entry

    def target(self, entry: dict) -> Path:
        return reindex_target(entry["page_id"], entry["where"]["root"] or "")

    def of_page(self, date: str, page: int, paper: str | None) -> list[dict]:
        """Active corrections of articles printed on, or moved to, this page."""
        out = []
        for e in self.entries():
            for d, p in ((e["original"]["date"], e["original"]["page"]), (e["corrected"].get("date"), None)):
                pg = e["corrected"].get("page", e["original"]["page"]) if p is None else p
                if d == date and pg == page and (paper is None or e["where"]["paper"] == paper):
                    out.append(e)
                    break
        return out

    def history(self, limit: int = 200) -> list[dict]:
        if not (self.data_dir / "qa.sqlite3").is_file():
            return []
        with closing(self._db()) as db:
            rows = db.execute("SELECT * FROM correction_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{**dict(r), "entry": json.loads(r["entry"])} for r in rows]


def _find(arts: list[Article], mine: list[dict], article_id: str, live: dict) -> int | None:
    """The article's place in the page as read: by id, else by its live text under its correction."""
    for k, a in enumerate(arts):
        if a.article_id == article_id:
            return k
    now = overlay.fingerprint(live["title"], live["body"])
    for e in mine:
        k = overlay.locate(arts, e)
        if k is not None and e["after"] == now:
            return k
    found = [k for k, a in enumerate(arts) if overlay.fingerprint(a.title, a.body) == now]
    return found[0] if len(found) == 1 else None


def is_current(entry: dict, live: dict) -> bool:
    """Is ``live`` (a live article row) the article this correction made, as it now stands?"""
    base, moved_at = overlay.base_page(live["page_id"])
    if base != entry["page_id"] or overlay.fingerprint(live["title"], live["body"]) != entry["after"]:
        return False
    c = entry["corrected"]
    return (moved_at is not None) == overlay.moves(entry) and (
        live["date"] == c.get("date", entry["original"]["date"])
        and live["page"] == c.get("page", entry["original"]["page"])
    )
