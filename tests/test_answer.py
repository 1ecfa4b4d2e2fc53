"""The extractive answer over hand-built hits whose texts come from the two seed front pages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.answer.extract import MIN_EVIDENCE, NOT_FOUND, compose_answer, is_when_question
from qa.text.chinese import plain_sentences
from qa.types import Citation, Hit

# 聊城日报 2026-04-01 第1版《问需于企 精准滴灌》 (one paragraph per line).
SMEs_2026 = (
    "这“一堵墙”的推倒，不仅是物理空间的打破，更是我市破解中小企业发展瓶颈的生动缩影。"
    "近年来，我市紧扣工业经济“头号工程”和制造业强市战略目标，着力凸显中小企业的培育主体地位，"
    "紧紧围绕分层培育、创新驱动、环境优化三大重点工作，全力破解阻碍中小企业发展壮大的突出难\n\n"
    "题，促进中小企业实现从规模扩张向质效升级、从单打独斗向抱团协作的跨越式转变。"
    "2025年，全市新增省级以上专精特新中小企业207家、专精特新“小巨人”企业14家、"
    "省级以上单项冠军企业22家，一条高质量发展的“上扬曲线”清晰可见。\n\n梯次培育\n\n从“小草”到“大树”的成长之路"
)
GROWTH_2026 = (
    "企业成长如同自然生态，既要有参天大树，也要有葱郁灌木。聊城通过开展“小升规”育苗行动、"
    "实施专精特新培育行动、启动“远航企业”领航行动，为不同阶段的企业精准“施肥浇水”。"
)
# 聊城日报 2025-07-29 第1版《让“小体量”更有“含金量”》 (PDF text with hard wraps).
SMEs_2025 = (
    "近年来，我市持续深耕中小企业培育沃土，深入推进优质企业“热带雨\n"
    "林”培育计划，加速培育专精特新、“小巨人”、单项冠军等标杆型企业梯队。迄\n"
    "今为止，全市已集聚创新型中小企业1811家、瞪羚企业97家、专精特新“小巨\n"
    "人”企业33家，枝繁叶茂的梯度培育体系日臻完善。更令人鼓舞的是，我省新\n"
    "鲜出炉的2025年度专精特新中小企业名单中，聊城市有207家企业入选，有效\n"
    "期内企业达950家，总量位居全省第六。"
)
FLOOD_2025 = (
    "新华社北京7月28日电 中共中央总书记、\n国家主席、中央军委主席习近平对防汛救灾工作\n作出重要指示。\n\n"
    "习近平强调，当前正处在“七下八上”防汛关\n\n键期，各地区和有关部门要树牢底线思维、极限思\n"
    "维，全面压实政治责任，落实落细各项防汛措施，盯\n紧守牢薄弱环节和重点部位，科学调配救援力量\n"
    "和救灾物资，确保发生突发紧急情况后第一时间\n响应、第一时间处置，全力保障人民生命财产安全。"
)
FINANCE_2025 = (
    "累计为2200 余家中小企业提供近\n400 亿元信贷支持，融资担保覆盖 2.22\n万户市场主体，引导银行机构投放资\n"
    "金超百亿元……7月25日，记者从聊城\n市财信投资控股集团有限公司了解\n到，该集团锚定高质量发展方向，通过\n"
    "强化金融服务、科技转化、供应链优化\n及资源循环利用，筑牢地方经济发展\n的“压舱石”。"
)

QUESTION_207 = "2025年聊城新增省级以上专精特新中小企业多少家？"
MARKER = re.compile(r"\[(\d+)\]")


def cite(date: str, title: str, article_id: str, page: int = 1) -> Citation:
    return Citation("聊城日报", date, None, page, None, title, article_id, f"seeds/{date}.txt")


def hit(
    n: int, text: str, date: str = "2026-04-01", title: str = "问需于企 精准滴灌", article: str | None = None, **kw
) -> Hit:
    """Hit ``n`` (row n); each hit is its own article unless ``article`` names a shared one."""
    citation = cite(date, title, article or f"{date}#{title}#{n}")
    return Hit(row=n, chunk_id=f"c{n}", score=1.0 / (n + 1), text=text, citation=citation, **kw)


def markers_ok(answer) -> None:
    numbers = [int(m) for m in MARKER.findall(answer.text)]
    assert numbers and all(1 <= k <= len(answer.passages) for k in numbers)


def sentences_of(text: str) -> list[str]:
    return [s for s in MARKER.split(text)[::2] if s]


def test_how_many_answer_has_the_number_and_marker_1():
    hits = [
        hit(0, GROWTH_2026),
        hit(1, SMEs_2026),
        hit(2, FLOOD_2025, "2025-07-29", "习近平对防汛救灾工作作出重要指示"),
    ]
    ans = compose_answer(QUESTION_207, hits)
    assert ans.found
    assert "207家" in ans.text
    first = ans.text.index("207家")
    assert ans.text[first:].split("[", 1)[1].startswith("1]")  # the 207 sentence cites passage [1]
    assert ans.passages[0].text == SMEs_2026  # the cited passage was moved to the front
    assert len(ans.passages) == 3
    markers_ok(ans)


def test_hard_wrapped_pdf_text_is_joined_into_sentences():
    ans = compose_answer("2025年度专精特新中小企业名单中聊城市有多少家企业入选？", [hit(0, SMEs_2025, "2025-07-29")])
    assert ans.found and "聊城市有207家企业入选" in ans.text
    assert "\n" not in ans.text


def test_when_question_lists_distinct_reports_oldest_first():
    q = "聊城有207家企业入选专精特新中小企业名单是哪一天报道的？"
    hits = [
        hit(0, SMEs_2026),
        hit(1, SMEs_2025, "2025-07-29", "让“小体量”更有“含金量”"),
        hit(3, SMEs_2026.replace("梯次培育", ""), article="2026-04-01#问需于企 精准滴灌#0"),  # another chunk of it
        hit(4, FINANCE_2025, "2025-07-29", "筑牢地方经济发展“压舱石”"),
    ]
    ans = compose_answer(q, hits)
    assert is_when_question(q) and ans.found
    assert ans.text == (
        "聊城日报 2025-07-29 第1版《让“小体量”更有“含金量”》[1]；聊城日报 2026-04-01 第1版《问需于企 精准滴灌》[2]"
    )
    assert ans.passages[0].citation.date == "2025-07-29" and ans.passages[1].citation.date == "2026-04-01"
    assert len(ans.passages) == 3  # the unrelated hit stays as a lead; the other chunk joined its article's card
    markers_ok(ans)


def test_chunks_of_one_article_share_one_source_card_in_article_order():
    hits = [
        hit(5, SMEs_2026, article="a"),
        hit(2, GROWTH_2026, article="a"),
        hit(3, FLOOD_2025, "2025-07-29", article="b"),
    ]
    ans = compose_answer(QUESTION_207, hits)
    assert ans.found and [p.citation.article_id for p in ans.passages] == ["a", "b"]
    assert ans.passages[0].text == GROWTH_2026 + "\n" + SMEs_2026  # row 2 before row 5
    assert set(MARKER.findall(ans.text)) == {"1"}


@pytest.mark.parametrize(
    "question,expected",
    [
        ("这篇报道是哪一天刊登的？", True),
        ("聊城日报哪天报道了防汛？", True),
        ("专精特新的报道在哪一版？", True),
        ("什么时候报道的小巨人企业？", True),
        ("座谈会是哪一天的报纸登的？", True),
        ("何时召开座谈会？", False),  # the event's date: a sentence answers it
        ("微光城市的电影是何时发行的？", False),
        ("学校什么时候获“中国百强中学”称号？", False),
        ("聊城新增多少家企业？", False),
        ("习近平对防汛工作有什么要求？", False),
    ],
)
def test_is_when_question(question, expected):
    assert is_when_question(question) is expected


@pytest.mark.parametrize("dense", [None, 0.78])
def test_weak_evidence_is_not_found_but_keeps_passages(dense):
    hits = [hit(0, FLOOD_2025, dense_score=dense), hit(1, FINANCE_2025, dense_score=dense)]
    ans = compose_answer("泡泡战士游戏的模式有哪些？", hits)
    assert (ans.found, ans.text) == (False, NOT_FOUND)
    assert [h.chunk_id for h in ans.passages] == ["c0", "c1"]


def test_cosine_decides_a_paraphrased_question():
    # Few shared words: a cosine well above e5's unrelated level (~0.80) carries it, a low one does not.
    q = "中小企业怎样才能长大？"
    assert 0 < MIN_EVIDENCE < 1
    assert compose_answer(q, [hit(0, GROWTH_2026, dense_score=0.95)]).found
    assert not compose_answer(q, [hit(0, GROWTH_2026, dense_score=0.80)]).found
    assert not compose_answer(q, [hit(0, GROWTH_2026)]).found
    # Many shared words need no cosine at all.
    assert compose_answer("聊城如何帮助企业成长？", [hit(0, GROWTH_2026)]).found


def test_no_hits():
    ans = compose_answer(QUESTION_207, [])
    assert (ans.text, ans.found, ans.passages) == (NOT_FOUND, False, [])


@pytest.mark.parametrize("max_sentences,max_chars", [(3, 200), (2, 200), (1, 200), (3, 60), (3, 30)])
def test_limits_count_sentences_and_characters_without_markers(max_sentences, max_chars):
    q = "聊城专精特新中小企业和小巨人企业有多少家？"
    hits = [hit(0, SMEs_2026), hit(1, SMEs_2025, "2025-07-29"), hit(2, GROWTH_2026)]
    ans = compose_answer(q, hits, max_sentences=max_sentences, max_chars=max_chars)
    assert ans.found
    parts = sentences_of(ans.text)
    assert 1 <= len(parts) <= max_sentences
    assert len(MARKER.findall(ans.text)) == len(parts)  # every sentence carries its marker
    assert sum(map(len, parts)) <= max_chars
    markers_ok(ans)


def test_default_limits_allow_more_than_one_sentence():
    q = "聊城专精特新中小企业和小巨人企业有多少家？"
    ans = compose_answer(q, [hit(0, SMEs_2026), hit(1, SMEs_2025, "2025-07-29")])
    assert 2 <= len(sentences_of(ans.text)) <= 3


def test_duplicates_are_dropped():
    same = [hit(0, SMEs_2026), hit(0, SMEs_2026), hit(5, SMEs_2026 + " ")]
    ans = compose_answer(QUESTION_207, same)
    assert ans.text.count("207家") == 1
    assert len(ans.passages) == 1


def test_near_identical_sentences_from_overlapping_chunks_are_quoted_once():
    overlapping = GROWTH_2026 + SMEs_2026.split("\n\n")[1]  # another chunk repeating the 207 sentence
    ans = compose_answer(QUESTION_207, [hit(0, SMEs_2026), hit(1, overlapping)], max_sentences=3)
    assert ans.found and ans.text.count("207家") == 1


def test_sentence_split_keeps_closing_quotes():
    assert plain_sentences("他说：“检测当天出具。”成本降低了！还有吗？") == [
        "他说：“检测当天出具。”",
        "成本降低了！",
        "还有吗？",
    ]


ALL = [SMEs_2026, GROWTH_2026, SMEs_2025, FLOOD_2025, FINANCE_2025]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(ALL), min_size=1, max_size=5),
    st.sampled_from(
        [
            QUESTION_207,
            "习近平对防汛救灾工作作出了什么指示？",
            "财信集团提供了多少信贷支持？",
            "哪一天报道了防汛？",
            "聊城怎样培育企业？",
        ]
    ),
    st.integers(1, 3),
    st.integers(20, 200),
)
def test_markers_always_point_at_passages(texts, question, max_sentences, max_chars):
    hits = [
        hit(i, t, "2025-07-29" if t in (SMEs_2025, FLOOD_2025, FINANCE_2025) else "2026-04-01")
        for i, t in enumerate(texts)
    ]
    ans = compose_answer(question, hits, max_sentences=max_sentences, max_chars=max_chars)
    if ans.found:
        markers_ok(ans)
        if not is_when_question(question):
            assert sum(map(len, sentences_of(ans.text))) <= max_chars
    else:
        assert ans.text == NOT_FOUND and ans.passages


def test_a_how_many_answer_adds_only_sentences_with_numbers():
    filler = "帮助中小企业走专精特新之路，需要各级各部门倾力做好服务保障，解企业燃眉之急。"
    ans = compose_answer(QUESTION_207, [hit(0, SMEs_2025 + filler, "2025-07-29"), hit(1, SMEs_2026)])
    assert ans.found and "207家" in ans.text
    assert "燃眉之急" not in ans.text
