"""JSONL exports from a newspaper CMS: one object per line -> one Page with one Article."""

from __future__ import annotations

import re
from pathlib import Path

from qa.errors import BadInput
from qa.text.normalize import normalize_text, parse_date
from qa.types import Article, Page


def display_path(path: Path) -> str:
    """Path relative to the working directory when under it, else absolute: ``seeds/000_….txt``."""
    path = path.resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def jsonl_page(obj: object, base: str, n: int, path: Path, root: str) -> Page:
    """Line ``n`` of the export at ``path`` (``base`` = its absolute path); raises BadInput."""
    if not isinstance(obj, dict):
        raise BadInput("这一行不是 JSON 对象")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInput("缺少 text 字段（正文）")
    if obj.get("date") in (None, ""):
        raise BadInput("缺少 date 字段（日期）")
    day = parse_date(obj["date"])
    if day is None:
        raise BadInput(f"日期无效：{obj['date']}（应为 YYYY-MM-DD）")
    page = obj.get("page")
    if page not in (None, "") and not re.fullmatch(r"\d{1,4}", str(page).strip()):
        raise BadInput(f"版次不是整数：{page}")
    ident = str(obj["id"]).strip() if obj.get("id") not in (None, "") else None
    pid = f"{base}#{ident}" if ident else f"{base}#L{n}"
    body = normalize_text(text)
    if not body:
        raise BadInput("text 字段没有文字内容")
    title = normalize_text(str(obj.get("title") or "")).replace("\n", " ") or None
    opt = {k: str(obj[k]).strip() or None if obj.get(k) not in (None, "") else None
           for k in ("page_name", "issue_no")}
    # Article ids are public (citations): the displayed path, never the server's absolute one.
    article = Article(ident or f"{display_path(path)}#L{n}#a1", title, body)
    return Page(pid, str(obj.get("paper") or "").strip() or path.stem, day,
                int(str(page).strip()) if page not in (None, "") else None,
                body, display_path(path), root, opt["page_name"], opt["issue_no"], [article], read_as="jsonl")
