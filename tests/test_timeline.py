"""Timelines over a synthetic multi-year JSONL archive with known dates (qa.time.timeline)."""

from __future__ import annotations

import json

import pytest

from qa.ingest import read_archive
from qa.time.timeline import Report, build_timeline, detect_timeline, reports_in_order

# (id, date, page, title, text): 8 flood-control articles over four years among others.
ARTICLES = [
    ("f1", "2021-06-15", 1, "汛前检查全面展开", "全市开展汛前检查，防汛物资到位。"),
    ("f2", "2021-07-20", 2, "强降雨来袭", "市防汛指挥部启动四级应急响应。"),
    ("f3", "2021-07-21", 1, "连夜排涝", "防汛队伍连夜排涝。"),
    ("f4", "2022-07-01", 1, "主汛期到来", "主汛期到来，防汛进入关键期。"),
    ("f5", "2022-07-01", 3, "水库巡查", "水库防汛巡查全覆盖。"),
    ("f6", "2023-05-30", 2, "防汛演练", "全市举行防汛应急演练。"),
    ("f7", "2023-08-02", 1, "防汛救灾", "习近平对防汛救灾工作作出重要指示。"),
    ("f8", "2024-06-10", 4, "防汛准备", "今年防汛准备工作基本就绪。"),
    ("o1", "2021-09-01", 1, "大运河文化带", "大运河文化带建设提速。"),
    ("o2", "2022-03-08", 2, "专精特新", "新增专精特新企业207家。"),
    ("o3", "2023-07-29", 1, "国企改革", "今年上半年市属企业资产总额达到1050亿元。"),
    ("o4", "2024-12-31", 1, "年终盘点", "东昌湖景区全年接待游客。"),
]


@pytest.fixture(scope="module")
def flood_reports(tmp_path_factory) -> list[Report]:
    """The archive written as a CMS JSONL export, read by the real reader, matched on 防汛."""
    path = tmp_path_factory.mktemp("archive") / "export.jsonl"
    rows = [{"id": i, "date": d, "page": p, "title": t, "text": x, "paper": "聊城日报"} for i, d, p, t, x in ARTICLES]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    report = read_archive([path])
    assert not report.skipped and len(report.pages) == len(ARTICLES)
    return [
        Report(page.date, page.paper, page.page, a.title, a.article_id)
        for page in report.pages
        for a in page.articles
        if "防汛" in a.body
    ]


def test_years_when_the_span_is_long(flood_reports):
    t = build_timeline(flood_reports)
    assert t.unit == "year" and t.total == 8
    assert [(b.key, b.count) for b in t.buckets] == [("2021", 3), ("2022", 2), ("2023", 2), ("2024", 1)]
    assert (t.first.date, t.first.article_id, t.last.date, t.last.article_id) == (
        "2021-06-15",
        "f1",
        "2024-06-10",
        "f8",
    )
    assert t.buckets[0].article_ids == ["f1", "f2", "f3"]
    assert (t.buckets[1].date_from, t.buckets[1].date_to) == ("2022-01-01", "2022-12-31")


def test_months_with_empty_ones_when_the_span_is_short(flood_reports):
    within = [r for r in flood_reports if "2022-01-01" <= r.date <= "2023-12-31"]
    t = build_timeline(within)
    assert t.unit == "month" and len(t.buckets) == 14  # 2022-07 .. 2023-08
    counts = {b.key: b.count for b in t.buckets}
    assert counts == {**{b.key: 0 for b in t.buckets}, "2022-07": 2, "2023-05": 1, "2023-08": 1}
    assert t.buckets[0].date_to == "2022-07-31" and t.buckets[-1].date_to == "2023-08-31"
    assert (t.first.date, t.last.date) == ("2022-07-01", "2023-08-02")


def test_forced_unit_and_json_shape(flood_reports):
    t = build_timeline(flood_reports, unit="month")
    assert len(t.buckets) == 37 and sum(b.count for b in t.buckets) == 8  # 2021-06 .. 2024-06
    js = t.to_json()
    assert js["first"]["title"] == "汛前检查全面展开" and js["buckets"][0]["key"] == "2021-06"


def test_reports_in_date_order_with_citation_labels(flood_reports):
    ordered = reports_in_order(reversed(flood_reports))
    assert [r.article_id for r in ordered] == ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"]
    assert ordered[4].label() == "聊城日报 · 2022-07-01 · 第3版 · 《水库巡查》"


def test_an_article_counts_once_even_when_several_chunks_match():
    a = Report("2023-07-02", "聊城日报", 1, "防汛", "a1")
    t = build_timeline([a, a, Report("2023-07-05", "聊城日报", 2, "排涝", "a2")])
    assert t.total == 2 and t.buckets[0].count == 2


def test_nothing_matched():
    t = build_timeline([])
    assert (t.total, t.buckets, t.first, t.last) == (0, [], None, None)


@pytest.mark.parametrize(
    "question,kind,topic",
    [
        ("聊城第一次报道防汛是什么时候？", "first", "聊城防汛"),
        ("关于大运河的报道最早是哪天？", "first", "大运河"),
        ("防汛首次见报是哪一天？", "first", "防汛"),
        ("最近一次报道专精特新是什么时候？", "last", "专精特新"),
        ("专精特新最后一次见报是哪天？", "last", "专精特新"),
        ("哪些天报道了聊城大运河？", "list", "聊城大运河"),
        ("去年7月哪些天报道了防汛？", "list", "防汛"),
        ("东昌湖什么时候报道过？", "list", "东昌湖"),
        ("这几年关于防汛的报道有多少，集中在哪些月份？", "histogram", "防汛"),
        ("2023年关于东昌湖的报道有多少篇？", "histogram", "东昌湖"),
    ],
)
def test_timeline_questions(question, kind, topic):
    got = detect_timeline(question)
    assert got is not None and (got.kind, got.topic) == (kind, topic)


@pytest.mark.parametrize(
    "question",
    [
        "首次突破1000亿元是哪一年？",
        "聊城市属企业上半年资产总额达到多少？",
        "最近聊城新增多少家企业？",
        "今年的降水分布如何？",
        "7月28日的报纸讲了防汛的什么要求？",
    ],
)
def test_ordinary_questions_are_no_timelines(question):
    assert detect_timeline(question) is None
