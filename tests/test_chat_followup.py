"""Follow-ups understood without an LLM, the conversation store, and the sentence checks (pure code)."""

from __future__ import annotations

import threading

import pytest

from qa.answer.conversations import ConversationStore
from qa.answer.followup import about_cited_aspect, resolve
from qa.answer.verify import check_sentence, split_claims
from qa.app.chat import parse_history
from qa.app.openai import parse_messages, split_reply
from qa.errors import BadInput, ConversationNotFound
from qa.types import Turn

ENTERPRISES = Turn(
    "2025年聊城新增多少家专精特新中小企业？",
    "全市新增207家。[1]",
    article_ids=["seeds/000.txt#a3", "seeds/002.txt#a2"],
    date_from="2025-01-01",
    date_to="2025-12-31",
)
FLOOD = Turn(
    "去年7月，谁对防汛救灾工作作出重要指示？",
    "中共中央总书记、国家主席、中央军委主席习近平对防汛救灾工作作出重要指示。[1]",
    article_ids=["seeds/002.txt#a6"],
    date_from="2025-07-01",
    date_to="2025-07-31",
)
FILTERED = Turn("聊城新增多少家专精特新中小企业？", date_from="2026-04-01", date_to="2026-04-01")


@pytest.mark.parametrize(
    "question, history, resolved, kind",
    [
        ("那“小巨人”企业呢？", [ENTERPRISES], "2025年聊城新增多少家“小巨人”企业？", "elliptical"),
        ("2024年呢？", [ENTERPRISES], "2024年聊城新增多少家专精特新中小企业？", "elliptical"),
        ("那2024年的“小巨人”企业呢？", [ENTERPRISES], "2024年聊城新增多少家“小巨人”企业？", "elliptical"),
        ("那高唐县呢？", [ENTERPRISES], "2025年高唐县新增多少家专精特新中小企业？", "elliptical"),
        ("他是谁？", [FLOOD], "习近平是谁？", "elliptical"),
        ("那单项冠军呢？", [ENTERPRISES], "2025年聊城新增多少家专精特新中小企业，单项冠军？", "elliptical"),
        ("聊城有多少家瞪羚企业？", [ENTERPRISES], "聊城有多少家瞪羚企业？", "new"),
        ("高唐县节约了多少资金呢？", [ENTERPRISES], "高唐县节约了多少资金呢？", "new"),
        ("那“小巨人”企业呢？", [], "那“小巨人”企业呢？", "new"),
    ],
)
def test_elliptical_questions_take_topic_and_period(question, history, resolved, kind):
    r = resolve(question, history)
    assert (r.resolved_question, r.kind) == (resolved, kind)


def test_period_from_filters_is_inherited_when_the_words_name_none():
    r = resolve("那“小巨人”企业呢？", [FILTERED])
    assert r.resolved_question == "聊城新增多少家“小巨人”企业？"
    assert (r.date_from, r.date_to) == ("2026-04-01", "2026-04-01")
    assert resolve("他是谁？", [FLOOD]).date_from == "2025-07-01"  # 「习近平是谁？」 names no period
    assert resolve("2024年呢？", [ENTERPRISES]).date_from is None  # its own period, from its words


@pytest.mark.parametrize(
    "question, aspect",
    [
        ("这是哪天的报纸登的？", "when"),
        ("这篇报道登在第几版？", "when"),
        ("这篇报道的作者是谁？", "author"),
        ("这则消息是哪个记者写的？", "author"),
        ("这篇报道还提到哪些企业？", "content"),
        ("聊城新增多少家企业？", None),
        ("哪天召开了座谈会？", None),
    ],
)
def test_questions_about_the_cited_report(question, aspect):
    assert about_cited_aspect(question) == aspect


def test_about_cited_points_at_the_first_cited_article_unless_plural():
    assert resolve("这是哪天的报纸登的？", [ENTERPRISES]).article_ids == ["seeds/000.txt#a3"]
    assert resolve("这些报道分别是哪天登的？", [ENTERPRISES]).article_ids == ENTERPRISES.article_ids
    # a question about a report after a turn that cited none stands alone
    assert resolve("这是哪天的报纸登的？", [Turn("你好")]).kind == "new"


def test_topic_skips_turns_about_the_cited_report():
    about = Turn(
        "这是哪天的报纸登的？", "这篇报道刊登在聊城日报 2026-04-01 第1版。[1]", article_ids=["seeds/000.txt#a3"]
    )
    assert resolve("那“小巨人”企业呢？", [ENTERPRISES, about]).resolved_question == "2025年聊城新增多少家“小巨人”企业？"


def test_store_bounds_turns_conversations_and_time():
    now = [0.0]
    store = ConversationStore(max_conversations=2, max_turns=3, ttl_s=60, timer=lambda: now[0])
    a, b = store.new(), store.new()
    for i in range(5):
        store.append(a, Turn(f"问{i}", "答" * 5000))
    assert [t.question for t in store.turns(a)] == ["问2", "问3", "问4"]
    assert len(store.turns(a)[0].answer) == 2000
    store.new()  # a third conversation evicts the least recently used one (b)
    with pytest.raises(ConversationNotFound):
        store.turns(b)
    now[0] = 61.0
    with pytest.raises(ConversationNotFound, match="过期"):
        store.turns(a)


def test_store_is_thread_safe():
    store = ConversationStore()
    cid = store.new()
    threads = [threading.Thread(target=lambda: [store.append(cid, Turn("问")) for _ in range(50)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.turns(cid)) == 20


@pytest.mark.parametrize(
    "history, field",
    [
        ("not a list", "history"),
        ([{"answer": "x"}], "history[0].question"),
        (["x"], "history[0]"),
        ([{"question": "q", "article_ids": [1]}], "history[0].article_ids"),
        ([{"question": "q"}] * 21, "history"),
    ],
)
def test_bad_history_names_the_field(history, field):
    with pytest.raises(BadInput, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_history(history)


def test_openai_messages_become_turns_with_cited_sources():
    reply = (
        "新增“小巨人”企业14家。[2]\n\n来源：\n[1] 聊城日报 2025-07-29 第1版《甲》\n[2] 聊城日报 2026-04-01 第1版《乙》"
    )
    assert split_reply(reply) == ("新增“小巨人”企业14家。[2]", ["聊城日报 2026-04-01 第1版《乙》"])
    q, turns = parse_messages(
        [
            {"role": "system", "content": "你好"},
            {"role": "user", "content": "问一"},
            {"role": "assistant", "content": reply},
            {"role": "user", "content": [{"type": "text", "text": "这是哪天的报纸登的？"}]},
        ]
    )
    assert q == "这是哪天的报纸登的？" and turns[0].sources == ["聊城日报 2026-04-01 第1版《乙》"]
    with pytest.raises(BadInput, match="最后一条"):
        parse_messages([{"role": "user", "content": "问"}, {"role": "assistant", "content": "答"}])


def test_a_corrected_source_line_keeps_its_page_and_title():
    """/v1 marks a corrected article's 「来源」 line 「（已校对）」; a follow-up finds that article by it."""
    from qa.answer.turns import _LABEL

    m = _LABEL.match("聊城日报 2026-04-20 第1版《黄河大桥通车》（已校对）")
    assert (m["paper"], m["date"], m["page"], m["title"]) == ("聊城日报", "2026-04-20", "1", "黄河大桥通车")


@pytest.mark.parametrize(
    "sentence, ok",
    [
        ("2025年全市新增“小巨人”企业14家。[1]", True),
        ("该报道刊登于2026年4月1日。[1]", True),  # the citation's date counts as evidence
        ("全市新增“小巨人”企业41家。[1]", False),  # a number in no passage
        ("聊城的企业都发展得很好。", False),  # no marker, and no passage holds it
        ("全市新增“小巨人”企业14家。", True),  # no marker, but copied from passage 1: cited [1]
        ("全市新增“小巨人”企业14家。[6]", False),  # a passage that was not sent
        ("王培源报道全市新增“小巨人”企业14家。[1]", False),  # a name in no passage
        ("全市新增“隐形冠军”企业14家。[1]", False),  # a quoted term in no passage
    ],
)
def test_sentence_checks(sentence, ok):
    evidence = ["聊城日报 2026-04-01 第1版《问需于企》 2026年4月1日\n2025年，全市新增专精特新“小巨人”企业14家。"]
    assert check_sentence(sentence, evidence).ok is ok


def test_claims_keep_their_markers():
    assert split_claims("甲[1]。乙。【2】丙[1, 2]") == ["甲[1]。", "乙。[2]", "丙[1][2]"]


def test_one_client_starting_conversations_only_drops_its_own():
    store = ConversationStore(max_conversations=50, per_client=3)
    victim = store.new("203.0.113.7")
    store.append(victim, Turn("2025年聊城新增多少家专精特新企业？", "207家。"))
    flood = [store.new("198.51.100.66") for _ in range(1000)]  # the attack of issue 24: ~1 s of requests
    assert [t.answer for t in store.turns(victim)] == ["207家。"]  # still within its TTL: kept
    with pytest.raises(ConversationNotFound):
        store.turns(flood[0])  # the flooder lost its own oldest ones
    assert len(store) == 4
