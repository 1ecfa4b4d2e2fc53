"""Rank fusion, duplicate collapsing and filters applied inside the hybrid search."""

from __future__ import annotations

import pytest

from qa.retrieve.scope import question_scope
from qa.retrieve.search import is_near_duplicate, rrf_scores, search, shingles
from qa.types import Article, Filters, Page


def test_rrf_rewards_agreement_between_searches():
    scores = rrf_scores([[1, 2, 3], [3, 2]], k=60)
    assert max(scores, key=scores.get) in (2, 3)
    assert scores[3] > scores[1]


def test_rrf_weights_scale_each_list():
    scores = rrf_scores([[1], [2]], k=0, weights=[2.0, 1.0])
    assert scores == {1: 2.0, 2: 1.0}


@pytest.mark.parametrize(
    "a, b, dup",
    [
        ("全市新增省级以上专精特新中小企业207家。", "全市新增省级以上专精特新中小企业207家。", True),
        ("全市新增省级以上专精特新中小企业207家。", "本报讯 全市新增省级以上专精特新中小企业207家。记者 王培源", True),
        ("全市新增省级以上专精特新中小企业207家。", "习近平对防汛救灾工作作出重要指示。", False),
        ("", "甲", False),
    ],
)
def test_near_duplicates(a, b, dup):
    assert is_near_duplicate(shingles(a), shingles(b)) is dup


def _pages() -> list[Page]:
    pages = []
    # Many strongly matching passages on other dates, one weakly matching passage on the asked date.
    for day in range(1, 10):
        text = "防汛抗旱 防汛抗旱 防汛抗旱 水库安全度汛。"
        pages.append(
            Page(
                f"/a/{day}.txt",
                "聊城日报",
                f"2025-08-0{day}",
                1,
                text,
                f"a/{day}.txt",
                "/a",
                articles=[Article(f"p{day}#a1", "防汛", text)],
            )
        )
    text = "汛期检查：各地做好防汛准备。"
    pages.append(
        Page("/a/x.txt", "聊城日报", "2025-07-28", 2, text, "a/x.txt", "/a", articles=[Article("x#a1", "检查", text)])
    )
    return pages


def test_filters_apply_inside_both_searches(tmp_path, fake_embedder):
    from qa.store import IndexReader, build_from_pages

    build_from_pages(_pages(), ["/a"], tmp_path, embedder=fake_embedder, progress=False)
    reader = IndexReader.open(tmp_path)

    def scoped(filters: Filters, top_k: int = 5):
        scope = question_scope(reader, "防汛抗旱", filters)
        return search(reader, fake_embedder, scope.query, scope.allowed, top_k)

    assert [h.citation.date for h in scoped(Filters(date_from="2025-07-28", date_to="2025-07-28"), 1)] == ["2025-07-28"]
    assert [h.citation.page for h in scoped(Filters(page=2), 1)] == [2]
    assert scoped(Filters(paper="人民日报")) == []
    unfiltered = scoped(Filters(), 3)
    # Nine identical reprints collapse to one; the other, different passage stays.
    assert sorted(h.citation.date[:7] for h in unfiltered) == ["2025-07", "2025-08"]
    assert unfiltered[0].citation.date.startswith("2025-08")


def test_both_searches_at_once_return_what_one_after_the_other_does(tmp_path, fake_embedder, monkeypatch):
    """BM25 runs in a worker thread beside the embedding and vector search: same hits, filters kept."""
    from qa.store import IndexReader, build_from_pages

    build_from_pages(_pages(), ["/a"], tmp_path, embedder=fake_embedder, progress=False)
    reader = IndexReader.open(tmp_path)
    assert reader.concurrent_search
    asked = [("防汛抗旱", Filters()), ("防汛准备", Filters(date_from="2025-07-28", date_to="2025-07-28"))]
    together = [search(reader, fake_embedder, q, question_scope(reader, q, f).allowed, 5) for q, f in asked]
    monkeypatch.setattr(reader, "concurrent_search", False)
    apart = [search(reader, fake_embedder, q, question_scope(reader, q, f).allowed, 5) for q, f in asked]
    assert together == apart and together[0]
    assert [h.citation.date for h in together[1]] == ["2025-07-28"]


def test_a_question_searched_twice_is_embedded_once(tmp_path, fake_embedder, monkeypatch):
    """A dated question with weak evidence is searched again over every date: its vector is reused."""
    from qa.store import IndexReader, build_from_pages

    build_from_pages(_pages(), ["/a"], tmp_path, embedder=fake_embedder, progress=False)
    reader = IndexReader.open(tmp_path)
    calls = []
    encode = fake_embedder.encode_queries
    monkeypatch.setattr(fake_embedder, "encode_queries", lambda texts: calls.append(texts) or encode(texts))
    narrow = search(reader, fake_embedder, "汛期检查", reader.rows_matching("2025-07-28", "2025-07-28"), 3)
    wide = search(reader, fake_embedder, "汛期检查", None, 3)
    assert calls == [["汛期检查"]]
    assert narrow[0].citation.date == "2025-07-28" and len(wide) >= len(narrow)
