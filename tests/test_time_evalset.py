"""The temporal question generator used by bench/eval_temporal.py (qa.time.evalset)."""

from __future__ import annotations

import datetime as dt

from qa.time.evalset import generate
from qa.time.question import parse_date_range

ARTICLES = [
    {"id": "a", "date": "2023-08-11", "text": "全市当天接待游客人数达到3.5万人次。其余句子没有数字。"},
    {"id": "b", "date": "2023-08-11", "text": "今年上半年，全市新增专精特新企业207家。"},
    {"id": "c", "date": "2023-07-20", "text": "昨天，市防汛指挥部调集抢险队员320人。"},
    {"id": "d", "date": "2023-08-11", "text": "全市新增企业207家，增长12.5%。"},  # two figures: ambiguous, skipped
]


def test_kinds_answers_and_periods():
    qs = {(q.article_id, q.kind): q for q in generate(ARTICLES)}
    assert set(qs) == {
        ("a", "undated"),
        ("a", "absolute"),
        ("a", "last_year"),
        ("a", "last_month"),
        ("b", "text_relative"),
        ("c", "text_relative"),
    }
    for q in qs.values():
        assert q.answers[0] not in q.question and "多少" in q.question
    assert qs["b", "text_relative"].question == "2023年上半年，全市新增专精特新企业多少家？"
    assert qs["c", "text_relative"].question.startswith("2023年7月19日，")
    assert qs["a", "last_month"].as_of == "2023-09-15"


def test_every_period_is_what_the_question_parser_reads():
    """The generated time words mean the recorded period when asked as of the recorded day."""
    newest = dt.date(2023, 8, 11)
    for q in generate(ARTICLES):
        if q.kind == "undated":
            assert parse_date_range(q.question, newest) is None
            continue
        ref = dt.date.fromisoformat(q.as_of) if q.as_of else newest
        rng = parse_date_range(q.question, ref)
        assert (rng.date_from, rng.date_to) == (q.date_from, q.date_to), q.question
