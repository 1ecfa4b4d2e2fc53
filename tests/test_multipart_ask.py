"""Multi-part questions end to end: a tiny archive of short dated reports (tests/data/multipart_news.jsonl:
Hong Kong's and Macau's 2021 GDP, Tesla's and BYD's 2022 deliveries, two Spring Festival first days,
two reports on 《心居》, distractors) indexed with the real bundled model, asked through the Service and
``POST /api/ask``. The reports are short texts written for these tests, not real articles.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from qa.app import create_app
from qa.app.openapi import openapi_document
from qa.config import Settings

pytestmark = pytest.mark.slow
ARCHIVE = Path(__file__).parent / "data" / "multipart_news.jsonl"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from qa.service import Service
    from qa.store import build_index

    index = tmp_path_factory.mktemp("multipart-index")
    build_index([str(ARCHIVE)], index, progress=False)
    return Service(index)


def cited_articles(answer, part: dict) -> set[str]:
    return {answer.passages[n - 1].citation.article_id for n in part["passages"]}


def markers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


def test_two_regions_are_both_answered_each_citing_its_own_report(service):
    answer = service.ask("2021年香港和澳门的GDP增长率")
    assert answer.found
    assert [p["question"] for p in answer.parts] == ["2021年香港的GDP增长率", "2021年澳门的GDP增长率"]
    hk, mo = answer.parts
    assert hk["found"] and mo["found"]
    assert "6.4%" in hk["answer"] and "18.0%" in mo["answer"]
    assert cited_articles(answer, hk) == {"hk-gdp-2021"} and cited_articles(answer, mo) == {"mo-gdp-2021"}
    # the answer text says both parts, with markers into the one passage list
    assert "6.4%" in answer.answer and "18.0%" in answer.answer
    assert all(1 <= n <= len(answer.passages) for n in markers(answer.answer))
    assert {answer.passages[n - 1].citation.article_id for n in markers(answer.answer)} == {
        "hk-gdp-2021",
        "mo-gdp-2021",
    }


def test_two_companies_are_both_answered(service):
    answer = service.ask("2022年特斯拉和比亚迪交付量")
    tesla, byd = answer.parts
    assert tesla["found"] and "131万辆" in tesla["answer"] and cited_articles(answer, tesla) == {"tesla-2022"}
    assert byd["found"] and "186.35万辆" in byd["answer"] and cited_articles(answer, byd) == {"byd-2022"}


def test_each_year_is_searched_in_its_own_period_and_numbers_stay_whole(service):
    answer = service.ask("2022年和2023年春节档首日票房冠军")
    y2022, y2023 = answer.parts
    assert (y2022["filters"]["date_from"], y2023["filters"]["date_from"]) == ("2022-01-01", "2023-01-01")
    assert "长津湖之水门桥" in y2022["answer"] and cited_articles(answer, y2022) == {"box-2022"}
    assert "满江红" in y2023["answer"] and cited_articles(answer, y2023) == {"box-2023"}
    # the reports break 「4.」/「2亿元」 over two lines: the answer quotes the number whole
    assert "4.2亿元" in y2022["answer"] and "4.3亿元" in y2023["answer"]
    assert not re.search(r"\d[.．]\[", answer.answer)


def test_a_part_without_a_report_is_named_as_not_found(service):
    answer = service.ask("2021年香港和新加坡的GDP增长率")
    hk, sg = answer.parts
    assert hk["found"] and cited_articles(answer, hk) == {"hk-gdp-2021"}
    assert not sg["found"] and sg["passages"] == []
    assert "未找到：2021年新加坡的GDP增长率" in answer.answer
    assert answer.found  # one part was answered


def test_a_part_outside_the_archive_says_so(service):
    answer = service.ask("2010年和2021年香港的GDP增长率")
    old, new = answer.parts
    assert old["refusal"] == "out_of_archive" and "档案中没有2010年的报纸" in old["answer"]
    assert new["found"] and "6.4%" in new["answer"]


def test_list_question_gathers_items_across_reports(service):
    answer = service.ask("《心居》的主演有哪些？")
    assert answer.found and len(answer.parts) == 1
    part = answer.parts[0]
    assert part["items"] == ["海清", "张颂文", "童瑶", "冯绍峰"]
    assert cited_articles(answer, part) == {"xinju-1", "xinju-2"}
    for name in part["items"]:
        assert name in answer.answer


def test_single_questions_have_no_parts(service):
    answer = service.ask("2021年澳门本地生产总值实质增长多少？")
    assert answer.found and answer.parts is None and "parts" not in answer.to_json()
    assert "18.0%" in answer.answer


def test_api_returns_parts_as_documented(service):
    app = create_app(Settings(rate_limit=None, reload_interval_s=3600), service=service)
    resp = app.test_client().post(
        "/api/ask", data=json.dumps({"question": "2021年香港和澳门的GDP增长率"}), content_type="application/json"
    )
    assert resp.status_code == 200
    body = resp.get_json()
    doc = openapi_document()
    jsonschema.validate(body, {"$ref": "#/components/schemas/Answer", "components": doc["components"]})
    assert [p["found"] for p in body["parts"]] == [True, True]
    cited = {body["passages"][n - 1]["citation"]["article_id"] for p in body["parts"] for n in p["passages"]}
    assert cited == {"hk-gdp-2021", "mo-gdp-2021"}
