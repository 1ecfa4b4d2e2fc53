"""The one request type for an ask (``AskRequest``) and its validation, shared by the CLI, ``/api/ask``,
``/api/ask/stream`` and ``/v1/chat/completions``.

Everything a client can get wrong is answered here with ``BadInput`` and a Chinese message naming the
field, before the service is called. Optional fields may be ``null`` (same as absent), so the
``filters`` object of an answer can be sent back as is. ``paper`` is stripped; an empty string means
"no paper filter". ``page`` is 1–999. ``as_of`` is the day 「去年」「上周」 are counted from (an ISO
date or ``"today"``; absent: the newest issue) and has that one name everywhere.

>>> parse_ask({"question": " 防汛 ", "page": 1}).question
'防汛'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as _date

from qa.config import DEFAULT_TOP_K, MAX_TOP_K
from qa.errors import BadInput
from qa.text.dates import LAST_AS_OF, date_out_of_range
from qa.types import Turn

MAX_QUESTION_CHARS = 500
MAX_PAPER_CHARS = 50
MAX_PAGE = 999
ASK_FIELDS = ("question", "top_k", "date_from", "date_to", "paper", "page", "as_of")
NO_INDEX = "尚未建立档案索引：请先运行 qa index，服务会自动加载。"
# sentences the chat page shows for checks it makes itself (GET /api/config)
PAGE_MESSAGES = {
    "question_too_long": f"问题太长：最多 {MAX_QUESTION_CHARS} 个字。",
    "dates_reversed": "起始日期不能晚于结束日期。",
    "no_index": NO_INDEX,
}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass
class AskRequest:
    """One question with its filters and, in a conversation, the turns before it."""

    question: str
    top_k: int = DEFAULT_TOP_K
    date_from: str | None = None
    date_to: str | None = None
    paper: str | None = None
    page: int | None = None
    as_of: str | None = None  # the day 「去年」 is counted from (default: the newest issue)
    history: list[Turn] = field(default_factory=list)


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_day(value, name: str) -> str:
    """``YYYY-MM-DD`` and a real calendar date, else BadInput naming the field ``name``."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise BadInput(f"字段 {name} 应为 YYYY-MM-DD 格式的日期，例如 2026-04-01。")
    try:
        _date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"字段 {name} 不是有效的日期：{value}。") from None
    return value


def parse_as_of(value, name: str = "as_of") -> str | None:
    """None, ``today``, or an ISO date inside the archive's plausible range (``qa.text.normalize``)."""
    if value in (None, "today"):
        return value
    value = parse_day(value, name)
    if out := date_out_of_range(value, LAST_AS_OF):
        raise BadInput(f"字段 {name} 的{out}。")
    return value


def parse_page(value, name: str = "page") -> int:
    if not is_int(value) or not 1 <= value <= MAX_PAGE:
        raise BadInput(f"字段 {name} 应为 1 到 {MAX_PAGE} 之间的整数（版次）。")
    return value


def parse_paper(value, name: str = "paper") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"字段 {name} 应为字符串（报纸名称）。")
    value = value.strip()
    if len(value) > MAX_PAPER_CHARS:
        raise BadInput(f"字段 {name} 太长：最多 {MAX_PAPER_CHARS} 个字。")
    return value or None


def parse_question(value) -> str:
    if value is None:
        raise BadInput("缺少字段 question（要提问的问题）。")
    if not isinstance(value, str):
        raise BadInput("字段 question 应为字符串。")
    value = value.strip()
    if not value:
        raise BadInput("问题不能为空。")
    if len(value) > MAX_QUESTION_CHARS:
        raise BadInput(f"{PAGE_MESSAGES['question_too_long']}现在是 {len(value)} 个字。")
    return value


def parse_ask(body: dict, history: list[Turn] | None = None) -> AskRequest:
    """A checked ``AskRequest`` from a decoded request body (the fields of ``ASK_FIELDS`` only)."""
    unknown = [k for k in body if k not in ASK_FIELDS]
    if unknown:
        names = "、".join(str(k)[:40] for k in unknown[:5])
        raise BadInput(f"未知字段：{names}。可用字段：{', '.join(ASK_FIELDS)}。")
    top_k = body.get("top_k")
    if top_k is None:
        top_k = DEFAULT_TOP_K
    elif not is_int(top_k) or not 1 <= top_k <= MAX_TOP_K:
        raise BadInput(f"字段 top_k 应为 1 到 {MAX_TOP_K} 之间的整数。")
    dates = {f: None if body.get(f) is None else parse_day(body[f], f) for f in ("date_from", "date_to")}
    if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
        raise BadInput("起始日期 date_from 不能晚于结束日期 date_to。")
    page = None if body.get("page") is None else parse_page(body["page"])
    return AskRequest(
        parse_question(body.get("question")),
        top_k,
        dates["date_from"],
        dates["date_to"],
        parse_paper(body.get("paper")),
        page,
        parse_as_of(body.get("as_of")),
        list(history or []),
    )
