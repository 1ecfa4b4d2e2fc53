"""JSONL exports from a newspaper CMS: one object per line -> one Page with one Article."""

from __future__ import annotations

import re
from pathlib import Path

from qa.errors import BadInput
from qa.text.dates import date_out_of_range, parse_date
from qa.text.normalize import normalize_text
from qa.types import Article, Page


def display_path(path: Path, root: str | None = None) -> str:
    """The public name of an archive file (citations, article ids, skip reports), never an absolute
    server path: relative to the working directory when under it (``seeds/000_….txt``), else the
    archive root's folder name and the path inside it (``archive/聊城日报/…/01.txt``), else its name.

    A link is named as the archive names it, not by the file it points at.
    """
    path = path.absolute().parent.resolve() / path.name if path.name not in ("", ".", "..") else path.resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        pass
    if root:
        top = Path(root)
        if path == top or path.is_relative_to(top):
            return (Path(top.name) / path.relative_to(top)).as_posix()
    return path.name


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
    if out := date_out_of_range(day):
        raise BadInput(out)
    page = obj.get("page")
    if page not in (None, "") and not re.fullmatch(r"\d{1,4}", str(page).strip()):
        raise BadInput(f"版次不是整数：{page}")
    ident = str(obj["id"]).strip() if obj.get("id") not in (None, "") else None
    pid = f"{base}#{ident}" if ident else f"{base}#L{n}"
    body = normalize_text(text)
    if not body:
        raise BadInput("text 字段没有文字内容")
    title = normalize_text(str(obj.get("title") or "")).replace("\n", " ") or None
    opt = {k: str(obj[k]).strip() or None if obj.get(k) not in (None, "") else None for k in ("page_name", "issue_no")}
    # Article ids are public (citations): the displayed path, never the server's absolute one.
    shown = display_path(path, root)
    article = Article(ident or f"{shown}#L{n}#a1", title, body)
    return Page(
        pid,
        str(obj.get("paper") or "").strip() or path.stem,
        day,
        int(str(page).strip()) if page not in (None, "") else None,
        body,
        shown,
        root,
        opt["page_name"],
        opt["issue_no"],
        [article],
        read_as="jsonl",
    )
