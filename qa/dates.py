"""Kept for existing imports: the question date parser now lives in qa.time.question.

>>> import datetime as dt
>>> parse_date_range("去年三月", dt.date(2026, 4, 1)).label
'2025年3月'
"""

from qa.time.question import DateRange, parse_date_range, period_label, strip_dates, year_earlier

__all__ = ["DateRange", "parse_date_range", "period_label", "strip_dates", "year_earlier"]
