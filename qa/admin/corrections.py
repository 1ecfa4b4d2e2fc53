"""Corrections by the archive team: an editor fixes an article's headline or OCR text.

Scope (docs/operations-inbox.md): pages kept as text files in the server's archive (added by upload
or the inbox). The page file is rewritten with the article's title and body replaced; the file as
it was is kept in ``DATA/originals/<paper>/<date>/`` and the original title and body in the
``corrections`` table, so the original stays retrievable; the issue folder is then indexed and
published like an upload. Date and 版 are not corrected here (they are the file's place: upload
the page again under the right date or 版).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from qa.admin.datadb import connect
from qa.errors import BadInput, NotCorrectable

SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (id INTEGER PRIMARY KEY, at REAL NOT NULL, user TEXT NOT NULL,
                                        source TEXT NOT NULL, article_id TEXT NOT NULL, original TEXT NOT NULL,
                                        corrected TEXT NOT NULL, kept_file TEXT NOT NULL);
"""
MAX_TEXT = 20000


def parse_correction(body: dict) -> dict:
    out = {}
    for field in ("title", "text"):
        v = body.get(field)
        if v is not None:
            if not isinstance(v, str) or not v.strip() or len(v) > MAX_TEXT:
                raise BadInput(f"字段 {field} 应为非空字符串，最多 {MAX_TEXT} 个字。")
            out[field] = v.strip()
    if not out:
        raise BadInput("没有要修改的内容：请给出 title（标题）或 text（正文）。")
    if not isinstance(body.get("article_id"), str):
        raise BadInput("缺少字段 article_id（引用中的文章编号）。")
    return out


def corrected_page(page_text: str, article: dict, changes: dict) -> str:
    """The page text with the article's title and body replaced; NotCorrectable when they cannot be found."""
    text = page_text
    body = (article.get("body") or "").strip()
    if "text" in changes:
        if not body or text.count(body) != 1:
            raise NotCorrectable("无法在版面原文中唯一地找到这篇文章的正文，不能自动校对。")
        text = text.replace(body, changes["text"])
    title = (article.get("title") or "").strip()
    if "title" in changes:
        if not title or title not in text:
            raise NotCorrectable("这篇文章没有可替换的标题。")
        text = text.replace(title, changes["title"], 1)
    return text


class Corrections:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _db(self) -> sqlite3.Connection:
        conn = connect(self.folder, SCHEMA)
        conn.row_factory = sqlite3.Row
        return conn

    def apply(self, source: Path, article: dict, changes: dict, user: str, archive: Path) -> Path:
        """Rewrite ``source`` (a text page in ``archive``) and record the correction; returns the issue folder."""
        source = source.resolve()
        if (
            source.suffix.lower() != ".txt"
            or not source.is_relative_to(Path(archive).resolve())
            or not source.is_file()
        ):
            raise NotCorrectable("只能校对上传或收件箱加入的文本版面（.txt）；PDF 和扫描版请修正后重新上传。")
        from qa.text.decode import decode_bytes
        from qa.text.normalize import normalize_text

        original_text = normalize_text(decode_bytes(source.read_bytes())[0])
        new_text = corrected_page(original_text, article, changes)
        rel = source.relative_to(Path(archive).resolve())
        kept = (
            self.folder
            / "originals"
            / rel.parent
            / f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}-{rel.name}"
        )
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(source.read_bytes())
        tmp = source.with_name(f".{source.name}.{secrets.token_hex(4)}.part")
        tmp.write_text(new_text, encoding="utf-8")
        os.replace(tmp, source)
        with closing(self._db()) as db:
            db.execute(
                "INSERT INTO corrections (at, user, source, article_id, original, corrected, kept_file) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    time.time(),
                    user,
                    rel.as_posix(),
                    article["article_id"],
                    json.dumps({"title": article.get("title"), "text": article.get("body")}, ensure_ascii=False),
                    json.dumps(changes, ensure_ascii=False),
                    kept.as_posix(),
                ),
            )
        return source.parent

    def history(self, source_rel: str | None = None) -> list[dict]:
        if not (self.folder / "qa.sqlite3").is_file():
            return []
        with closing(self._db()) as db:
            sql = "SELECT at, user, source, article_id, original, corrected FROM corrections"
            rows = db.execute(
                sql + (" WHERE source = ?" if source_rel else "") + " ORDER BY id", (source_rel,) if source_rel else ()
            ).fetchall()
        return [
            {**dict(r), "original": json.loads(r["original"]), "corrected": json.loads(r["corrected"])} for r in rows
        ]

    def corrected_sources(self) -> set[str]:
        return {r["source"] for r in self.history()}
