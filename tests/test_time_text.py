"""Time expressions in article text, resolved against the issue date (qa.time.mentions)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.time.mentions import extract_periods

ISSUE = dt.date(2025, 7, 29)  # a Tuesday: the seed issue that says 「今年上半年」

# (text, issue date, expected phrase, first day, last day, vague)
TABLE = [
    # absolute
    ("2025年7月25日，全市召开会议", ISSUE, "2025年7月25日", "2025-07-25", "2025-07-25", False),
    ("7月25日，全市召开会议", ISSUE, "7月25日", "2025-07-25", "2025-07-25", False),
    ("新华社北京7月28日电", ISSUE, "7月28日", "2025-07-28", "2025-07-28", False),
    ("新规8月1日起施行", ISSUE, "8月1日", "2025-08-01", "2025-08-01", False),  # news looks ahead
    ("2025年全市新增企业", ISSUE, "2025年", "2025-01-01", "2025-12-31", False),
    ("二〇二五年工作要点", ISSUE, "二〇二五年", "2025-01-01", "2025-12-31", False),
    ("２０２５年７月２５日", ISSUE, "２０２５年７月２５日", "2025-07-25", "2025-07-25", False),
    ("1968年11月出生", ISSUE, "1968年11月", "1968-11-01", "1968-11-30", False),
    ("12月全市接待游客", dt.date(2024, 1, 10), "12月", "2023-12-01", "2023-12-31", False),
    ("2025-07-28发布", ISSUE, "2025-07-28", "2025-07-28", "2025-07-28", False),
    # relative to the issue
    ("今年上半年，市属企业资产总额达1050亿元", ISSUE, "今年上半年", "2025-01-01", "2025-06-30", False),
    ("去年全市GDP增长5%", ISSUE, "去年", "2024-01-01", "2024-12-31", False),
    ("比上年增长3.2%", ISSUE, "上年", "2024-01-01", "2024-12-31", False),
    ("前年建成投用", ISSUE, "前年", "2023-01-01", "2023-12-31", False),
    ("明年全面完工", ISSUE, "明年", "2026-01-01", "2026-12-31", False),
    ("上月全市完成投资", ISSUE, "上月", "2025-06-01", "2025-06-30", False),
    ("上个月底已完工", ISSUE, "上个月底", "2025-06-21", "2025-06-30", False),
    ("本月起执行", ISSUE, "本月", "2025-07-01", "2025-07-31", False),
    ("昨天，市委召开会议", ISSUE, "昨天", "2025-07-28", "2025-07-28", False),
    ("昨日上午", ISSUE, "昨日", "2025-07-28", "2025-07-28", False),
    ("今天的天气", ISSUE, "今天", "2025-07-29", "2025-07-29", False),
    ("本周将迎来强降雨", ISSUE, "本周", "2025-07-28", "2025-08-03", False),
    ("上周全市", ISSUE, "上周", "2025-07-21", "2025-07-27", False),
    ("五年前，这里还是一片荒地", ISSUE, "五年前", "2020-01-01", "2020-12-31", False),
    ("近三年累计投入", ISSUE, "近三年", "2022-07-30", "2025-07-29", False),
    ("今年以来，全市", ISSUE, "今年以来", "2025-01-01", "2025-07-29", False),
    ("下半年将重点推进", ISSUE, "下半年", "2025-07-01", "2025-12-31", False),
    ("去年底建成", ISSUE, "去年底", "2024-12-01", "2024-12-31", False),
    # ranges and named periods
    ("1至6月，全市规上工业增加值增长7%", ISSUE, "1至6月", "2025-01-01", "2025-06-30", False),
    ("1-6月份实现营收", ISSUE, "1-6月份", "2025-01-01", "2025-06-30", False),
    ("1至12月累计", dt.date(2024, 2, 15), "1至12月", "2023-01-01", "2023-12-31", False),
    ("一季度，全市", ISSUE, "一季度", "2025-01-01", "2025-03-31", False),
    ("前三季度，全市", dt.date(2025, 10, 20), "前三季度", "2025-01-01", "2025-09-30", False),
    ("前三季度，全市", dt.date(2026, 1, 10), "前三季度", "2025-01-01", "2025-09-30", False),
    ("今年前5个月", ISSUE, "今年前5个月", "2025-01-01", "2025-05-31", False),
    ("十四五期间，全市", ISSUE, "十四五期间", "2021-01-01", "2025-12-31", False),
    ("“十四五”时期以来", ISSUE, "“十四五”时期以来", "2021-01-01", "2025-07-29", False),
    ("编制“十五五”规划", ISSUE, "“十五五”规划", "2026-01-01", "2030-12-31", False),
    ("2005年6月至2006年3月，在部队服役", ISSUE, "2005年6月至2006年3月", "2005-06-01", "2006-03-31", False),
    ("7月28日至30日", ISSUE, "7月28日至30日", "2025-07-28", "2025-07-30", False),
    ("2019-2025年规划", ISSUE, "2019-2025年", "2019-01-01", "2025-12-31", False),
    ("《2025年政府工作报告》提出", ISSUE, "2025年", "2025-01-01", "2025-12-31", False),
    # vague: found, never precise
    ("近日，记者走访", ISSUE, "近日", None, None, True),
    ("日前，市里出台", ISSUE, "日前", None, None, True),
    ("近期将开工", ISSUE, "近期", None, None, True),
    ("农历八月十五", ISSUE, "农历八月十五", None, None, True),
    ("八月十五月儿圆", ISSUE, "八月十五", None, None, True),
    ("正月初一", ISSUE, "正月初一", None, None, True),
    ("立秋之后", ISSUE, "立秋", None, None, True),
    ("清明节前后", ISSUE, "清明节", None, None, True),
    ("中秋节将至", ISSUE, "中秋节", None, None, True),
    ("春节期间", ISSUE, "春节", None, None, True),
]


@pytest.mark.parametrize("text,issue,phrase,first,last,vague", TABLE)
def test_text_expressions(text, issue, phrase, first, last, vague):
    periods = extract_periods(text, issue)
    assert len(periods) == 1, [(p.phrase, p.date_from) for p in periods]
    p = periods[0]
    assert (p.phrase, p.vague) == (phrase, vague)
    assert text[p.offset : p.offset + len(p.phrase)] == p.phrase
    if not vague:
        assert (p.date_from, p.date_to) == (first, last)


NOT_DATES = [
    "3月份的产量增长了7.28%",  # March only: checked below, never July 28
    "详见第7版",
    "谋划十五五",  # the plan's name without 时期/期间/规划 is no period
    "十四五",
    "全年销售2025台",  # a year needs 年
    "增长7.28%",
    "1050亿元",
    "2200余家",
    "电话0635-8234567",
    "三个月",
    "5000年历史",
    "二月三十日",
    "13月5日",
    "五月艾",
    "将近3年",
    "政治清明",  # 清明 and 大雪 are solar terms only next to 节/前后/当天…
    "一场大雪",
]


@pytest.mark.parametrize("text", ["政治清明", "一场大雪", "雨水充沛"])
def test_ambiguous_solar_terms_are_not_even_vague(text):
    assert extract_periods(text, ISSUE) == []


@pytest.mark.parametrize("text", NOT_DATES)
def test_not_dates(text):
    precise = [p for p in extract_periods(text, ISSUE) if not p.vague]
    if text.startswith("3月份"):
        assert [(p.phrase, p.date_from, p.date_to) for p in precise] == [("3月份", "2025-03-01", "2025-03-31")]
    else:
        assert precise == [], [(p.phrase, p.date_from) for p in precise]


def test_several_periods_in_one_passage_in_text_order():
    text = "今年上半年，市属企业资产总额达到1050亿元。近日，记者从市国资委获悉，昨天召开了会议。"
    got = [(p.phrase, p.date_from, p.vague) for p in extract_periods(text, ISSUE)]
    assert got == [("今年上半年", "2025-01-01", False), ("近日", "2025-06-29", True), ("昨天", "2025-07-28", False)]


def test_the_issue_date_decides_relative_words():
    assert extract_periods("昨天", dt.date(2025, 3, 1))[0].date_from == "2025-02-28"
    assert extract_periods("去年", dt.date(2023, 1, 1))[0].date_from == "2022-01-01"


def test_overlap_helper_ignores_vague():
    yesterday, recent = extract_periods("昨天，近日", ISSUE)
    assert yesterday.overlaps(dt.date(2025, 7, 1), dt.date(2025, 7, 31))
    assert not recent.overlaps(dt.date(2025, 7, 1), dt.date(2025, 7, 31))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789年月日号.-/%至到今去上本周天一二三十〇家版万亿季度前近农历初", max_size=24))
def test_never_crashes_and_periods_are_ordered_and_disjoint(text):
    periods = extract_periods(text, ISSUE)
    end = -1
    for p in periods:
        assert p.start <= p.end and p.offset >= end
        assert text[p.offset : p.offset + len(p.phrase)] == p.phrase
        end = p.offset + len(p.phrase)
