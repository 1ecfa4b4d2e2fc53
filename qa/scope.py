"""A question's scope, built once: the text to search, the rows it may be answered from, the period
it asks about, and the refusal to give when that period is not in the archive.

A year or month named in a question means "printed then, or speaking of then": the question
「2025年聊城新增多少家专精特新企业？」 is answered by the 2026-04-01 page that reviews 2025, so
passages whose text names the period (「2025年」) are allowed too. A period that the archive
neither printed nor mentions is refused by name (「档案中没有2010年的报纸。」) instead of being
answered from other dates. Explicit filters (``--from/--to``, ``date_from/date_to``) win over dates
in the question.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np

from .dates import DateRange, parse_date_range, strip_dates
from .errors import BadInput
from .text import parse_iso_date
from .types import Filters

OUT_OF_ARCHIVE = "out_of_archive"  # the refusal kind the JSON reports when the period is not in the archive


@dataclass
class Scope:
    """Where one question may be answered from. ``allowed`` None means the whole archive."""

    question: str
    query: str  # the question without its date words: what both searches look for
    filters: Filters  # the publication filters in force, as the JSON reports them
    period: DateRange | None  # the period named in the question, if any
    allowed: np.ndarray | None
    refusal: str | None = None  # set when nothing may be searched because the period is not in the archive

    @property
    def is_empty(self) -> bool:
        return self.allowed is not None and len(self.allowed) == 0

    def without_period(self, reader) -> "Scope":
        """The same question over every date (the paper and page filters stay): the scope to check
        when the asked period holds only weak evidence, so that it never hides the one real answer."""
        filters = replace(self.filters, date_from=None, date_to=None)
        allowed = reader.rows_matching(None, None, filters.paper, filters.page)
        return Scope(self.question, self.query, filters, None, allowed)


def out_of_archive_message(label: str) -> str:
    """「档案中没有2010年的报纸。」 — the asked period is not in the archive at all."""
    return f"档案中没有{label}的报纸。"


def reference_date(reader, given: str | None = None) -> dt.date:
    """The "today" that 「去年」「上个月」 are resolved against: ``given`` ("today" or ISO), else the newest issue."""
    if given == "today":
        return dt.date.today()
    if given:
        day = parse_iso_date(given)
        if day is None:
            raise BadInput(f"as_of 应为 YYYY-MM-DD 格式的日期或 today，收到 {given!r}。")
        return day
    dates = reader.issue_dates()
    return dt.date.fromisoformat(dates[-1]) if dates else dt.date.today()


def mention_patterns(rng: DateRange) -> list[str]:
    """Words that name the period in text: a year -> ["2025年"], a month -> ["2025年7月"], a day -> ["7月28日"].

    Other spans (「上周」, 「今年上半年」) name nothing: they are publication periods only.

    >>> mention_patterns(DateRange("2025-07-01", "2025-07-31", "去年7月", "2025年7月"))
    ['2025年7月']
    """
    start, end = dt.date.fromisoformat(rng.date_from), dt.date.fromisoformat(rng.date_to)
    if start == end:
        return [f"{start.month}月{start.day}日"]
    if start.year != end.year:
        return [f"{y}年" for y in range(start.year, end.year + 1)][:3]
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return [f"{start.year}年"]
    if start.month == end.month and start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        return [f"{start.year}年{start.month}月"]
    return []


def validate_filters(filters: Filters) -> None:
    """Raise BadInput (Chinese message) for impossible filters: bad ISO dates, a reversed range, page < 1."""
    for value in (filters.date_from, filters.date_to):
        if value is not None and parse_iso_date(value) is None:
            raise BadInput(f"日期格式不对：{value!r}，应为 YYYY-MM-DD，例如 2025-07-29。")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise BadInput(f"起始日期 {filters.date_from} 晚于结束日期 {filters.date_to}。")
    if filters.page is not None and filters.page < 1:
        raise BadInput(f"版次必须是正整数，收到 {filters.page}。")


def question_scope(reader, question: str, filters: Filters | None = None, reference: str | None = None) -> Scope:
    """The scope of ``question`` over one index version (``reference``: see :func:`reference_date`)."""
    question = question.strip()
    if not question:
        raise BadInput("问题不能为空。")
    filters = filters or Filters()
    validate_filters(filters)
    query, period, mentions, label = question, None, None, None
    if filters.date_from is None and filters.date_to is None:
        period = parse_date_range(question, reference_date(reader, reference))
        if period is not None:
            filters = replace(filters, date_from=period.date_from, date_to=period.date_to)
            query = strip_dates(question, period) or question
            mentions = _rows_mentioning(reader, period, filters)
            label = period.label
    else:
        label = f"{filters.date_from or '最早'}至{filters.date_to or '最新'}"
    allowed = _allowed_rows(reader, filters, mentions)
    scope = Scope(question, query, filters, period, allowed)
    if scope.is_empty and label and not _printed_in(reader, filters):
        scope.refusal = out_of_archive_message(label)
    return scope


def _rows_mentioning(reader, period: DateRange, filters: Filters) -> np.ndarray:
    rows = reader.rows_containing(mention_patterns(period), filters.paper)
    if len(rows) == 0 and not _printed_in(reader, filters):
        # 「1992年7月…」 where no text says 「1992年7月」: passages naming the year still speak of it.
        rows = reader.rows_containing([f"{period.date_from[:4]}年"], filters.paper)
    return rows


def _printed_in(reader, filters: Filters) -> bool:
    """Did the archive print any issue (of the filtered paper) inside the filtered dates?"""
    return reader.has_issues(filters.date_from or "0000-00-00", filters.date_to or "9999-99-99", filters.paper)


def _allowed_rows(reader, filters: Filters, extra: np.ndarray | None) -> np.ndarray | None:
    """Rows that pass the filters (None: no filter), widened by ``extra`` rows (passages naming the period)."""
    rows = reader.rows_matching(filters.date_from, filters.date_to, filters.paper, filters.page)
    if rows is None or extra is None or len(extra) == 0:
        return rows
    return np.union1d(rows, extra).astype(np.int64)
