"""Sentence-aware chunking: boundaries, sizes, overlap and stable ids."""

from __future__ import annotations

import re

import pytest

from qa.ingest.chunk import ChunkSettings, chunk_article, chunk_text, embedding_text
from qa.text.chinese import split_sentences
from qa.types import Article

TEXTS = {
    "empty": "",
    "one_sentence": "聊城市新增省级专精特新中小企业86家。",
    "very_long_sentence": ("聊城市持续优化营商环境" + "，推动企业转型升级") * 100 + "。",
    "long_no_commas": "长" * 2000,
    "mixed": "2025年GDP增长5.2%，总量达到1,234.5亿元。Apple发布了iPhone 15！售价$999？对；"
    "AI+制造业（智能制造）项目共计37个……下一步呢？",
    "fullwidth": "（一）他说：“一定要守住底线！”大家回答：「明白。」然后……散会了？！最后；结束。",
    "paragraphs": "第一段第一句。第一段第二句！\n\n第二段没有句号\n第三段。" + "很长的一段话，" * 30 + "完。",
    "newspaper": (
        "仲春时节，气温回暖，晨光洒在工业园。“我们的订单排到了年底。”企业负责人说。"
        "今年以来，聊城市累计走访企业1200余家，解决问题380个；"
    )
    * 6,
}


def _squash(s: str) -> str:
    return re.sub(r"\s", "", s)


def test_closing_quotes_stay_with_their_sentence():
    assert split_sentences("他说：“走吧。”然后走了。") == ["他说：“走吧。”", "然后走了。"]
    assert split_sentences("「好。」对") == ["「好。」", "对"]
    assert split_sentences("等等……真的吗？！") == ["等等……", "真的吗？！"]


@pytest.mark.parametrize("name", sorted(TEXTS))
@pytest.mark.parametrize("max_chars", [20, 150, 250])
def test_chunk_boundaries(name, max_chars):
    text = TEXTS[name]
    assert "".join(split_sentences(text)) == text
    chunks = chunk_text(text, ChunkSettings(max_chars=max_chars, overlap_sentences=0))
    assert all(0 < len(c) <= max_chars for c in chunks)
    # Without overlap the chunks are the text, in order (whitespace between paragraphs aside).
    assert _squash("".join(chunks)) == _squash(text)
    if text and text == text.strip() and "\n" not in text:
        assert "".join(chunks) == text
    # A sentence that fits is never split: it lies whole inside one chunk.
    for s in split_sentences(text):
        if 0 < len(s.strip()) <= max_chars:
            assert any(s.strip() in c for c in chunks), s


def test_long_sentence_splits_at_commas_first():
    text = "甲" * 8 + "，" + "乙" * 8 + "，" + "丙" * 8 + "。"
    assert chunk_text(text, ChunkSettings(20, 0)) == ["甲" * 8 + "，" + "乙" * 8 + "，", "丙" * 8 + "。"]


def test_overlap_repeats_the_last_sentence():
    text = "".join(f"第{i}句话有一些内容。" for i in range(10))
    chunks = chunk_text(text, ChunkSettings(max_chars=30, overlap_sentences=1))
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        assert b.startswith(split_sentences(a)[-1])
        assert len(b) <= 30


def test_chunk_article_title_is_context_and_byline_opens_the_text():
    a = Article(article_id="p#a0", title="防汛要求", body="各地要加强巡查。", byline="新华社北京7月28日电")
    [c] = chunk_article(a, "p")
    assert c.text == "新华社北京7月28日电\n各地要加强巡查。" and c.title == "防汛要求"
    assert embedding_text(c) == "防汛要求\n新华社北京7月28日电\n各地要加强巡查。"
    assert "防汛要求" not in c.text


def test_byline_is_searchable_only_once():
    body = "。".join(f"第{i}句话写得很长很长很长很长很长很长很长很长" for i in range(40)) + "。"
    chunks = chunk_article(Article(article_id="p#a0", title="t", body=body, byline="■ 本报记者 王培源"), "p")
    assert len(chunks) > 1
    assert [("王培源" in c.text) for c in chunks] == [True] + [False] * (len(chunks) - 1)


def test_title_only_article_yields_its_title():
    [c] = chunk_article(Article(article_id="p#a1", title="开局“十五五” 奋斗正当时", body=""), "p")
    assert c.text == "开局“十五五” 奋斗正当时"
    assert embedding_text(c) == c.text
    assert chunk_article(Article(article_id="p#a2", title=None, body="  "), "p") == []


def test_ids_are_stable_and_local():
    arts = [Article(article_id=f"p#a{i}", title=f"题{i}", body=TEXTS["newspaper"] + str(i)) for i in range(3)]
    ids1 = [[c.chunk_id for c in chunk_article(a, "p")] for a in arts]
    ids2 = [[c.chunk_id for c in chunk_article(a, "p")] for a in arts]
    assert ids1 == ids2
    arts[1].body = "改过的正文。" + arts[1].body
    ids3 = [[c.chunk_id for c in chunk_article(a, "p")] for a in arts]
    assert ids3[0] == ids1[0] and ids3[2] == ids1[2]
    assert ids3[1][0] != ids1[1][0]
    all_ids = [i for ids in ids3 for i in ids]
    assert len(all_ids) == len(set(all_ids))


def test_repeated_text_gets_distinct_ids():
    a = Article(article_id="p#a0", title=None, body="同一句话。" * 3)
    chunks = chunk_article(a, "p", ChunkSettings(5, 0))
    assert [c.text for c in chunks] == ["同一句话。"] * 3
    assert len({c.chunk_id for c in chunks}) == 3


def test_default_chunks_of_a_long_article_end_at_sentence_ends():
    body = TEXTS["newspaper"] * 3
    chunks = chunk_text(body)
    assert len(chunks) > 1
    assert all(c[-1] in "。！？；" for c in chunks[:-1])  # never cut mid-sentence
    assert "".join(chunks) == body
