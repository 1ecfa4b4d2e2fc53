"""How a follow-up question is understood, without an LLM: pure functions over the earlier turns.

Three kinds of question:

* ``new`` — a question that stands on its own (or the first of a conversation);
* ``elliptical`` — 「那“小巨人”企业呢？」「2024年呢？」「他是谁？」: it takes the topic and the
  period of the previous question where it lacks its own. The new words replace the matching
  phrase of the previous question (same head noun, or same kind of proper name), a new period
  replaces the old one, a pronoun becomes the person named in the previous answer;
* ``about_cited`` — 「这是哪天的报纸登的？」「这篇报道的作者是谁？」: asked of the articles that
  the previous answer cited; ``aspect`` says what is asked (``when``, ``author`` or ``content``).

>>> prev = Turn("2025年聊城新增多少家专精特新中小企业？", article_ids=["seeds/000.txt#a3"])
>>> resolve("那“小巨人”企业呢？", [prev]).resolved_question
'2025年聊城新增多少家“小巨人”企业？'
>>> resolve("2024年呢？", [prev]).resolved_question
'2024年聊城新增多少家专精特新中小企业？'
>>> r = resolve("这是哪天的报纸登的？", [prev])
>>> r.kind, r.aspect, r.article_ids
('about_cited', 'when', ['seeds/000.txt#a3'])
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from qa.text.tokens import pos_cut
from qa.time.question import parse_date_range
from qa.types import Turn

# A follow-up opens with 那/那么/还有… or ends with 呢; a short one of these is elliptical.
_LEAD = re.compile(r"^(?:那么|那末|那|还有|另外|再问一下|再问|至于|以及)[，,\s]*")
_TAIL = re.compile(r"(?:的情况|情况|又如何|如何|怎么样|又是多少|呢)?[？?。！!\s]*$")
_ENDS_NE = re.compile(r"呢[？?。！!\s]*$")
MAX_FRAGMENT = 14  # characters: longer questions carry their own topic
_ASKS = re.compile(r"多少|什么|哪|谁|几[个家年月天号位次]|怎么|怎样|如何|为什么|是否|有没有|吗")
# He/she/it as a pronoun, not inside 其他/其它/他人/他乡/它山.
_PRONOUN = re.compile(r"(?<![其吉])(?:他们|她们|它们|他|她|它)(?![人乡山国日者])")
# 「这篇报道」「这是」「该文」: the question points at what was just cited.
_REF = re.compile(
    r"这篇|那篇|该篇|这则|那则|这条|那条|该报道|该文|本文|原文|这些报道|上述|上面的?|刚才的?|前面的?|"
    r"这个报道|这份报纸|这张报纸|^这是|^那是|^这|^该"
)
_PLURAL = re.compile(r"这些|那些|它们|分别|各篇|都是")
_WHEN = re.compile(
    r"哪一?天|哪一?日|什么时候|何时|日期|几月几[日号]|哪一?期|哪一?版|第几版|哪个版|哪份报|哪家报|"
    r"什么报|哪张报|出处|刊登|刊发|登的|登在|发表在|见报|哪年"
)
_AUTHOR = re.compile(r"作者|记者|谁写|谁采写|撰稿|署名|执笔|通讯员")
# jieba POS tags that end a noun phrase when walking back from its head noun.
_STOP_TAGS = {"m", "q", "v", "p", "r", "x", "c", "y", "e", "o", "u", "uj", "ul", "uz", "ug", "uv", "ud", "f", "t"}
_NAME_TAGS = {"nr", "nrfg", "nrt", "ns", "nt"}
_ANY_DAY = dt.date(2000, 1, 1)  # only whether a period is named matters here, not which


@dataclass
class Resolution:
    """How the question was understood; ``date_from``/``date_to``/``paper`` are inherited filters."""

    question: str
    resolved_question: str
    kind: str = "new"  # new | elliptical | about_cited
    aspect: str | None = None  # about_cited only: when | author | content
    date_from: str | None = None
    date_to: str | None = None
    paper: str | None = None
    article_ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"kind": self.kind, "aspect": self.aspect, "article_ids": self.article_ids}


def has_period(text: str) -> bool:
    """Does the text name a period (a year, a month, 「去年」…)?

    >>> has_period("2025年聊城新增多少家企业？"), has_period("那“小巨人”企业呢？")
    (True, False)
    """
    return parse_date_range(text, _ANY_DAY) is not None


def about_cited_aspect(question: str) -> str | None:
    """``when``/``author``/``content`` when the question asks about the report just cited, else None.

    >>> about_cited_aspect("这是哪天的报纸登的？"), about_cited_aspect("这篇报道的作者是谁？")
    ('when', 'author')
    >>> about_cited_aspect("聊城新增多少家企业？") is None
    True
    """
    if not _REF.search(question):
        return None
    if _AUTHOR.search(question):
        return "author"
    if _WHEN.search(question):
        return "when"
    if re.search(r"这篇|那篇|该篇|这则|这条|该报道|该文|本文|原文|这个报道|这些报道|上述|上面|刚才|前面", question):
        return "content"
    return None


def fragment_of(question: str) -> str | None:
    """The new words of an elliptical question (「那“小巨人”企业呢？」 -> 「“小巨人”企业」), else None."""
    q = question.strip()
    lead, ne = _LEAD.search(q), _ENDS_NE.search(q)
    if not lead and not ne:
        return None
    frag = _TAIL.sub("", _LEAD.sub("", q)).strip()
    if len(frag) > MAX_FRAGMENT or _ASKS.search(frag):
        return None  # 「聊城今年的GDP是多少呢？」 asks a whole question of its own
    return frag


def resolve(question: str, history: list[Turn]) -> Resolution:
    """How ``question`` is understood after ``history`` (oldest first)."""
    question = question.strip()
    topic_turn = next((t for t in reversed(history) if about_cited_aspect(t.question) is None), None)
    cited_turn = next((t for t in reversed(history) if t.article_ids or t.sources), None)
    aspect = about_cited_aspect(question)
    if aspect is not None and cited_turn is not None:
        # 「这是…」「这篇…」 point at one report: the first one cited, which carried the answer.
        n = None if _PLURAL.search(question) else 1
        return Resolution(
            question,
            question,
            "about_cited",
            aspect,
            article_ids=list(cited_turn.article_ids[:n]),
            sources=list(cited_turn.sources[:n]),
        )
    if topic_turn is None:
        return Resolution(question, question)
    resolved = _elliptical(question, topic_turn, history[-1])
    if resolved is None:
        return Resolution(question, question)
    out = Resolution(question, resolved, "elliptical")
    if not has_period(resolved):  # the previous period came from filters, not from its words
        out.date_from, out.date_to = topic_turn.date_from, topic_turn.date_to
    out.paper = topic_turn.paper
    return out


def _elliptical(question: str, topic_turn: Turn, last: Turn) -> str | None:
    """The previous question rewritten with the new words, or None when the question stands alone."""
    prev = topic_turn.topic
    pron = _PRONOUN.search(question)
    if pron and len(question) <= MAX_FRAGMENT:
        name = _first_name(last.answer) or _first_name(prev)
        return question.replace(pron.group(0), name, 1) if name else f"{_bare(prev)}，{question}"
    frag = fragment_of(question)
    if frag is None:
        return None
    new_rng, prev_rng = parse_date_range(frag, _ANY_DAY), parse_date_range(prev, _ANY_DAY)
    rest = frag
    text = prev
    if new_rng is not None:
        rest = frag.replace(new_rng.text, "", 1).strip("的，, ")
        if prev_rng is not None:
            text = text.replace(prev_rng.text, new_rng.text, 1)
        else:
            text = new_rng.text + text
    if not rest:
        return text
    replaced = _replace_phrase(text, rest)
    return replaced if replaced is not None else f"{_bare(text)}，{rest}？"


def _replace_phrase(text: str, frag: str) -> str | None:
    """Replace the noun phrase of ``text`` that ``frag`` stands in for: same head noun, or same kind of name."""
    words = [(p.word, p.flag) for p in pos_cut(text)]
    frag_words = [(p.word, p.flag) for p in pos_cut(frag) if p.flag != "x"]
    if not frag_words:
        return None
    head, head_tag = frag_words[-1]
    for i in range(len(words) - 1, -1, -1):
        word, tag = words[i]
        if word.endswith(head) and tag not in _STOP_TAGS:
            start = i
            while start > 0 and words[start - 1][1] not in _STOP_TAGS:
                start -= 1
            return "".join(w for w, _ in words[:start]) + frag + "".join(w for w, _ in words[i + 1 :])
    if head_tag in _NAME_TAGS:
        for i, (word, tag) in enumerate(words):
            if tag in _NAME_TAGS:
                return "".join(w for w, _ in words[:i]) + frag + "".join(w for w, _ in words[i + 1 :])
    return None


def _first_name(text: str) -> str | None:
    """The first person's name jieba finds in ``text`` (「…主席习近平对…」 -> 「习近平」)."""
    for p in pos_cut(text or ""):
        if p.flag in ("nr", "nrfg", "nrt") and len(p.word) >= 2:
            return p.word
    return None


def _bare(question: str) -> str:
    return re.sub(r"[？?。！!\s]+$", "", question)
