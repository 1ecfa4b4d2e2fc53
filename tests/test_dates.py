"""Dates in questions -> inclusive ISO ranges, against a fixed "today" of 2026-04-01 (a Wednesday)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.time.question import DateRange, parse_date_range, strip_dates

REF = dt.date(2026, 4, 1)

PARSES = [
    # absolute
    ("2025年7月28日", "2025-07-28", "2025-07-28", "2025年7月28日"),
    ("2025年7月28号", "2025-07-28", "2025-07-28", "2025年7月28日"),
    ("2025年7月", "2025-07-01", "2025-07-31", "2025年7月"),
    ("7月28日", "2025-07-28", "2025-07-28", "2025年7月28日"),  # latest past 7月28日
    ("3月28日", "2026-03-28", "2026-03-28", "2026年3月28日"),
    ("4月1日", "2026-04-01", "2026-04-01", "2026年4月1日"),  # the reference day itself
    ("2025年", "2025-01-01", "2025-12-31", "2025年"),
    ("二〇二五年", "2025-01-01", "2025-12-31", "2025年"),
    ("二零二五年", "2025-01-01", "2025-12-31", "2025年"),
    ("２０２５年", "2025-01-01", "2025-12-31", "2025年"),
    ("2025年度", "2025-01-01", "2025-12-31", "2025年"),
    ("2025-07-28", "2025-07-28", "2025-07-28", "2025年7月28日"),
    ("2025/7/28", "2025-07-28", "2025-07-28", "2025年7月28日"),
    ("2025.7.28", "2025-07-28", "2025-07-28", "2025年7月28日"),
    ("２０２５－０７－２８", "2025-07-28", "2025-07-28", "2025年7月28日"),
    ("2025-07", "2025-07-01", "2025-07-31", "2025年7月"),
    ("三月", "2026-03-01", "2026-03-31", "2026年3月"),
    ("十二月", "2025-12-01", "2025-12-31", "2025年12月"),  # latest past December
    ("七月二十八日", "2025-07-28", "2025-07-28", "2025年7月28日"),
    ("去年三月", "2025-03-01", "2025-03-31", "2025年3月"),
    ("今年3月", "2026-03-01", "2026-03-31", "2026年3月"),
    ("2024年2月29日", "2024-02-29", "2024-02-29", "2024年2月29日"),
    # relative
    ("今天", "2026-04-01", "2026-04-01", "2026年4月1日"),
    ("昨天", "2026-03-31", "2026-03-31", "2026年3月31日"),
    ("前天", "2026-03-30", "2026-03-30", "2026年3月30日"),
    ("本周", "2026-03-30", "2026-04-05", "2026年3月30日至2026年4月5日"),
    ("这周", "2026-03-30", "2026-04-05", "2026年3月30日至2026年4月5日"),
    ("上周", "2026-03-23", "2026-03-29", "2026年3月23日至2026年3月29日"),
    ("本月", "2026-04-01", "2026-04-30", "2026年4月"),
    ("这个月", "2026-04-01", "2026-04-30", "2026年4月"),
    ("上个月", "2026-03-01", "2026-03-31", "2026年3月"),
    ("今年", "2026-01-01", "2026-12-31", "2026年"),
    ("去年", "2025-01-01", "2025-12-31", "2025年"),
    ("前年", "2024-01-01", "2024-12-31", "2024年"),
    ("今年上半年", "2026-01-01", "2026-06-30", "2026年上半年"),
    ("去年下半年", "2025-07-01", "2025-12-31", "2025年下半年"),
    ("2025年上半年", "2025-01-01", "2025-06-30", "2025年上半年"),
    ("下半年", "2025-07-01", "2025-12-31", "2025年下半年"),  # latest half already begun
    ("一季度", "2026-01-01", "2026-03-31", "2026年第一季度"),
    ("第一季度", "2026-01-01", "2026-03-31", "2026年第一季度"),
    ("去年第三季度", "2025-07-01", "2025-09-30", "2025年第三季度"),
    ("四季度", "2025-10-01", "2025-12-31", "2025年第四季度"),
    ("近三天", "2026-03-30", "2026-04-01", "2026年3月30日至2026年4月1日"),
    ("最近一周", "2026-03-26", "2026-04-01", "2026年3月26日至2026年4月1日"),
    # relative forms a reader uses (issue 10): resolved against the reference (as_of)
    ("五年前", "2021-01-01", "2021-12-31", "2021年"),
    ("去年9月16日", "2025-09-16", "2025-09-16", "2025年9月16日"),
    ("上个月底", "2026-03-21", "2026-03-31", "2026年3月21日至2026年3月31日"),
    ("近三年", "2023-04-02", "2026-04-01", "2023年4月2日至2026年4月1日"),
    ("三个月前", "2026-01-01", "2026-01-31", "2026年1月"),
    ("十天前", "2026-03-22", "2026-03-22", "2026年3月22日"),
    ("去年底", "2025-12-01", "2025-12-31", "2025年12月"),
    ("今年初", "2026-01-01", "2026-01-31", "2026年1月"),
    ("3月上旬", "2026-03-01", "2026-03-10", "2026年3月1日至2026年3月10日"),
    ("去年前三季度", "2025-01-01", "2025-09-30", "2025年1月至2025年9月"),
    ("去年1至6月", "2025-01-01", "2025-06-30", "2025年上半年"),
    # named periods: a five-year plan with 时期/期间/规划
    ("十四五期间", "2021-01-01", "2025-12-31", "2021年至2025年"),
    ("“十四五”时期", "2021-01-01", "2025-12-31", "2021年至2025年"),
    ("2019-2025年", "2019-01-01", "2025-12-31", "2019年至2025年"),
    # ranges
    ("7月28日至30日", "2025-07-28", "2025-07-30", "2025年7月28日至2025年7月30日"),
    ("2025年3月到5月", "2025-03-01", "2025-05-31", "2025年3月至2025年5月"),
    ("2024年到2025年", "2024-01-01", "2025-12-31", "2024年至2025年"),
    ("2025年以来", "2025-01-01", "2026-04-01", "2025年1月1日至2026年4月1日"),
    # a count next to a month is the month, never July 28
    ("3月份的产量增长了7.28%", "2026-03-01", "2026-03-31", "2026年3月"),
]


@pytest.mark.parametrize("words,date_from,date_to,label", PARSES)
def test_parses(words, date_from, date_to, label):
    question = f"聊城{words}的报纸有什么报道？"
    rng = parse_date_range(question, REF)
    assert rng is not None, words
    assert (rng.date_from, rng.date_to, rng.label) == (date_from, date_to, label)
    assert rng.text in question
    assert words.startswith(rng.text) or rng.text == words


NOT_DATES = [
    "增长7.28%",
    "207家",
    "第7版",
    "2200余家",
    "1050亿元",
    "3.5万",
    "2.22万户市场主体",
    "13912345678",
    "0635-8234567",
    "电话0635-82345678",
    "十四五",
    "十五五",
    "2025",  # a bare number is not a year
    "2019-2025",
    "三个月",
    "1811家",
    "二月三十日",
    "13月5日",
    "5000年历史",  # a span of years, not a year the archive could hold
    "0000年",
]


@pytest.mark.parametrize("words", NOT_DATES)
def test_not_dates(words):
    assert parse_date_range(f"全市{words}企业情况如何？", REF) is None


def test_percentage_is_never_july_28():
    rng = parse_date_range("3月份的产量增长了7.28%", REF)
    assert rng is not None and "07-28" not in rng.date_from + rng.date_to


def test_first_date_wins_and_longest_at_a_position():
    rng = parse_date_range("2025年7月28日和2026年4月1日的头版", REF)
    assert (rng.date_from, rng.text) == ("2025-07-28", "2025年7月28日")


@pytest.mark.parametrize(
    "as_of,date_from,date_to",
    [("2026-04-01", "2025-01-01", "2025-12-31"), ("2024-06-01", "2023-01-01", "2023-12-31")],
)
def test_as_of_changes_what_last_year_means(as_of, date_from, date_to):
    rng = parse_date_range("去年聊城新增多少家企业？", dt.date.fromisoformat(as_of))
    assert (rng.date_from, rng.date_to) == (date_from, date_to)
    assert parse_date_range("去年9月16日", dt.date(2024, 6, 1)).date_from == "2023-09-16"
    assert parse_date_range("五年前", dt.date(2024, 6, 1)).date_from == "2019-01-01"


@pytest.mark.parametrize("question", ["近日聊城有什么活动？", "春节期间的报道", "农历八月十五", "近期的防汛要求"])
def test_vague_words_never_filter_a_question(question):
    assert parse_date_range(question, REF) is None


def test_reference_changes_year_of_yearless_dates():
    assert parse_date_range("7月28日", dt.date(2025, 7, 28)).date_from == "2025-07-28"
    assert parse_date_range("7月28日", dt.date(2025, 7, 27)).date_from == "2024-07-28"
    assert parse_date_range("上个月", dt.date(2026, 1, 15)).date_from == "2025-12-01"
    assert parse_date_range("本周", dt.date(2026, 4, 5)).date_from == "2026-03-30"  # Sunday


@pytest.mark.parametrize(
    "question,expected",
    [
        ("7月28日的报纸讲了防汛的什么要求？", "报纸讲了防汛的什么要求？"),
        ("2025年聊城新增多少家专精特新企业？", "聊城新增多少家专精特新企业？"),
        ("聊城在去年三月有什么活动", "聊城有什么活动"),
    ],
)
def test_strip_dates(question, expected):
    rng = parse_date_range(question, REF)
    assert strip_dates(question, rng) == expected


def test_strip_dates_without_range_returns_question():
    assert strip_dates("聊城有什么活动", None) == "聊城有什么活动"
    assert strip_dates("聊城", DateRange("2025-01-01", "2025-12-31", "2025年", "2025年")) == "聊城"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789年月日号.-/%至到今去上本周天一二三十〇家版万亿", max_size=20))
def test_never_crashes_and_ranges_are_ordered(text):
    rng = parse_date_range(text, REF)
    if rng is not None:
        assert rng.date_from <= rng.date_to
        dt.date.fromisoformat(rng.date_from)
        assert rng.text and rng.text in text


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_any_written_day_round_trips(day):
    for text in (f"{day.year}年{day.month}月{day.day}日", day.isoformat(), f"{day.year}/{day.month}/{day.day}"):
        rng = parse_date_range(f"关于{text}的报道", REF)
        assert (rng.date_from, rng.date_to) == (day.isoformat(), day.isoformat())


@pytest.mark.parametrize(
    "question",
    [
        "什么是五月艾？",  # a plant whose name starts with a month
        "五月艾分布在哪些地区？",
        "《神圣十月》是何时开始播放的？",  # a title, not October
        "“七月”乐队成立于何时？",
        "谁获得本年总决赛的最有价值球员奖？",  # 本年 = "that year" in reference prose
        "475年9月，长寿王讨伐了哪儿？",  # a year outside 1900-2099 does not make its month this year's
    ],
)
def test_names_that_contain_date_words_are_not_dates(question):
    assert parse_date_range(question, REF) is None


@pytest.mark.parametrize(
    "words,yearless,earlier",
    [
        ("上半年", True, ("2025-01-01", "2025-06-30")),  # issue 14: the archive speaks of 2025's
        ("2月", True, ("2025-02-01", "2025-02-28")),
        ("3月28日", True, ("2025-03-28", "2025-03-28")),
        ("今年上半年", False, ("2025-01-01", "2025-06-30")),
        ("2025年", False, ("2024-01-01", "2024-12-31")),
    ],
)
def test_yearless_periods_and_the_reading_a_year_earlier(words, yearless, earlier):
    from qa.time.question import year_earlier

    rng = parse_date_range(f"聊城{words}资产总额达到多少？", REF)
    assert rng.yearless is yearless
    assert (year_earlier(rng).date_from, year_earlier(rng).date_to) == earlier
    assert (
        parse_date_range("2024年2月29日", REF)
        and year_earlier(parse_date_range("2024年2月29日", REF)).date_from == "2024-02-29"
    )
