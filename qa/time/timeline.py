"""Coverage over time: reports in date order, counts per month or year, and timeline questions.

Pure functions over report records (date, paper, page, title, article_id) — whatever found
them (search hits, a period filter) — so they are tested without an index:

>>> rs = [Report("2023-07-02", "聊城日报", 1, "防汛", "a1"), Report("2023-05-09", "聊城日报", 3, "汛前", "a2"),
...       Report("2023-07-02", "聊城日报", 1, "防汛", "a1")]
>>> t = build_timeline(rs)
>>> (t.unit, t.total, t.first.date, t.last.date, [(b.key, b.count) for b in t.buckets])
('month', 2, '2023-05-09', '2023-07-02', [('2023-05', 1), ('2023-06', 0), ('2023-07', 1)])
>>> detect_timeline("防汛第一次见报是什么时候？")
TimelineQuery(kind='first', topic='防汛')
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from qa.time.grammar import Anchor, find_spans

__all__ = ["Report", "Bucket", "Timeline", "TimelineQuery", "build_timeline", "reports_in_order", "detect_timeline"]

# Longest span still drawn per month; longer coverage is counted per year (a chart of <= ~2 dozen bars).
MAX_MONTHS = 24


@dataclass(frozen=True)
class Report:
    """One printed article: ISO issue date, paper, page (版), headline, article id."""

    date: str
    paper: str
    page: int | None
    title: str | None
    article_id: str

    @classmethod
    def from_citation(cls, c) -> "Report":
        """From a ``qa.types.Citation`` (or anything with the same attributes)."""
        return cls(c.date, c.paper, c.page, c.title, c.article_id)

    def label(self) -> str:
        """「聊城日报 · 2025-07-29 · 第1版 · 《标题》」, as a reader cites it.

        >>> Report("2025-07-29", "聊城日报", 1, "防汛", "x").label()
        '聊城日报 · 2025-07-29 · 第1版 · 《防汛》'
        """
        parts = [self.paper, self.date]
        if self.page is not None:
            parts.append(f"第{self.page}版")
        if self.title:
            parts.append(f"《{self.title}》")
        return " · ".join(parts)


@dataclass
class Bucket:
    """One bar: a month (``2023-07``) or year (``2023``), its day range and the articles in it."""

    key: str
    date_from: str
    date_to: str
    count: int = 0
    article_ids: list[str] = field(default_factory=list)


@dataclass
class Timeline:
    unit: str  # "month" or "year"
    buckets: list[Bucket]
    total: int
    first: Report | None
    last: Report | None

    def to_json(self) -> dict:
        return asdict(self)


def reports_in_order(records: Iterable[Report]) -> list[Report]:
    """Distinct articles (by id; the earliest printing kept) in date, paper, page order."""
    best: dict[str, Report] = {}
    for r in records:
        if r.article_id not in best or r.date < best[r.article_id].date:
            best[r.article_id] = r
    return sorted(best.values(), key=lambda r: (r.date, r.paper, r.page or 0, r.title or "", r.article_id))


def _months(first: str, last: str) -> list[tuple[int, int]]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while (y, m) <= (int(last[:4]), int(last[5:7])):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_last_day(y: int, m: int) -> str:
    return f"{y:04d}-{m:02d}-{calendar.monthrange(y, m)[1]:02d}"


def build_timeline(records: Iterable[Report], unit: str = "auto") -> Timeline:
    """Counts of distinct articles per month (span up to MAX_MONTHS) or per year, empty bars included."""
    reports = reports_in_order(records)
    if not reports:
        return Timeline("month" if unit == "auto" else unit, [], 0, None, None)
    months = _months(reports[0].date, reports[-1].date)
    if unit == "auto":
        unit = "month" if len(months) <= MAX_MONTHS else "year"
    if unit == "month":
        buckets = [Bucket(f"{y:04d}-{m:02d}", f"{y:04d}-{m:02d}-01", _month_last_day(y, m)) for y, m in months]
        key_len = 7
    else:
        years = range(int(reports[0].date[:4]), int(reports[-1].date[:4]) + 1)
        buckets = [Bucket(f"{y:04d}", f"{y:04d}-01-01", f"{y:04d}-12-31") for y in years]
        key_len = 4
    by_key = {b.key: b for b in buckets}
    for r in reports:
        b = by_key[r.date[:key_len]]
        b.count += 1
        b.article_ids.append(r.article_id)
    return Timeline(unit, buckets, len(reports), reports[0], reports[-1])


@dataclass(frozen=True)
class TimelineQuery:
    """What a timeline question asks for: ``first``/``last`` report, a ``list`` of days, a ``histogram``."""

    kind: str
    topic: str


_REPORT = r"(?:报道|见报|刊登|刊发|提到|提及|登报|上报纸|出现在报纸)"
_CUES: list[tuple[str, re.Pattern[str]]] = [
    (
        "first",
        re.compile(rf"(?:第一次|首次|头一次|最早)(?:\S{{0,8}}?){_REPORT}|{_REPORT}\S{{0,6}}?(?:第一次|首次|最早)"),
    ),
    (
        "last",
        re.compile(
            rf"(?:最近一次|最后一次|最新一次|上一次|最近)(?:\S{{0,8}}?){_REPORT}|{_REPORT}\S{{0,6}}?(?:最近一次|最后一次)"
        ),
    ),
    (
        "histogram",
        re.compile(
            rf"{_REPORT}\S{{0,12}}?(?:有多少|多少篇|多少次|几篇|几次|数量|集中在|分布|趋势|哪些月份|哪几个月|哪些年份|哪几年)"
            rf"|(?:多少篇|多少次|每月|每年|按月|按年)\S{{0,6}}?{_REPORT}"
        ),
    ),
    (
        "list",
        re.compile(
            rf"(?:哪些天|哪几天|哪些日子|哪些日期|哪一天|哪几期|哪些期)\S{{0,8}}?{_REPORT}"
            rf"|{_REPORT}\S{{0,8}}?(?:哪些天|哪几天|哪些日子|哪些日期|哪几期|哪些期)|什么时候(?:都)?{_REPORT}过"
        ),
    ),
]
# Words that only frame the timeline question; what is left is the topic to search for.
_FRAME = re.compile(
    r"第一次|首次|头一次|最早|最近一次|最后一次|最新一次|上一次|最近|哪些天|哪几天|哪些日子|哪些日期|哪一天|哪几期|哪些期"
    r"|是什么时候|什么时候|何时|是哪天|哪天|有多少篇?|多少篇|多少次|几篇|几次|集中在哪些月份|集中在哪几个月|集中在|哪些月份"
    r"|哪几个月|哪些年份|每月|每年|分布|趋势|这几年|关于|有关|相关|本报|报纸|" + _REPORT[3:-1] + r"|[，,。？?！!、\s]"
)
# Particles left at the edges of a topic piece (「了聊城大运河」「防汛的」); inside words they stay.
_EDGE = "了的是都过在把对"


def _topic(question: str) -> str:
    """The question without frame words and date words (the caller takes the period from qa.time.question)."""
    spans = [x for x in find_spans(question, Anchor(dt.date(2000, 1, 1))) if not x.vague]
    chars = list(question)
    for x in spans:
        chars[x.start : x.end] = ["\x00"] * (x.end - x.start)
    pieces = _FRAME.sub("\x00", "".join(chars)).split("\x00")
    return "".join(p.strip(_EDGE) for p in pieces)


def detect_timeline(question: str) -> TimelineQuery | None:
    """The kind of timeline a question asks for, and its topic; None for ordinary questions.

    >>> detect_timeline("这几年关于防汛的报道有多少，集中在哪些月份？")
    TimelineQuery(kind='histogram', topic='防汛')
    >>> detect_timeline("首次突破1000亿元是哪一年？") is None    # a fact, not coverage
    True
    """
    for kind, cue in _CUES:
        if cue.search(question):
            return TimelineQuery(kind, _topic(question))
    return None
