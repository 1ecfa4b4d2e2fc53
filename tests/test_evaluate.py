"""Question files and the figures of ``qa eval``."""

from __future__ import annotations

import json

import pytest

from qa.errors import BadInput
from qa.evaluate import answer_hit, first_rank, format_table, load_questions, summarize


def test_loads_cmrc_json_with_paragraph_ids_as_gold(tmp_path):
    data = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "id": "P1",
                        "context": "…",
                        "qas": [{"question": "问一？", "id": "q1", "answers": [{"text": "甲", "answer_start": 0}]}],
                    }
                ],
            }
        ]
    }
    f = tmp_path / "q.json"
    f.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    [q] = load_questions(f)
    assert (q.question, q.answers, q.article_id) == ("问一？", ["甲"], "P1")


def test_loads_jsonl_and_names_a_bad_line(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"question": "问？", "answers": ["答"]}\n\n{"answers": []}\n', encoding="utf-8")
    with pytest.raises(BadInput, match="第3行"):
        load_questions(f)
    f.write_text('{"question": "问？", "answers": ["答"], "article_id": "A"}\n', encoding="utf-8")
    assert load_questions(f)[0].article_id == "A"


def test_first_rank_counts_distinct_articles():
    assert first_rank(["a", "a", "b", "c"], "c") == 3
    assert first_rank(["a"], "z") is None


def test_answer_hit_ignores_whitespace():
    assert answer_hit("全市新增 207 家[1]", ["207家"])
    assert not answer_hit("没有", ["207家"])
    assert not answer_hit("任何", [" "])


def test_summary_figures():
    s = summarize([1, 3, None, 12], [True, False], [True, True, False, True], [10.0, 20.0, 30.0, 40.0])
    assert s["recall@1"] == 0.25 and s["recall@5"] == 0.5 and s["recall@20"] == 0.75
    assert s["mrr@10"] == pytest.approx((1 + 1 / 3) / 4)
    assert s["answer_hit"] == 0.5 and s["found_rate"] == 0.75
    assert "recall@1" in format_table({"qa": s})


def test_a_question_the_service_rejects_counts_as_a_miss():
    from qa.evaluate import Question, evaluate

    class Rejecting:
        def ask(self, question, top_k):
            raise BadInput("问题不能为空。")

    s = evaluate(Rejecting(), [Question("", ["甲"], "P1")])
    assert (s["questions"], s["recall@20"], s["answer_hit"], s["found_rate"]) == (1, 0.0, 0.0, 0.0)
