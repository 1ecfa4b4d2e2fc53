"""Dates as archives write them, and the dates a newspaper issue can plausibly carry."""

from __future__ import annotations

import re
from datetime import date, timedelta

from qa.text.normalize import to_halfwidth

_DATE_PATTERNS = [
    re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$"),
    re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$"),
]


def parse_date(value: object) -> str | None:
    """ISO date from the usual spellings, None if impossible: ``parse_date("2026年4月1日") -> "2026-04-01"``."""
    text = to_halfwidth(str(value or ""))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                return None
    return None


# The dates an issue of a newspaper can plausibly carry. The first Chinese-language periodical
# (察世俗每月统记传) appeared in 1815 and 申报 in 1872, so 1800 leaves room for any real archive;
# an issue can be dated a little ahead (printed the evening before, a planned special issue), not
# years ahead. Anything outside is a typing or export error (0001-01-01, 9999-12-31), and such a
# record would become "the newest issue" that 「明天」「去年」 are counted from.
FIRST_ISSUE = date(1800, 1, 1)
ISSUE_AHEAD = timedelta(days=366)
# ``as_of`` (the day a question is asked from) may look further ahead (「去年」 as of 2029), but stays
# in the two centuries the time grammar reads explicit years in, far from the calendar's ends.
LAST_AS_OF = date(2199, 12, 31)


def last_issue() -> date:
    """The latest date an issue may carry: one year after today."""
    return date.today() + ISSUE_AHEAD


def date_out_of_range(day: date | str, latest: date | None = None) -> str | None:
    """A Chinese reason when ``day`` is outside FIRST_ISSUE..``latest`` (default: last_issue()), else None.

    >>> date_out_of_range("9999-12-31").startswith("日期 9999-12-31 超出报纸档案的合理范围（1800-01-01 至")
    True
    """
    value = date.fromisoformat(day) if isinstance(day, str) else day
    latest = latest or last_issue()
    if FIRST_ISSUE <= value <= latest:
        return None
    return f"日期 {value.isoformat()} 超出报纸档案的合理范围（{FIRST_ISSUE.isoformat()} 至 {latest.isoformat()}）"
