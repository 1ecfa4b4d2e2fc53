"""The regular expressions and word tables of the time grammar (qa.time.grammar resolves them).

Rules decided here (each tested in tests/test_dates.py and tests/test_time_text.py):

* A year needs 年 or a full ISO date; a bare 「2025」 is a number. Only 1900-2099 count.
* 「M.D」 without a year is never a date (「7.28%」 is a percentage); 「第7版」 is a page.
* A five-year plan (「十四五」) is a period only with 时期/期间/规划 after it: 「十四五期间」
  「“十四五”时期」「“十五五”规划」 -> 2021-2025 / 2026-2030; a bare 「十五五」 (「谋划十五五」)
  names the plan, not a time, and stays undated.
* 初/上旬 = days 1-10, 中旬 11-20, 底/末/下旬 21-end of a month; 年初 = January, 年底/年末 = December.
* Vague words (「近日」「日前」「近期」), lunar dates (「农历八月十五」「正月初一」), solar terms
  (「立秋」「冬至」) and lunar festivals (「春节」「中秋」) are found but marked vague.
"""

from __future__ import annotations

import datetime as dt
import re

# Full-width digits map one-to-one onto ASCII, so match offsets stay valid on the original text.
WIDE = str.maketrans("０１２３４５６７８９．／－", "0123456789./-")
CN_DIGIT = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "Ｏ": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

REL_YEAR = {"今年": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1}  # not 本年: "that year" in prose
DAY_REL = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "明天": 1}
WEEK_REL = {
    w: d
    for d, ws in (
        (0, "本周 这周 这一周 本星期 这个星期"),
        (-1, "上周 上一周 上星期 上个星期"),
        (1, "下周 下一周 下星期 下个星期"),
    )
    for w in ws.split()
}
MONTH_REL = {w: d for d, ws in ((0, "本月 这个月 这月"), (-1, "上个月 上月"), (1, "下个月 下月")) for w in ws.split()}
MONTH_PART = {"初": (1, 10), "上旬": (1, 10), "中旬": (11, 20), "下旬": (21, 31), "底": (21, 31), "末": (21, 31)}
YEAR_PART = {
    key: fn
    for keys, fn in (
        (("初", "年初"), lambda y: (dt.date(y, 1, 1), dt.date(y, 1, 31))),
        (("底", "末", "年底", "年末"), lambda y: (dt.date(y, 12, 1), dt.date(y, 12, 31))),
    )
    for key in keys
}
RELATIVE = {"vague", "day_rel", "week", "month_rel", "ago", "recent"}


def plan_years(plan: str) -> tuple[dt.date, dt.date]:
    """「十四五」 -> 2021-01-01..2025-12-31 (the n-th plan starts 1966 + 5(n-3), from the third on).

    >>> [d.year for d in plan_years("十五五")]
    [2026, 2030]
    """
    n = 10 + CN_DIGIT[plan[1]]
    start = 1966 + 5 * (n - 3)
    return dt.date(start, 1, 1), dt.date(start + 4, 12, 31)


_Y4 = r"(?:\d{4}|[〇零○Ｏ一二三四五六七八九]{4})"
# Month and day numerals, Arabic or Chinese up to 三十一; validity is checked after matching.
_MD = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_N = r"(?:\d{1,3}|[一二两三四五六七八九十]{1,3})"
_TO = r"\s*(?:至|到|-|—|–|~|～)\s*"
_REL_YEAR = "(?:" + "|".join(REL_YEAR) + ")"
_YEAR = rf"(?:(?<![\d.])(?P<y>{_Y4})年|(?P<ry>{_REL_YEAR}))"
_PART = (
    r"(?P<half>上半年|下半年)"
    r"|前(?P<qn>[一二三1-3])个?季度"
    r"|第?(?P<q>[一二三四1-4])季度"
    r"|前(?P<mn>\d{1,2}|[一二两三四五六七八九十]{1,2})个?月(?!前)"
    rf"|(?P<r1>{_MD})(?:月份?)?{_TO}(?P<r2>{_MD})月份?"
    r"|(?P<ys>年初|年底|年末)"
    rf"|(?P<m>{_MD})月份?(?:(?P<d>{_MD})[日号]|(?P<sub>上旬|中旬|下旬|初|底|末))?"
)
_LUNAR_DAY = (
    r"(?:初[一二三四五六七八九十]|廿[一二三四五六七八九]?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|三十)"
)
_VAGUE = "|".join(
    [
        r"近日|日前|近期|前不久|不久前|近来|近年来|近些年|近年",
        rf"农历[正腊冬一二三四五六七八九十]{{1,2}}月{_LUNAR_DAY}?",
        rf"(?:正|腊|冬)月{_LUNAR_DAY}?",
        rf"(?:十[一二]|[一二三四五六七八九])月{_LUNAR_DAY}(?![一二三四五六七八九十日号])",
        r"立春|惊蛰|春分|谷雨|立夏|小满|芒种|夏至|小暑|大暑|立秋|处暑|秋分|寒露|霜降|立冬|冬至|小寒|大寒",
        r"春节|元宵节?|端午节?|中秋节?|重阳节?|清明节|除夕|七夕",
        r"(?:雨水|清明|白露|小雪|大雪)(?=节|时节|前后|当天|假期|期间|时分)",
    ]
)

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d\d)([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\d.%])")),
    ("iso_month", re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d\d)[-/](?P<m>\d{1,2})(?![\d./\-%万亿])")),
    ("plan", re.compile(r"[“\"「]?(?P<plan>十[一二三四五六]五)[”\"」]?(?:时期|期间|规划)")),
    ("year_range", re.compile(rf"(?<![\d.])(?P<y>\d{{4}})年?{_TO}(?P<y2>\d{{4}})年")),
    ("year_part", re.compile(rf"{_YEAR}(?:的)?(?:{_PART})")),
    ("year", re.compile(rf"{_YEAR}(?:(?P<ysub>初|底|末)(?![步期等])|度)?")),
    # Not after 年: 「475年9月」 is a month of a year outside 1900-2099, not this September.
    ("part", re.compile(rf"(?<![\d一二三四五六七八九十个第年])(?:{_PART})")),
    ("ago", re.compile(rf"(?<![\d.第])(?P<n>{_N})(?P<unit>年|个月|周|个星期|天)以?前")),
    ("day_rel", re.compile("|".join(DAY_REL))),
    ("week", re.compile("(?P<w>" + "|".join(sorted(WEEK_REL, key=len, reverse=True)) + ")")),
    (
        "month_rel",
        re.compile(
            "(?P<mo>" + "|".join(sorted(MONTH_REL, key=len, reverse=True)) + ")"
            r"(?P<sub>上旬|中旬|下旬|初|底|末)?"
        ),
    ),
    (
        "recent",
        re.compile(rf"(?<![将接靠])(?:最近|近|过去)(?P<n>{_N})(?P<unit>天|日|周|个星期|星期|个月|年)(?:以?来)?"),
    ),
    ("vague", re.compile(_VAGUE)),
]

SINCE = re.compile(r"(?:至今|到现在|到今天|以来)")
CONNECTOR = re.compile(_TO)
# After a connector the second end may be partial: 「3月到5月」「28日至30日」.
TAIL = re.compile(rf"(?:(?P<y>{_Y4})年)?(?:(?P<m>{_MD})月)?(?:(?P<d>{_MD})[日号])?")
TITLE = re.compile(r"《[^》]*》|“[^”]*”|「[^」]*」")
# What may follow a month in Chinese numerals named without year or day for it to be a date:
# 「三月份」「五月的」「3月底」,
# not a noun that merely starts with a month word (「五月艾」, a plant).
AFTER_BARE_MONTH = re.compile(r"$|[份的里中底初末以至到和与及、上下前后期间开起内来，,。？?！!\s\d]")
