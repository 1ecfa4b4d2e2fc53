"""Dates written in a question become a date range: 「去年三月」 -> 2025-03-01..2025-03-31.

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
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["DateRange", "parse_date_range", "strip_dates"]


@dataclass
class DateRange:
    """An inclusive ISO period, the words it came from (``text``) and a Chinese label for messages."""

    date_from: str
    date_to: str
    text: str
    label: str


# Full-width digits map one-to-one onto ASCII, so match offsets stay valid on the original text.
_WIDE = str.maketrans("０１２３４５６７８９．／－", "0123456789./-")
_CN_DIGIT = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

_Y4 = r"(?:\d{4}|[〇零○Ｏ一二三四五六七八九]{4})"
# Month and day numerals, Arabic or Chinese up to 三十一; validity is checked after matching.
_MD = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_REL_YEAR = r"(?:今年|去年|前年|明年)"  # not 本年: in reference prose it means "that year"
_YEAR = rf"(?:(?<![\d.])(?P<y>{_Y4})年|(?P<ry>{_REL_YEAR}))"
_PART = (r"(?P<half>上半年|下半年)|(?:第)?(?P<q>[一二三四1-4])季度"
         rf"|(?P<m>{_MD})月份?(?:(?P<d>{_MD})[日号])?")
_NOT_NUM = r"(?![\d.])"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d\d)([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\d.%])")),
    ("iso_month", re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d\d)[-/](?P<m>\d{1,2})(?![\d./\-%万亿])")),
    ("year_part", re.compile(rf"{_YEAR}(?:的)?(?:{_PART})")),
    ("year", re.compile(_YEAR + r"(?:度)?")),
    # Not after 年: 「475年9月」 is a month of a year outside 1900-2099, not this September.
    ("part", re.compile(rf"(?<![\d一二三四五六七八九十个第年])(?:{_PART})")),
    ("day_rel", re.compile(r"今天|今日|昨天|昨日|前天")),
    ("week", re.compile(r"(?P<w>本周|这周|这一周|本星期|这个星期|上周|上一周|上星期|上个星期)")),
    ("month_rel", re.compile(r"(?P<mo>本月|这个月|这月|上个月|上月)")),
    ("recent", re.compile(r"(?:最近|近)(?P<n>\d+|[一二两三四五六七八九十]+)(?P<unit>天|日|周|星期|个月|年)")),
]
_SINCE = re.compile(r"(?:至今|到现在|到今天|以来)")
_CONNECTOR = re.compile(r"\s*(?:至|到|~|～|—|－|-)\s*")
# After a connector the second end may be partial: 「3月到5月」「28日至30日」.
_TAIL = re.compile(rf"(?:(?P<y>{_Y4})年)?(?:(?P<m>{_MD})月)?(?:(?P<d>{_MD})[日号])?")


def _num(s: str) -> int | None:
    """「28」「二十八」「十」「二〇二五」 -> int; None when it is not a plain numeral."""
    s = s.translate(_WIDE)
    if s.isdigit():
        return int(s)
    if "十" not in s:
        if s and all(c in _CN_DIGIT for c in s):
            return int("".join(str(_CN_DIGIT[c]) for c in s))
        return None
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or "十" in ones or len(ones) > 1:
        return None
    t = _CN_DIGIT.get(tens, -1) if tens else 1
    o = _CN_DIGIT.get(ones, -1) if ones else 0
    return None if t < 1 or o < 0 else t * 10 + o


def _month_end(y: int, m: int) -> dt.date:
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def _label(a: dt.date, b: dt.date) -> str:
    """Chinese name of a period: a day, a month, a year, a half, a quarter, or 「A至B」."""
    day = f"{a.year}年{a.month}月{a.day}日"
    if a == b:
        return day
    whole_months = a.day == 1 and b == _month_end(b.year, b.month)
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


def _latest_year(ref: dt.date, month: int, day: int = 1) -> int:
    """Year of the latest (month, day) not after ``ref``: 7月28日 on 2026-04-01 -> 2025."""
    return ref.year if (month, day) <= (ref.month, ref.day) else ref.year - 1


def _resolve(kind: str, g: dict[str, str | None], ref: dt.date) -> tuple[dt.date, dt.date] | None:
    """Turn one pattern's groups into an inclusive (start, end); None when the numbers are no date."""
    year = None
    if g.get("y"):
        year = _num(g["y"])
        if year is None or not 1900 <= year <= 2099:
            return None
    elif g.get("ry"):
        year = ref.year + {"今年": 0, "本年": 0, "去年": -1, "前年": -2, "明年": 1}[g["ry"]]
    try:
        if g.get("m"):
            m = _num(g["m"])
            d = _num(g["d"]) if g.get("d") else None
            if m is None or not 1 <= m <= 12:
                return None
            if year is None:
                year = _latest_year(ref, m, d or 1)
            if d is not None:
                day = dt.date(year, m, d)  # ValueError for 2月30日
                return day, day
            return dt.date(year, m, 1), _month_end(year, m)
        if g.get("half"):
            first = 1 if g["half"] == "上半年" else 7
            year = year if year is not None else _latest_year(ref, first)
            return dt.date(year, first, 1), _month_end(year, first + 5)
        if g.get("q"):
            first = 3 * (_num(g["q"]) - 1) + 1
            year = year if year is not None else _latest_year(ref, first)
            return dt.date(year, first, 1), _month_end(year, first + 2)
    except ValueError:
        return None
    if year is not None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    return None


def _relative(m: re.Match[str], kind: str, ref: dt.date) -> tuple[dt.date, dt.date] | None:
    """Periods counted back from the reference: 昨天, 上周, 上个月, 近三天."""
    word = m.group(0)
    if kind == "day_rel":
        back = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}[word]
        day = ref - dt.timedelta(days=back)
        return day, day
    if kind == "week":
        monday = ref - dt.timedelta(days=ref.weekday())
        if word.startswith("上"):
            monday -= dt.timedelta(days=7)
        return monday, monday + dt.timedelta(days=6)
    if kind == "month_rel":
        y, mo = ref.year, ref.month
        if word.startswith("上"):
            y, mo = (y - 1, 12) if mo == 1 else (y, mo - 1)
        return dt.date(y, mo, 1), _month_end(y, mo)
    if kind == "recent":
        n = _num(m.group("n").replace("两", "二"))
        if not n or n > 100:
            return None
        unit = m.group("unit")
        if unit in ("天", "日"):
            return ref - dt.timedelta(days=n - 1), ref
        if unit in ("周", "星期"):
            return ref - dt.timedelta(days=7 * n - 1), ref
        months = n * 12 if unit == "年" else n
        y, mo = divmod(ref.year * 12 + ref.month - 1 - months, 12)
        day = min(ref.day, calendar.monthrange(y, mo + 1)[1])
        return dt.date(y, mo + 1, day) + dt.timedelta(days=1), ref
    return None


_TITLE = re.compile(r"《[^》]*》|“[^”]*”|「[^」]*」")
# What may follow a month named without year or day for it to be a date: 「三月份」「五月的」「3月底」,
# not a noun that merely starts with a month word (「五月艾」, a plant).
_AFTER_BARE_MONTH = re.compile(r"$|[份的里中底初末以至到和与及、上下前后期间开起内来，,。？?！!\s\d]")


def _is_name(q: str, m: re.Match[str], kind: str, titles: list[tuple[int, int]]) -> bool:
    """True when the match is part of a name, not a date: inside 《》/“”/「」, or a bare month before a noun."""
    if any(a <= m.start() and m.end() <= b for a, b in titles):
        return True
    g = m.groupdict()
    bare_month = kind == "part" and g.get("m") and not g.get("d")
    return bool(bare_month and not _AFTER_BARE_MONTH.match(q, m.end()))


def _candidates(q: str, ref: dt.date) -> list[tuple[int, int, dt.date, dt.date]]:
    """Every date expression in ``q`` as (start, end, first day, last day), overlapping ones included."""
    found = []
    titles = [(t.start(), t.end()) for t in _TITLE.finditer(q)]
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(q):
            if _is_name(q, m, kind, titles):
                continue
            if kind in ("day_rel", "week", "month_rel", "recent"):
                span = _relative(m, kind, ref)
            else:
                span = _resolve(kind, m.groupdict(), ref)
            if span is not None:
                found.append((m.start(), m.end(), *span))
    return found


def _extend_range(q: str, end: int, a: dt.date, ref: dt.date) -> tuple[int, dt.date] | None:
    """「…到5月」「…至30日」「…以来」 right after a date: the range's last day, inheriting ``a``'s year/month."""
    since = _SINCE.match(q, end)
    if since:
        return (since.end(), ref) if ref >= a else None
    c = _CONNECTOR.match(q, end)
    if not c:
        return None
    t = _TAIL.match(q, c.end())
    if not t or t.end() == c.end():
        return None
    y = _num(t["y"]) if t["y"] else a.year
    m = _num(t["m"]) if t["m"] else (a.month if t["d"] else 12 if t["y"] else None)
    if y is None or m is None or not 1900 <= y <= 2099 or not 1 <= m <= 12:
        return None
    try:
        last = dt.date(y, m, _num(t["d"])) if t["d"] else _month_end(y, m)
    except (TypeError, ValueError):
        return None
    return (t.end(), last) if last >= a else None


def parse_date_range(question: str, reference: dt.date) -> DateRange | None:
    """The first period named in ``question``, resolved against ``reference``; None when there is none.

    >>> parse_date_range("今年一季度的报道", dt.date(2026, 4, 1)).date_to
    '2026-03-31'
    >>> parse_date_range("2025年3月到5月", dt.date(2026, 4, 1)).label
    '2025年3月至2025年5月'
    """
    q = question.translate(_WIDE)
    cands = _candidates(q, reference)
    if not cands:
        return None
    # Leftmost first; at one position the longest match wins (「2025年7月28日」 over 「2025年」).
    start, end, a, b = min(cands, key=lambda c: (c[0], -(c[1] - c[0])))
    ext = _extend_range(q, end, a, reference)
    if ext is not None:
        end, b = ext
    return DateRange(a.isoformat(), b.isoformat(), question[start:end], _label(a, b))


def strip_dates(question: str, rng: DateRange | None) -> str:
    """The question without the date words (and a 的/在 that only served them), for the search query.

    >>> strip_dates("2025年聊城新增多少家企业？", DateRange("2025-01-01", "2025-12-31", "2025年", "2025年"))
    '聊城新增多少家企业？'
    """
    if rng is None or not rng.text or rng.text not in question:
        return question
    i = question.index(rng.text)
    before, after = question[:i], question[i + len(rng.text):]
    before = re.sub(r"(?:在|于|从)$", "", before)
    after = re.sub(r"^(?:的|期间|，|,)", "", after)
    return (before + after).strip()
