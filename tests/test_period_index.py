"""The period index: rows speaking of a period, found without reading text (qa.time.period_index)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.errors import IndexFormatError
from qa.time.mentions import Period, extract_periods
from qa.time.period_index import PeriodIndex

ISSUE = dt.date(2025, 7, 29)
CHUNKS = [
    "今年上半年，市属企业资产总额达到1050亿元。",  # 0: speaks of 2025 H1
    "昨天，市委召开常委会议。",  # 1: 2025-07-28
    "近日，记者走访了阳谷县。",  # 2: vague only
    "十四五期间，全市新增企业2200余家。",  # 3: 2021-2025
    "没有任何时间的段落。",  # 4
    "1986年10月至2005年6月，在部队服役；去年转业。",  # 5: a 19-year range and 2024
]


@pytest.fixture(scope="module")
def index():
    return PeriodIndex.build([extract_periods(t, ISSUE) for t in CHUNKS])


@pytest.mark.parametrize(
    "date_from,date_to,rows,any_length",
    [
        ("2025-07-28", "2025-07-28", [1], [1, 3]),  # 「昨天」 in the 2025-07-29 issue is 2025-07-28
        ("2025-01-01", "2025-06-30", [0], [0, 3]),
        ("2025-03-15", "2025-03-15", [], [0, 3]),  # a half-year is no evidence about one day
        ("2024-01-01", "2024-12-31", [5], [3, 5]),  # 「去年」 yes, 「十四五期间」 only without a limit
        ("1990-01-01", "1990-12-31", [], [5]),
        ("1950-01-01", "1960-01-01", [], []),
        ("2025-07-29", "2025-07-29", [], [3]),  # 「近日」 covers the issue day only vaguely: never
    ],
)
def test_rows_speaking_of(index, date_from, date_to, rows, any_length):
    got = index.rows_speaking_of(date_from, date_to)
    assert got.dtype == np.int64 and got.tolist() == rows
    assert index.rows_speaking_of(date_from, date_to, within=None).tolist() == any_length


def test_dates_and_iso_strings_are_the_same_query(index):
    a = index.rows_speaking_of(dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    assert a.tolist() == index.rows_speaking_of("2025-01-01", "2025-06-30").tolist()


def test_why_names_the_phrase_that_matched(index):
    assert index.why(0, "2025-01-01", "2025-06-30") == "今年上半年"
    assert index.why(1, "2025-07-28", "2025-07-28") == "昨天"
    assert index.why(5, "2024-01-01", "2024-12-31") == "去年"
    assert index.why(5, "1999-01-01", "1999-01-01") is None  # a 19-year span says nothing of one day
    assert index.why(5, "1999-01-01", "1999-01-01", within=None) == "1986年10月至2005年6月"
    assert index.why(2, "2025-07-20", "2025-07-29") is None  # vague never explains a match
    assert index.why(4, "2025-01-01", "2025-12-31") is None


def test_periods_of_a_row_in_text_order(index):
    got = [(p.phrase, p.date_from, p.date_to) for p in index.periods_of(5)]
    assert got == [("1986年10月至2005年6月", "1986-10-01", "2005-06-30"), ("去年", "2024-01-01", "2024-12-31")]
    assert [p.vague for p in index.periods_of(2)] == [True]


def test_save_and_load_round_trip_without_pickle(index, tmp_path):
    index.save(tmp_path)
    meta = json.loads((tmp_path / "periods.json").read_text(encoding="utf-8"))
    assert meta["format"] == 1 and meta["rows"] == len(CHUNKS)
    for f in tmp_path.glob("*.npy"):
        np.load(f, allow_pickle=False)  # plain arrays only
    loaded = PeriodIndex.load(tmp_path)
    for q in (("2025-07-28", "2025-07-28"), ("2025-01-01", "2025-06-30"), ("1990-01-01", "1990-12-31")):
        assert loaded.rows_speaking_of(*q).tolist() == index.rows_speaking_of(*q).tolist()
        assert loaded.rows_speaking_of(*q, within=None).tolist() == index.rows_speaking_of(*q, within=None).tolist()
    assert loaded.why(0, "2025-01-01", "2025-06-30") == "今年上半年"


def test_other_format_or_missing_files_are_a_clear_error(index, tmp_path):
    index.save(tmp_path)
    meta = json.loads((tmp_path / "periods.json").read_text(encoding="utf-8"))
    (tmp_path / "periods.json").write_text(json.dumps({**meta, "format": 99}), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="重建索引"):
        PeriodIndex.load(tmp_path)
    (tmp_path / "periods.json").write_text(json.dumps(meta), encoding="utf-8")
    (tmp_path / "period_start.npy").unlink()
    with pytest.raises(IndexFormatError, match="period_start"):
        PeriodIndex.load(tmp_path)


def test_empty_index(tmp_path):
    empty = PeriodIndex.build([[], []])
    empty.save(tmp_path)
    assert PeriodIndex.load(tmp_path).rows_speaking_of("2025-01-01", "2025-12-31").tolist() == []


_day = st.integers(min_value=dt.date(2000, 1, 1).toordinal(), max_value=dt.date(2030, 12, 31).toordinal())
_period = st.tuples(_day, st.sampled_from([0, 0, 6, 30, 31, 91, 92, 182, 365, 366, 1826, 3000, 9000]), st.booleans())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(_period, max_size=4), max_size=30),
    _day,
    st.integers(0, 800),
    st.sampled_from([None, 1.0, 2.5, 4.0]),
)
def test_same_rows_as_checking_every_period(rows, first, length, within):
    """Against the obvious scan, including spans right at the class bounds and the length limit."""
    rows_periods = [
        [
            Period(dt.date.fromordinal(s), dt.date.fromordinal(s + span), f"p{r}.{i}", i, vague)
            for i, (s, span, vague) in enumerate(ps)
        ]
        for r, ps in enumerate(rows)
    ]
    index = PeriodIndex.build(rows_periods)
    f, t = dt.date.fromordinal(first), dt.date.fromordinal(first + length)
    limit = float("inf") if within is None else max(within * (length + 1), 31)
    expected = [
        r
        for r, ps in enumerate(rows_periods)
        if any(p.overlaps(f, t) and (p.end - p.start).days + 1 <= limit for p in ps)
    ]
    assert index.rows_speaking_of(f, t, within=within).tolist() == expected
    for r in expected:
        assert index.why(r, f, t, within=within) is not None


def test_seed_question_finds_the_passage_that_says_this_year_first_half():
    """Issue 10: 「2025年上半年…资产总额」 must reach the 2025-07-29 page that says 「今年上半年」."""
    from qa.text.normalize import normalize_text
    from qa.time.question import parse_date_range

    from fakes import SEEDS

    pages = {"2025-07-29": SEEDS / "002_f585da57cd6e1821.txt", "2026-04-01": SEEDS / "000_4456a7331ac78358.txt"}
    chunks = []  # (issue date, paragraph) as stand-in chunks
    for day, path in pages.items():
        text = normalize_text(path.read_text(encoding="utf-8"))
        chunks += [(day, p) for p in text.split("\n") if p.strip()]
    index = PeriodIndex.build([extract_periods(t, dt.date.fromisoformat(d)) for d, t in chunks])
    rng = parse_date_range("2025年上半年聊城市属企业资产总额达到多少？", dt.date(2026, 4, 1))
    rows = index.rows_speaking_of(rng.date_from, rng.date_to).tolist()
    holding = [r for r, (_, t) in enumerate(chunks) if "1050亿元" in t]
    assert holding and set(holding) <= set(rows)
    assert index.why(holding[0], rng.date_from, rng.date_to) == "今年上半年"
    # The 2026 issue's rows speak of 2025 too (「去年」, 「“十四五”时期」), each with its phrase.
    assert all(index.why(r, rng.date_from, rng.date_to) for r in rows)
    assert any(chunks[r][0] == "2026-04-01" and index.why(r, rng.date_from, rng.date_to) == "去年" for r in rows)
