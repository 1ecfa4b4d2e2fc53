"""The ask pipeline on the seeds with the real bundled model: answers, citations, dates, refusals.

Tests that take ``backend_service`` or ``seeds_location`` run once per backend (FAISS folder, Milvus Lite).
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from fakes import location_args

from qa.cli import cli
from qa.errors import BadInput

COUNT_Q = "2025年聊城新增省级以上专精特新中小企业多少家？"
JULY_Q = "去年7月，习近平对什么工作作出重要指示？"


def cited(answer) -> list:
    """The passages the answer text points at with [n] markers."""
    return [answer.passages[int(n) - 1] for n in re.findall(r"\[(\d+)\]", answer.answer)]


def test_count_question_answers_207_cited_to_2026_front_page(backend_service):
    answer = backend_service.ask(COUNT_Q)
    assert answer.found
    assert "207家" in answer.answer
    pages = {(p.citation.paper, p.citation.date, p.citation.page) for p in cited(answer)}
    assert ("聊城日报", "2026-04-01", 1) in pages
    assert answer.filters.date_from == "2025-01-01" and answer.filters.date_to == "2025-12-31"


def test_last_july_becomes_a_filter_and_cites_2025_07_29(backend_service):
    answer = backend_service.ask(JULY_Q)
    assert (answer.filters.date_from, answer.filters.date_to) == ("2025-07-01", "2025-07-31")
    assert answer.found
    assert "防汛" in answer.answer
    assert answer.passages[0].citation.date == "2025-07-29"
    # every passage was printed in July 2025 or speaks of a period that includes it
    assert all(p.citation.date.startswith("2025-07") or p.period_match["kind"] == "speaks_of" for p in answer.passages)


def test_question_about_a_year_outside_the_archive_is_refused(backend_service):
    answer = backend_service.ask("2010年聊城新增了多少家企业？")
    assert not answer.found
    assert answer.answer == "档案中没有2010年的报纸。"
    assert answer.passages == []


def test_explicit_filters_win_over_dates_in_the_question(backend_service):
    answer = backend_service.ask(COUNT_Q, date_from="2025-07-29", date_to="2025-07-29")
    assert answer.filters.date_from == "2025-07-29"
    assert answer.passages and all(p.citation.date == "2025-07-29" for p in answer.passages)


def test_page_filter_with_no_pages_finds_nothing(backend_service):
    answer = backend_service.ask("专精特新", page=7)
    assert not answer.found and answer.passages == []
    assert answer.filters.page == 7


@pytest.mark.parametrize(
    "kwargs",
    [
        {"date_from": "2025-13-01"},
        {"date_from": "2026-01-01", "date_to": "2025-01-01"},
        {"page": 0},
    ],
)
def test_impossible_filters_are_bad_input(backend_service, kwargs):
    with pytest.raises(BadInput):
        backend_service.ask(COUNT_Q, **kwargs)


def test_empty_question_is_bad_input(backend_service):
    with pytest.raises(BadInput):
        backend_service.ask("   ")


def test_json_shape_matches_the_contract(backend_service):
    obj = backend_service.ask(COUNT_Q, top_k=3).to_json()
    assert set(obj) == {"question", "answer", "found", "refusal", "filters", "passages", "took_ms", "index_version"}
    assert obj["refusal"] is None
    assert set(obj["filters"]) == {"date_from", "date_to", "paper", "page"}
    assert 1 <= len(obj["passages"]) <= 3
    p = obj["passages"][0]
    assert p["n"] == 1 and set(p) - {"period_match"} == {"n", "score", "text", "citation"}
    assert set(p["citation"]) == {"paper", "date", "issue_no", "page", "page_name", "title", "article_id", "source",
                                  "page_image", "regions", "passage_regions"}
    assert p["citation"]["source"].startswith("seeds/")
    # the seeds are text files: no page image, no regions (docs/page-images.md)
    assert (p["citation"]["page_image"], p["citation"]["regions"], p["citation"]["passage_regions"]) == (None, None, 0)
    assert re.fullmatch(r"v\d{6}", obj["index_version"])


def test_passages_are_not_near_duplicates(backend_service):
    from qa.retrieve.search import is_near_duplicate, shingles

    answer = backend_service.ask("中小企业 专精特新 培育", top_k=10)
    sets = [shingles(p.text) for p in answer.passages]
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            assert not is_near_duplicate(sets[i], sets[j])


def test_cli_ask_json_prints_only_the_json(seeds_location):
    result = CliRunner().invoke(cli, ["ask", COUNT_Q, *location_args(seeds_location), "--json"])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["found"] and "207家" in obj["answer"]


def test_cli_ask_prints_answer_and_numbered_sources(seeds_location):
    result = CliRunner().invoke(cli, ["ask", COUNT_Q, *location_args(seeds_location)])
    assert result.exit_code == 0, result.output
    assert "207家" in result.stdout
    assert re.search(r"^\[1\] 聊城日报 20\d\d-\d\d-\d\d 第1版.*《.+》", result.stdout, re.M)


def test_cli_ask_without_index_says_so_in_one_sentence(tmp_path):
    result = CliRunner().invoke(cli, ["ask", COUNT_Q, "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：") and "Traceback" not in result.stderr


def test_a_passage_speaking_of_the_asked_half_year_is_found_and_says_why(seeds_service):
    answer = seeds_service.ask("2025年上半年聊城市属企业资产总额达到多少？")
    assert answer.found and "1050亿元" in answer.answer
    first = answer.passages[0]
    assert (first.citation.date, first.citation.page) == ("2025-07-29", 1)
    assert first.period_match == {"kind": "speaks_of", "phrase": "今年上半年"}


def test_a_dateline_names_the_day_it_speaks_of(seeds_service):
    answer = seeds_service.ask("2025年7月28日习近平对什么工作作出重要指示？")
    assert answer.found and "防汛" in answer.answer
    assert answer.passages[0].period_match["kind"] == "speaks_of"


def test_a_dateline_in_the_byline_counts_as_naming_the_day(backend_service):
    answer = backend_service.ask("7月28日习近平对什么工作作出重要指示？")
    assert answer.found and "防汛" in answer.answer
    assert cited(answer)[0].citation.date == "2025-07-29"


def test_as_of_decides_what_last_year_means(seeds_service):
    q = "去年7月，习近平对什么工作作出重要指示？"
    assert "防汛" in seeds_service.ask(q, as_of="2026-03-01").answer
    later = seeds_service.ask(q, as_of="2030-03-01")
    assert (later.found, later.refusal, later.answer) == (False, "out_of_archive", "档案中没有2029年7月的报纸。")


def test_cli_ask_rejects_a_malformed_as_of_in_one_sentence(seeds_index):
    result = CliRunner().invoke(cli, ["ask", COUNT_Q, "--index", str(seeds_index), "--as-of", "2027-3-1"])
    assert result.exit_code == 1 and result.stderr.startswith("错误：") and "as_of" in result.stderr
