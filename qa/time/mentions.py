"""Periods an article speaks of, resolved at index time against its issue date.

The 2025-07-29 page says 「今年上半年，市属企业资产总额…1050亿元」: that passage speaks of
2025-01-01..2025-06-30 although it was printed in July. ``extract_periods`` finds every such
expression with the grammar the question parser uses (qa.time.grammar), so a question and a
passage agree on what 「上半年」 or 「一季度」 means.

>>> import datetime as dt
>>> found = extract_periods("今年上半年，昨天，日前", dt.date(2025, 7, 29))
>>> [(p.date_from, p.date_to, p.phrase, p.vague) for p in found]  # doctest: +NORMALIZE_WHITESPACE
[('2025-01-01', '2025-06-30', '今年上半年', False), ('2025-07-28', '2025-07-28', '昨天', False),
 ('2025-06-29', '2025-07-29', '日前', True)]

Rules beyond the question parser's (qa.time.patterns lists the shared ones):

* A date without a year is the latest one that ends no later than half a year after the
  issue: 「8月1日起」 in a July paper is this August; 「12月」 in a January paper last December.
* Overlapping expressions: the leftmost, then the longest wins (「2025年7月25日」, not 「2025年」
  and 「7月25日」); a range 「2005年6月至2006年3月」 is one period.
* Vague ones (「近日」, lunar dates, solar terms, festivals) are kept with ``vague=True`` and a
  rough window (the 30 days before the issue for 「近日」) for display; they never match a period.
* Dates inside 《》 or quotes count in text (《2025年政府工作报告》 speaks of 2025); a bare
  month before a noun (「五月艾」「《神圣十月》」) still does not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from qa.time.grammar import Anchor, Span, extend_range, find_spans

__all__ = ["Period", "extract_periods"]


@dataclass(frozen=True)
class Period:
    """One time expression of a text: inclusive days ``start..end``, its words and their offset."""

    start: dt.date
    end: dt.date
    phrase: str
    offset: int
    vague: bool = False

    @property
    def date_from(self) -> str:
        return self.start.isoformat()

    @property
    def date_to(self) -> str:
        return self.end.isoformat()

    def overlaps(self, date_from: dt.date, date_to: dt.date) -> bool:
        """True when this (precise) period shares a day with ``date_from..date_to``."""
        return not self.vague and self.start <= date_to and self.end >= date_from


def extract_periods(text: str, issue_date: dt.date) -> list[Period]:
    """Every time expression in ``text``, resolved against ``issue_date``, in text order.

    >>> [p.phrase for p in extract_periods("3月份的产量增长了7.28%，见第7版", dt.date(2025, 7, 29))]
    ['3月份']
    """
    anchor = Anchor(issue_date, text=True)
    spans = [s if s.vague else extend_range(text, s, anchor) for s in find_spans(text, anchor, False)]
    chosen: list[Span] = []
    taken_until = -1
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start), s.vague)):
        if s.start >= taken_until:
            chosen.append(s)
            taken_until = s.end
    return [Period(s.first, s.last, text[s.start : s.end], s.start, s.vague) for s in chosen]
