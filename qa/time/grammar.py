"""One grammar of Chinese time expressions, shared by questions and article text.

Every expression found becomes a :class:`Span` (offsets, first and last day, vague or not).
The two callers differ only in how a date without a year is placed (``Anchor.text``):

* a question (``text=False``): the latest occurrence that has begun by the reference day —
  「7月28日」 asked on 2026-04-01 is 2025-07-28, 「下半年」 is 2025's;
* article text (``text=True``): the latest occurrence that has ended by half a year after
  the issue date — a paper of 2025-07-29 saying 「8月1日起」 means 2025-08-01 (news looks
  ahead), 「1至12月」 printed in 2024-02 means 2023, 「12月」 printed in January last December.

>>> import datetime as dt
>>> [(s.start, s.end, s.first.isoformat(), s.vague) for s in find_spans("昨天和近日", Anchor(dt.date(2025, 7, 29)))]
[(0, 2, '2025-07-28', False), (3, 5, '2025-06-29', True)]
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from qa.time import patterns as P

# How far ahead of the issue date a yearless date in article text may lie (news announces plans).
TEXT_AHEAD = dt.timedelta(days=183)
# What a vague word (「近日」「日前」) is taken to cover, for display only: it never matches a period.
VAGUE_BACK = dt.timedelta(days=30)


@dataclass(frozen=True)
class Anchor:
    """The day relative words are counted from, and whose rule places yearless dates."""

    ref: dt.date
    text: bool = False


@dataclass(frozen=True)
class Span:
    """One expression: ``[start, end)`` offsets, inclusive days ``first..last``, and the pattern kind."""

    start: int
    end: int
    first: dt.date
    last: dt.date
    kind: str
    vague: bool = False


def num(s: str) -> int | None:
    """「28」「二十八」「十」「二〇二五」「两」 -> int; None when it is not a plain numeral.

    >>> num("二十八"), num("十"), num("二〇二五"), num("两"), num("十二三")
    (28, 10, 2025, 2, None)
    """
    s = s.translate(P.WIDE).replace("两", "二")
    if s.isdigit():
        return int(s)
    if "十" not in s:
        if s and all(c in P.CN_DIGIT for c in s):
            return int("".join(str(P.CN_DIGIT[c]) for c in s))
        return None
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or "十" in ones or len(ones) > 1:
        return None
    t = P.CN_DIGIT.get(tens, -1) if tens else 1
    o = P.CN_DIGIT.get(ones, -1) if ones else 0
    return None if t < 1 or o < 0 else t * 10 + o


def month_end(y: int, m: int) -> dt.date:
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def _shift_month(y: int, m: int, by: int) -> tuple[int, int]:
    y2, m0 = divmod(y * 12 + m - 1 + by, 12)
    return y2, m0 + 1


def place_year(anchor: Anchor, span_of) -> tuple[dt.date, dt.date] | None:
    """The (first, last) of ``span_of(year)`` for the year the anchor's rule picks; None if none fits."""
    ref = anchor.ref
    for year in (ref.year + 1, ref.year, ref.year - 1):
        try:
            a, b = span_of(year)
        except ValueError:  # 2月29日 in a year without it
            continue
        if (b <= ref + TEXT_AHEAD) if anchor.text else (a <= ref):
            return a, b
    return None


def _part_span(g: dict[str, str | None], year: int) -> tuple[dt.date, dt.date]:
    """The period a PART group names within ``year``; raises ValueError for impossible numbers."""
    if g.get("half"):
        first = 1 if g["half"] == "上半年" else 7
        return dt.date(year, first, 1), month_end(year, first + 5)
    if g.get("qn"):
        return dt.date(year, 1, 1), month_end(year, 3 * _checked(g["qn"], 3))
    if g.get("q"):
        first = 3 * (_checked(g["q"], 4) - 1) + 1
        return dt.date(year, first, 1), month_end(year, first + 2)
    if g.get("mn"):
        return dt.date(year, 1, 1), month_end(year, _checked(g["mn"], 12))
    if g.get("r1"):
        m1, m2 = _checked(g["r1"], 12), _checked(g["r2"], 12)
        if m2 <= m1:
            raise ValueError("reversed month range")
        return dt.date(year, m1, 1), month_end(year, m2)
    if g.get("ys"):
        return P.YEAR_PART[g["ys"]](year)
    m = _checked(g["m"], 12)
    if g.get("d"):
        day = dt.date(year, m, num(g["d"]) or 0)
        return day, day
    return sub_month(year, m, g.get("sub"))


def _checked(s: str | None, top: int) -> int:
    n = num(s or "")
    if n is None or not 1 <= n <= top:
        raise ValueError(f"{s!r} out of 1..{top}")
    return n


def sub_month(year: int, m: int, sub: str | None) -> tuple[dt.date, dt.date]:
    """A month or a part of it: 「3月」 whole, 「3月初/上旬」 1-10, 「中旬」 11-20, 「底/末/下旬」 21-end."""
    last = month_end(year, m)
    lo, hi = P.MONTH_PART.get(sub or "", (1, last.day))
    return dt.date(year, m, lo), dt.date(year, m, min(hi, last.day))


def _year_of(g: dict[str, str | None], ref: dt.date) -> int | None:
    """The year a YEAR group names (「2025年」「二〇二五年」「去年」), None when absent or outside 1900-2099."""
    if g.get("y"):
        y = num(g["y"])
        return y if y is not None and 1900 <= y <= 2099 else None
    if g.get("ry"):
        return ref.year + P.REL_YEAR[g["ry"]]
    return None


def resolve(kind: str, m: re.Match[str], anchor: Anchor) -> tuple[dt.date, dt.date] | None:
    """One match -> (first, last) day; None when the numbers are no date."""
    g, ref = m.groupdict(), anchor.ref
    try:
        if kind in P.RELATIVE:
            return _relative(kind, m, ref)
        if kind == "plan":
            return P.plan_years(g["plan"])
        if kind == "year_range":
            y1, y2 = num(g["y"]), num(g["y2"])
            ok = y1 and y2 and 1900 <= y1 < y2 <= 2099
            return (dt.date(y1, 1, 1), dt.date(y2, 12, 31)) if ok else None
        if kind == "iso" or kind == "iso_month":
            y, mo = int(g["y"]), int(g["m"])
            if not 1900 <= y <= 2099:
                return None
            if kind == "iso":
                day = dt.date(y, mo, int(g["d"]))
                return day, day
            return dt.date(y, mo, 1), month_end(y, mo)
        year = _year_of(g, ref)
        if kind == "year":
            if year is None:
                return None
            return P.YEAR_PART[g["ysub"]](year) if g.get("ysub") else (dt.date(year, 1, 1), dt.date(year, 12, 31))
        if kind == "year_part" and year is None:
            return None
        if year is not None:
            return _part_span(g, year)
        return place_year(anchor, lambda y: _part_span(g, y))
    except (ValueError, OverflowError):  # no such day, or beyond year 1..9999 (「明天」 on 9999-12-31)
        return None


def _relative(kind: str, m: re.Match[str], ref: dt.date) -> tuple[dt.date, dt.date] | None:
    """Periods counted from the reference: 昨天, 上周, 上个月底, 近三天, 五年前; vague words."""
    word, g = m.group(0), m.groupdict()
    if kind == "vague":
        return ref - VAGUE_BACK, ref
    if kind == "day_rel":
        day = ref + dt.timedelta(days=P.DAY_REL[word])
        return day, day
    if kind == "week":
        monday = ref - dt.timedelta(days=ref.weekday()) + dt.timedelta(days=7 * P.WEEK_REL[g["w"]])
        return monday, monday + dt.timedelta(days=6)
    if kind == "month_rel":
        y, mo = _shift_month(ref.year, ref.month, P.MONTH_REL[g["mo"]])
        return sub_month(y, mo, g.get("sub"))
    n = num(g["n"])
    if not n or n > 100:
        return None
    unit = g["unit"]
    if kind == "ago":
        if unit == "年":
            return dt.date(ref.year - n, 1, 1), dt.date(ref.year - n, 12, 31)
        if unit == "个月":
            return sub_month(*_shift_month(ref.year, ref.month, -n), None)
        back = ref - dt.timedelta(days=n * (1 if unit == "天" else 7))
        if unit == "天":
            return back, back
        monday = back - dt.timedelta(days=back.weekday())
        return monday, monday + dt.timedelta(days=6)
    # kind == "recent": the last n days/weeks/months/years up to the reference day.
    if unit in ("天", "日"):
        return ref - dt.timedelta(days=n - 1), ref
    if unit in ("周", "星期", "个星期"):
        return ref - dt.timedelta(days=7 * n - 1), ref
    y, mo = _shift_month(ref.year, ref.month, -(n * 12 if unit == "年" else n))
    return dt.date(y, mo, min(ref.day, calendar.monthrange(y, mo)[1])) + dt.timedelta(days=1), ref


def _is_name(text: str, m: re.Match[str], kind: str, titles: list[tuple[int, int]]) -> bool:
    """True when the match is part of a name: inside a title, or a bare month before a noun (「五月艾」)."""
    if any(a <= m.start() and m.end() <= b for a, b in titles):
        return True
    g = m.groupdict()
    # Only Chinese numerals make names (「五月艾」「七月乐队」); 「12月全市…」 is December.
    bare_month = kind == "part" and g.get("m") and not g.get("d") and not g.get("sub") and not g["m"].isdigit()
    return bool(bare_month and not P.AFTER_BARE_MONTH.match(text, m.end()))


def find_spans(text: str, anchor: Anchor, titles_are_names: bool = True) -> list[Span]:
    """Every expression in ``text`` (overlapping ones included), in pattern order.

    ``titles_are_names``: a question's 《神圣十月》 or “七月” names a work, not a month; article
    text keeps dates inside quotes (「“十四五”时期」, 《2025年政府工作报告》 speaks of 2025)
    while the bare-month rule still keeps 《神圣十月》 out.
    """
    text = text.translate(P.WIDE)
    titles = [(t.start(), t.end()) for t in P.TITLE.finditer(text)] if titles_are_names else []
    found = []
    for kind, pattern in P.PATTERNS:
        for m in pattern.finditer(text):
            if kind == "vague" or not _is_name(text, m, kind, titles):
                span = resolve(kind, m, anchor)
                if span is not None:
                    found.append(Span(m.start(), m.end(), span[0], span[1], kind, kind == "vague"))
    return found


def extend_range(text: str, span: Span, anchor: Anchor) -> Span:
    """「…到5月」「…至30日」「…以来」 right after a span: one range, the tail inheriting year and month."""
    text = text.translate(P.WIDE)
    a, end = span.first, span.end
    since = P.SINCE.match(text, end)
    if since:
        return _with(span, since.end(), anchor.ref) if anchor.ref >= a else span
    c = P.CONNECTOR.match(text, end)
    t = P.TAIL.match(text, c.end()) if c else None
    if not t or t.end() == c.end():
        return span
    y = num(t["y"]) if t["y"] else a.year
    mo = num(t["m"]) if t["m"] else (a.month if t["d"] else 12 if t["y"] else None)
    if y is None or mo is None or not 1900 <= y <= 2099 or not 1 <= mo <= 12:
        return span
    try:
        last = dt.date(y, mo, num(t["d"]) or 0) if t["d"] else month_end(y, mo)
    except ValueError:
        return span
    return _with(span, t.end(), last) if last >= a else span


def _with(span: Span, end: int, last: dt.date) -> Span:
    return Span(span.start, end, span.first, last, span.kind, span.vague)
