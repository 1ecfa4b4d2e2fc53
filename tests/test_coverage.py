"""Coverage questions and /api/timeline over a synthetic multi-year JSONL archive with known dates."""

from __future__ import annotations

import json

import pytest

from qa.app import create_app
from qa.config import Settings
from qa.service import Service
from qa.store import build_index

from fakes import FakeEmbedder

FLOOD_DATES = ["2021-06-03", "2021-07-15", "2021-07-20", "2022-07-01", "2023-05-09", "2023-07-02", "2024-08-30"]
OTHER_DATES = ["2021-06-04", "2022-01-10", "2023-03-03", "2024-12-30"]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coverage")
    rows = [
        {
            "id": f"flood-{d}",
            "date": d,
            "paper": "聊城日报",
            "page": 2,
            "title": f"{d[:4]}年防汛工作部署",
            "text": f"全市防汛工作会议召开，要求做好防汛准备，落实防汛责任。编号{i}。",
        }
        for i, d in enumerate(FLOOD_DATES)
    ]
    rows += [
        {
            "id": f"road-{d}",
            "date": d,
            "paper": "聊城日报",
            "page": 3,
            "title": "道路改造",
            "text": f"城区道路改造工程进展顺利，市民出行更方便。编号{i}。",
        }
        for i, d in enumerate(OTHER_DATES)
    ]
    archive = folder / "cms.jsonl"
    archive.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    build_index([archive], folder / "ix", embedder=FakeEmbedder(), progress=False, log=lambda m: None)
    return Service(folder / "ix", embedder=FakeEmbedder())


def test_first_and_latest_report(service):
    first = service.ask("防汛第一次见报是什么时候？")
    assert first.found and first.passages[0].citation.date == "2021-06-03" and "2021-06-03" in first.answer
    last = service.ask("最近一次报道防汛是什么时候？")
    assert last.passages[0].citation.date == "2024-08-30"


def test_which_days_lists_reports_oldest_first_and_counts_them(service):
    answer = service.ask("哪些天报道了防汛？")
    assert [p.citation.date for p in answer.passages] == FLOOD_DATES
    assert f"共{len(FLOOD_DATES)}篇" in answer.answer
    assert answer.timeline["total"] == len(FLOOD_DATES)


def test_a_period_in_the_question_bounds_the_timeline(service):
    answer = service.ask("2021年关于防汛的报道有多少，集中在哪些月份？")
    t = answer.timeline
    assert t["unit"] == "month" and t["total"] == 3
    assert {b["key"]: b["count"] for b in t["buckets"]} == {"2021-06": 1, "2021-07": 2}
    assert "2021-07（2篇）" in answer.answer


def test_api_timeline_counts_per_year_over_a_long_span(service):
    client = create_app(Settings(rate_limit=None), service=service).test_client()
    body = client.get("/api/timeline", query_string={"q": "防汛"}).get_json()
    t = body["timeline"]
    assert (t["unit"], t["total"]) == ("year", 7)
    assert {b["key"]: b["count"] for b in t["buckets"]} == {"2021": 3, "2022": 1, "2023": 2, "2024": 1}
    assert (t["first"]["date"], t["last"]["date"]) == ("2021-06-03", "2024-08-30")
    assert client.get("/api/timeline").status_code == 400
