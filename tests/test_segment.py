"""Segmentation of the two seed pages and of small synthetic pages; nothing is ever lost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.ingest import read_archive
from qa.ingest.segment import furniture_chars, is_furniture, segment_page
from qa.types import Article, Page

SEED_000 = "seeds/000_4456a7331ac78358.txt"
SEED_002 = "seeds/002_f585da57cd6e1821.txt"
# title -> (seed, byline substring or None, body start/substring)
EXPECTED = {
    "问需于企 精准滴灌": (SEED_000, "王培源", "仲春时节，气温回暖"),
    "我市2项改革案例入选 2025年度山东改革精品案例": (SEED_000, "本报讯（记者 王培源）", "3月26日，记者从市委改革办"),
    "我市2家企业入选工信部第二批质量管理能力高等级企业名单": (
        SEED_000,
        "本报讯（记者 姬翔 吴兆旭）",
        "3月27日，记者从市工业和信息化局",
    ),
    "真金白银支持就是最“硬核”保障": (SEED_000, "赵宗锋", "安徽省合肥市设立总规模300亿元"),
    "改革出实招 群众享红利": (SEED_000, "于伯平", "3月31日，记者从高唐县获悉"),
    "让“小体量”更有“含金量”": (SEED_002, "赵宗锋", "千千万万如毛细血管般"),
    "锻造高质量发展“生力军”": (SEED_002, "王培源", "累计为2200余家中小企业"),
    "黑色金属加工产业链“问需于企”座谈会召开": (SEED_002, "本报讯（记者 刘志耀）", "7月28日，黑色金属加工产业链"),
    "市政府党组理论学习中心组进行集体学习": (SEED_002, "本报讯（记者 赵琦 焦阳）", "7月28日下午，市政府党组"),
}


@pytest.fixture(scope="module")
def seed_pages() -> dict[str, Page]:
    """Both seeds read as ``qa inspect seeds`` would from the repo root, keyed by source."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(Path(__file__).resolve().parent.parent)  # sources are relative to the repo root
        report = read_archive(["seeds"])
    assert not report.skipped
    return {p.source: p for p in report.pages}


def _articles(page: Page) -> dict[str | None, Article]:
    return {a.title: a for a in segment_page(page)}


@pytest.mark.parametrize("title", list(EXPECTED))
def test_seed_articles(seed_pages, title: str) -> None:
    source, byline, body = EXPECTED[title]
    article = _articles(seed_pages[source])[title]
    assert article.title == title
    assert byline in (article.byline or "")
    assert article.body.startswith(body)


def test_seed_details(seed_pages) -> None:
    p000, p002 = _articles(seed_pages[SEED_000]), _articles(seed_pages[SEED_002])
    assert p000["问需于企 精准滴灌"].subtitle == "——聊城全周期服务托起中小企业“上扬曲线”"
    assert p000["问需于企 精准滴灌"].refs == ["(下转第7版)"]
    assert "下转" not in p000["问需于企 精准滴灌"].body
    assert "梯次培育" in p000["问需于企 精准滴灌"].body  # an in-article subhead is not a new article
    assert p000["改革出实招 群众享红利"].pre_title == "累计为企业和群众节约资金600余万元，高唐县——"
    assert p000["成果转化探索新途径"].refs == ["详细报道见第7版"]
    assert p000["春意浓"].byline == "■ 本报记者 朱玉东"
    assert p002["锻造高质量发展“生力军”"].subtitle == "——聊城市深化国资国企改革激活发展新动能"
    assert "让“小体量”更有“含金量”。" in p002["让“小体量”更有“含金量”"].body
    xi = next(a for a in p002.values() if a.byline and a.byline.startswith("新华社北京7月28日电"))
    assert xi.pre_title == "习近平对防汛救灾工作作出重要指示强调"
    assert xi.body.startswith("中共中央总书记、国家主席")
    ids = [a.article_id for a in segment_page(seed_pages[SEED_002])]
    assert ids == [f"seeds/002_f585da57cd6e1821.txt#a{n}" for n in range(1, len(ids) + 1)]
    assert ids == [a.article_id for a in segment_page(seed_pages[SEED_002])]  # stable


def test_seed_metadata(seed_pages) -> None:
    for source, date in ((SEED_000, "2026-04-01"), (SEED_002, "2025-07-29")):
        page = seed_pages[source]
        assert (page.paper, page.date, page.page, page.page_name, page.issue_no) == ("聊城日报", date, 1, None, None)


def _nonws(text: str) -> int:
    return len("".join(text.split()))


@pytest.mark.parametrize("source", [SEED_000, SEED_002])
def test_nothing_lost(seed_pages, source: str) -> None:
    page = seed_pages[source]
    total = sum(a.char_count() for a in segment_page(page))
    assert total == _nonws(page.text) - furniture_chars(page)


def test_seed_002_paragraphs_not_broken(seed_pages) -> None:
    page = seed_pages[SEED_002]
    assert "是经济韧性的基石" in page.text
    for article in segment_page(page):
        for para in filter(None, article.body.split("\n")):
            is_deck = para.startswith("■")  # summary bullets under the headline carry no 。
            assert is_deck or re.search(r"[。！？…”」』）]$", para), para
            assert not re.search(r"[\u4e00-\u9fff]$", para) or is_deck, para


PAGES = [
    "",
    "一",
    "本报讯（记者 张三）今天下雨。",
    "标题一\n——副题\n■ 本报记者 李四\n正文第一段。\n正文第二段。(下转第2版)",
    "聊城日报\n2026年4月1日 星期三\n标题\n正文。\n责任编辑：王五",
    "图为市民在公园游玩。\n（记者 赵六 摄）\nHLB PTFE 轴承。",
    "（上接第1版）续前文的正文。\n孤立的正文没有标题。",
]


@pytest.mark.parametrize("text", PAGES)
def test_nothing_lost_small_pages(text: str) -> None:
    page = Page("p", "聊城日报", "2026-04-01", 1, text, "x")
    articles = segment_page(page)
    assert sum(a.char_count() for a in articles) == _nonws(text) - furniture_chars(page)
    assert [a.article_id for a in articles] == [f"x#a{n}" for n in range(1, len(articles) + 1)]  # from source


def test_small_page_fields() -> None:
    page = Page("p", "聊城日报", "2026-04-01", 1, PAGES[3], "x")
    [a] = segment_page(page)
    assert (a.title, a.subtitle, a.byline, a.refs) == ("标题一", "——副题", "■ 本报记者 李四", ["(下转第2版)"])
    assert a.body == "正文第一段。\n正文第二段。"
    [cap] = segment_page(Page("p", "聊城日报", "2026-04-01", 1, PAGES[5], "x"))
    assert cap.captions == ["图为市民在公园游玩。", "（记者 赵六 摄）"]
    [a] = segment_page(Page("p", "聊城日报", "2026-04-01", 1, PAGES[6], "x"))
    assert a.refs == ["（上接第1版）"] and a.title is None and a.body.startswith("续前文")


def test_furniture() -> None:
    assert is_furniture("聊城日报", "聊城日报")
    assert is_furniture("2026年4月1日 星期三", "聊城日报")
    assert is_furniture("责任编辑：王明 美编：李华", "聊城日报")
    assert not is_furniture("第2版", "聊城日报")
    page = Page("p", "聊城日报", "2026-04-01", 1, PAGES[4], "x")
    assert furniture_chars(page) == len("聊城日报") + len("2026年4月1日星期三") + len("责任编辑：王五")
    [a] = segment_page(page)
    assert (a.title, a.body) == ("标题", "正文。")


def test_jsonl_articles_returned_unchanged() -> None:
    art = Article("cms-1", "标题", "正文。")
    page = Page("f#cms-1", "报", "2026-04-01", None, "正文。", "f", articles=[art])
    assert segment_page(page) == [art]


# Hypothesis: any text, however odd, segments without raising and without losing a character.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qa.text.normalize import normalize_text  # noqa: E402

_PIECES = st.sampled_from(
    [
        "问需于企",
        "精准滴灌",
        "，",
        "。",
        "——",
        "■ ",
        "本报讯（记者 王培源）",
        "7月28日电 ",
        "(下转第7版)",
        "第2版",
        "图为",
        "摄",
        "聊城日报",
        "2026年4月1日",
        "责任编辑：王",
        " ",
        "\n",
        "\n\n",
        "HLB PTFE",
        "２０２５",
        "“",
        "”",
        "a",
        "1",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_any_text_loses_nothing(raw: str) -> None:
    text = normalize_text(raw)
    page = Page("p", "聊城日报", "2026-04-01", 1, text, "x")
    articles = segment_page(page)
    assert sum(a.char_count() for a in articles) == _nonws(text) - furniture_chars(page)
