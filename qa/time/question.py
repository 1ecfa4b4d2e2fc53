"""Dates written in a question become a date range: 「去年三月」 -> 2025-03-01..2025-03-31.

The grammar is qa.time.grammar, shared with article text (qa.time.mentions); this module
picks the question's period and removes its words from the search query.

>>> import datetime as dt
>>> ref = dt.date(2026, 4, 1)                  # "today": by default the newest issue in the archive
>>> r = parse_date_range("7月28日的报纸讲了防汛的什么要求？", ref)
>>> (r.date_from, r.date_to, r.text, r.label)
('2025-07-28', '2025-07-28', '7月28日', '2025年7月28日')
>>> strip_dates("7月28日的报纸讲了防汛的什么要求？", r)
'报纸讲了防汛的什么要求？'
>>> parse_date_range("去年下半年聊城新增多少家企业", ref).label
'2025年下半年'
>>> parse_date_range("3月份的产量增长了7.28%", ref).label   # the month, never July 28
'2026年3月'
>>> parse_date_range("全市新增207家，第7版", ref) is None
True

Why hand-written: both maintained libraries were tried on the forms below (reference
2026-04-01). ``dateparser`` 1.5 returned year 1 for 「2025年」, nothing for 「二〇二五年」
「去年三月」「前年」「今年上半年」「一季度」, 2025-08-04 for 「7月28日」, and read 「7.28」
in 「增长了7.28%」 as the time 07:28. ``jionlp.parse_time`` 1.5 is much better at
Chinese periods but put 「7月28日」 in the future (2026-07-28), read 「２０２５年」 as
year 25, 「三月」 as a 3-month duration, rejected 「本月」「这个月」「上个月」, and took a
bare 「2025」 as a year; it also pulls in ~165 MB (jiojio) plus requests, takes 0.7 s to
import and prints a banner on stdout, which would corrupt ``qa ask --json``. The forms a
newspaper question uses are few, so a small parser over tested regexes is the better trade.

Rules (each decided here, and tested):

* A date without a year is the latest occurrence not after the reference: 「7月28日」
  asked on 2026-04-01 is 2025-07-28; 「三月」 is 2026-03; 「四季度」「下半年」 are 2025's.
* A year needs 年 (「2025年」「二〇二五年」「２０２５年」) or a full ISO date
  (「2025-07-28」「2025/7/28」「2025.7.28」); a bare 「2025」 is a number, not a year,
  because questions are full of counts (「2025家」) and a wrong filter hides the answer.
* Only years 1900-2099 count, so 「1050亿元」 and 「2200余家」 never become years.
* 「M.D」 without a year is never a date (「7.28%」 is a percentage).
* Periods are whole calendar units: 「本周」 is Monday..Sunday, 「本月」 the whole month.
* Two dates joined by 至/到/~/— make one range: 「2025年3月到5月」 -> 2025-03-01..2025-05-31;
  「2025年以来」「2025年至今」 run up to the reference.
* The first date in the question wins; the others stay in the question text.
* Vague words (「近日」「春节」) never become a filter: a question with only those is undated.
* Relative to the reference (``as_of``): 「五年前」 = the whole year five years back,
  「上个月底」 = days 21-end of last month, 「近三年」 = the 36 months up to the reference day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from qa.time.grammar import Anchor, extend_range, find_spans, month_end

__all__ = ["DateRange", "parse_date_range", "strip_dates", "period_label", "year_earlier"]


@dataclass
class DateRange:
    """An inclusive ISO period, the words it came from (``text``) and a Chinese label for messages."""

    date_from: str
    date_to: str
    text: str
    label: str
    # Said without a year (「上半年」「7月28日」): the placement is a guess; see ``year_earlier``.
    yearless: bool = False


def _month_end(d: dt.date) -> bool:
    return (d + dt.timedelta(days=1)).day == 1


def period_label(a: dt.date, b: dt.date) -> str:
    """Chinese name of a period: a day, a month, a year, a half, a quarter, or 「A至B」.

    >>> period_label(dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    '2025年第三季度'
    """
    day = f"{a.year}年{a.month}月{a.day}日"
    if a == b:
        return day
    whole_months = a.day == 1 and _month_end(b)
    if whole_months and a.year == b.year:
        if (a.month, b.month) == (1, 12):
            return f"{a.year}年"
        if a.month == b.month:
            return f"{a.year}年{a.month}月"
        if (a.month, b.month) in ((1, 6), (7, 12)):
            return f"{a.year}年{'上' if a.month == 1 else '下'}半年"
        if a.month % 3 == 1 and b.month == a.month + 2:
            return f"{a.year}年第{'一二三四'[a.month // 3]}季度"
    if whole_months and (a.month, b.month) == (1, 12):
        return f"{a.year}年至{b.year}年"
    if whole_months:
        return f"{a.year}年{a.month}月至{b.year}年{b.month}月"
    return f"{day}至{b.year}年{b.month}月{b.day}日"


def parse_date_range(question: str, reference: dt.date) -> DateRange | None:
    """The first period named in ``question``, resolved against ``reference``; None when there is none.

    >>> parse_date_range("今年一季度的报道", dt.date(2026, 4, 1)).date_to
    '2026-03-31'
    >>> parse_date_range("2025年3月到5月", dt.date(2026, 4, 1)).label
    '2025年3月至2025年5月'
    >>> parse_date_range("五年前的今天", dt.date(2026, 4, 1)).label
    '2021年'
    """
    anchor = Anchor(reference, text=False)
    spans = [s for s in find_spans(question, anchor) if not s.vague]
    if not spans:
        return None
    # Leftmost first; at one position the longest match wins (「2025年7月28日」 over 「2025年」).
    span = extend_range(question, min(spans, key=lambda s: (s.start, -(s.end - s.start))), anchor)
    a, b = span.first, span.last
    return DateRange(
        a.isoformat(), b.isoformat(), question[span.start : span.end], period_label(a, b), yearless=span.kind == "part"
    )


def year_earlier(rng: DateRange) -> DateRange:
    """The same yearless period one year back: the other reading of 「上半年」 asked early in a year.

    Asked on 2026-04-01, 「上半年」 is 2026-01..06 (begun, not over); the archive may only speak of
    2025's (issue 14). The ask path can try this reading when the first finds nothing.

    >>> r = parse_date_range("上半年资产总额达到多少", dt.date(2026, 4, 1))
    >>> (r.yearless, year_earlier(r).label)
    (True, '2025年上半年')
    """
    a, b = dt.date.fromisoformat(rng.date_from), dt.date.fromisoformat(rng.date_to)
    whole_month = _month_end(b)
    try:
        a = a.replace(year=a.year - 1)
        b = month_end(b.year - 1, b.month) if whole_month else b.replace(year=b.year - 1)
    except ValueError:  # 2月29日 has no day a year earlier
        return rng
    return DateRange(a.isoformat(), b.isoformat(), rng.text, period_label(a, b), rng.yearless)


def strip_dates(question: str, rng: DateRange | None) -> str:
    """The question without the date words (and a 的/在 that only served them), for the search query.

    >>> strip_dates("2025年聊城新增多少家企业？", DateRange("2025-01-01", "2025-12-31", "2025年", "2025年"))
    '聊城新增多少家企业？'
    """
    if rng is None or not rng.text or rng.text not in question:
        return question
    i = question.index(rng.text)
    before, after = question[:i], question[i + len(rng.text) :]
    before = re.sub(r"(?:在|于|从)$", "", before)
    after = re.sub(r"^(?:的|期间|，|,)", "", after)
    return (before + after).strip()
