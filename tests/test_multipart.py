"""Multi-part questions, the splitter side (real jieba): which questions split, into what, and which never do;
and answers never cut inside a number (「斩获25.[1]」)."""

from __future__ import annotations

import re

import pytest

from qa.answer.extract import compose_answer
from qa.ingest.chunk import ChunkSettings, chunk_text
from qa.retrieve.question_parts import coordinated_items, is_list_question, split_parts, split_question
from qa.text.chinese import plain_sentences, split_sentences
from qa.types import Citation, Hit


@pytest.mark.parametrize(
    "question, parts",
    [
        ("2021年香港和澳门的GDP增长率", ["2021年香港的GDP增长率", "2021年澳门的GDP增长率"]),
        ("2022年和2023年春节档首日票房冠军", ["2022年春节档首日票房冠军", "2023年春节档首日票房冠军"]),
        ("2022年特斯拉和比亚迪交付量", ["2022年特斯拉交付量", "2022年比亚迪交付量"]),
        ("北京、上海和广州的房价", ["北京的房价", "上海的房价", "广州的房价"]),
        ("香港和澳门2021年的GDP增长率分别是多少", ["香港2021年的GDP增长率是多少", "澳门2021年的GDP增长率是多少"]),
        ("神舟十五号和神舟十六号的航天员分别是谁", ["神舟十五号的航天员是谁", "神舟十六号的航天员是谁"]),
        ("苹果与三星各卖出多少部手机", ["苹果卖出多少部手机", "三星卖出多少部手机"]),
        ("2023年上半年和下半年的CPI", ["2023年上半年的CPI", "2023年下半年的CPI"]),
        ("2022年及2023年的出生人口", ["2022年的出生人口", "2023年的出生人口"]),
        ("中国出口和进口总额", ["中国出口总额", "中国进口总额"]),
        ("宁德时代与比亚迪的电池装机量", ["宁德时代的电池装机量", "比亚迪的电池装机量"]),
        ("华为Mate60和小米14的售价", ["华为Mate60的售价", "小米14的售价"]),
        ("片仔癀和世纪华通的营收", ["片仔癀的营收", "世纪华通的营收"]),  # an item of two words, up to 的
        ("浦发银行和恒大物业的营业收入", ["浦发银行的营业收入", "恒大物业的营业收入"]),  # jieba glues 「和恒大」
        (
            "聊城专精特新中小企业和小巨人企业有多少家？",
            ["聊城专精特新中小企业有多少家？", "聊城专精特新小巨人企业有多少家？"],
        ),
        (
            "2022年和2023年特斯拉和比亚迪的交付量",
            ["2022年特斯拉的交付量", "2022年比亚迪的交付量", "2023年特斯拉的交付量", "2023年比亚迪的交付量"],
        ),
    ],
)
def test_coordinated_question_splits_with_shared_context_distributed(question, parts):
    assert split_question(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "世界和平论坛在哪里举行？",  # 和平 is one word
        "中华人民共和国成立多少年了？",  # 共和国
        "人民和谐美满的生活",  # 和谐
        "《战争与和平》的作者是谁？",  # a book title is one item
        "中国和美国的贸易关系如何？",  # about the relation between the items: one question
        "王毅与布林肯会谈的内容",
        "他和谁一起去了北京？",  # 谁 is not an item
        "《心居》的主演有哪些？",  # a list question, but one question
        "2025年聊城新增省级以上专精特新中小企业多少家？",
    ],
)
def test_words_containing_he_and_one_question_do_not_split(question):
    assert split_question(question) == [question]


def test_parts_carry_their_items_but_not_dates():
    parts = split_parts("2022年和2023年特斯拉和比亚迪的交付量")
    assert [p.items for p in parts] == [("特斯拉",), ("比亚迪",), ("特斯拉",), ("比亚迪",)]


def test_list_questions_and_their_items():
    assert is_list_question("《心居》的主演有哪些？") and is_list_question("都有谁参加了会议")
    assert not is_list_question("《心居》的导演是谁？")
    assert coordinated_items("电视剧《心居》由滕华涛执导，海清、张颂文主演。") == ["海清", "张颂文"]
    assert coordinated_items("剧中，童瑶、冯绍峰分别饰演顾清俞和展翔。") == ["童瑶", "冯绍峰"]
    assert coordinated_items("世界和平论坛开幕。") == []


# The bug users saw: 「票房冠军《长津湖之水门桥》斩获25.[1]」 — a decimal point at a line end was a sentence end.
BROKEN_NUMBER = "2022年春节档首日票房冠军是《长津湖之水门桥》。\n首日斩获25.\n1亿元。"


def test_a_decimal_point_at_a_line_end_is_not_a_sentence_end():
    assert split_sentences("首日斩获25.\n1亿元。次日") == ["首日斩获25.\n1亿元。", "次日"]
    assert "首日斩获25.1亿元。" in plain_sentences(BROKEN_NUMBER)
    # but a real end followed by a number still ends the sentence
    assert split_sentences("报7.1495。8月2日") == ["报7.1495。", "8月2日"]


def test_chunks_never_end_inside_a_number():
    head = "春节档首日，票房冠军《长津湖之水门桥》斩获25.\n"
    for size in (len(head), len(head) + 2):
        chunks = chunk_text(head + "1亿元，刷新了春节档首日纪录。", ChunkSettings(max_chars=size))
        assert not any(re.search(r"\d[.．]$", c) for c in chunks), chunks
    long = "票" * 340 + "斩获25.1亿元"  # one sentence longer than a chunk, cut hard
    assert not any(re.search(r"\d[.．]?$", c) for c in chunk_text(long + "。")[:-1])


def test_answer_quotes_the_whole_number():
    cite = Citation("测试日报", "2022-02-02", None, 1, None, "春节档", "a1", "t.jsonl")
    hit = Hit(0, "c0", 1.0, BROKEN_NUMBER, cite, dense_score=0.9)
    answer = compose_answer("2022年春节档首日票房冠军斩获多少票房？", [hit])
    assert answer.found and "25.1亿元" in answer.text
    assert not re.search(r"\d[.．]\[", answer.text)
