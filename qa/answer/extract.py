"""The extractive answer: the few sentences of the retrieved passages that answer the question.

>>> from qa.types import Citation, Hit
>>> c = Citation("聊城日报", "2026-04-01", None, 1, None, "问需于企 精准滴灌", "a1", "seeds/000.txt")
>>> hit = Hit(0, "c1", 0.03, "企业成长如同自然生态。2025年，全市新增省级以上专精特新中小企业207家。", c)
>>> compose_answer("2025年聊城新增省级以上专精特新中小企业多少家？", [hit]).text
'2025年，全市新增省级以上专精特新中小企业207家。[1]'
>>> compose_answer("聊城哪一天报道了专精特新企业？", [hit]).text
'聊城日报 2026-04-01 第1版《问需于企 精准滴灌》[1]'

How a sentence is scored (``_score_sentences``): how much of the question's wording it
contains (character bigrams and jieba tokens), how much of the question its whole passage
contains, the passage's rank, and whether it holds what the question asks for (多少 -> 「207家」,
谁 -> a name, 哪天 -> a date, 哪里 -> a place). At most ``max_sentences`` sentences and ``max_chars`` characters of
newspaper text are kept (the ``[n]`` markers are not counted), near-duplicates dropped,
and they are printed passage by passage in the passages' own reading order.

Whether anything was found at all is decided by ``evidence``: weak evidence gives
``NOT_FOUND`` and the passages only as leads, because a wrong confident answer costs a
newspaper reader more than an honest "not found".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qa.retrieve.question_parts import coordinated_items
from qa.text.chinese import LINE_END, number_safe_cut, plain_sentences, word_bigrams
from qa.text.tokens import tokenize
from qa.types import Hit

NOT_FOUND = "档案中没有找到相关报道。"

# Evidence = EVIDENCE_LEXICAL * (share of the question's bigrams/tokens in the best sentence)
#          + EVIDENCE_DENSE * max(0, question-passage cosine (Hit.dense_score) - DENSE_FLOOR),
# or, for a hit that only BM25 found (dense_score None), the lexical part + LEXICAL_ONLY_CREDIT.
# Calibrated by bench/calibrate_evidence.py on 150 CMRC-2018 trial questions with the bundled
# multilingual-e5-small: each question against its own passage (answerable) and against the
# most similar passage of another article (unanswerable, as retrieval would hand it over).
# At 0.45: precision 0.95 / recall 0.97 with a cosine; 0.97 / 0.92 lexical only (same
# threshold, thanks to the credit); 0.99 precision against random wrong passages.
# Another embedder has other cosine levels: re-run the script before trusting the dense part.
# CMRC questions reuse their passage's words more than readers do, so expect lower recall live.
MIN_EVIDENCE = 0.45
EVIDENCE_LEXICAL = 1.0
EVIDENCE_DENSE = 2.0
DENSE_FLOOR = 0.80  # e5-small: wrong passages median 0.82-0.86, own passages median 0.90
LEXICAL_ONLY_CREDIT = 0.10  # without a cosine, overlap >= 0.35 suffices (best lexical-only F1)

MAX_HITS = 5  # only the top passages are mined for sentences: the rest are leads
MAX_REPORTS = 5  # reports listed for a when-question
DUPLICATE = 0.6  # bigram Jaccard above which two sentences say the same thing

# Sentence score weights, tuned by hand on the CMRC sample of bench/calibrate_evidence.py.
W_LEXICAL = 0.55  # share of the question's words in the sentence: the strongest single signal
# Context and rank were raised from 0.2 / 0.1 after tuning on CMRC (1,000 questions, 1,000 news
# distractors): answer-hit 0.791 -> 0.808 and the first cited article right 0.958 -> 0.973 of the time.
W_CONTEXT = 0.4  # ... in the sentence's whole passage and headline: 「全市」 sentences of a 聊城 article
W_RANK = 0.5  # retrieval rank, divided by 1 + rank: the best passage's sentences are usually the answer
W_WANTED = 0.15  # holds what the question asks for (a number for 多少, a date for 哪天, ...)
# Embedding candidate sentences as well cost ~0.2 s a question on 2 cores and chose no better on
# CMRC (80/78/78/78 of 150 first sentences held the gold answer with 4/6/10/16 encoded), so
# sentences are scored lexically; the passages' own cosine scores still count in ``evidence``.
ADD_ONLY_WANTED = True  # see compose_answer: further sentences of a 多少 answer must hold a number
KEEP = 0.75  # further sentences must score at least this share of the best one
# ... and share at least this much of the best sentence's wording overlap with the question: rank and
# context alone let a filler sentence of the same passage (「…系统工程。」) ride along.
KEEP_LEXICAL = 0.25
GATHER_SENTENCES = 5  # a list answer quotes at most this many sentences (one more per passage) ...
GATHER_CHARS = 360  # ... and this many characters of newspaper text

# Words that only make a sentence a question; they must not count as overlap.
_QUESTION_WORDS = re.compile(
    r"请问|多少[个家位项名次元吨人户]?|几[个家位项名次年月天号]?|什么时候|什么|哪一[天期版年个位家]|哪[天期版年个位家里儿些]?|谁|"
    r"怎么样|怎样|怎么|如何|为什么|为何|是否|有没有|何时|何地|吗|呢|呀|吧|"
    r"报纸|报道了?|讲了|提到|介绍了?|[？?！!，,。\s]"
)
_WHEN = re.compile(r"哪一?[天日期版]|哪个版|第几版|几月几[日号]|何时|什么时候|什么日子|哪一?年")
# 「哪一期/哪一版」 always ask where it was printed; 「何时/哪天」 only with a reporting verb —
# 「电影是何时发行的？」 asks for the event's date, which a sentence answers.
_WHERE_PRINTED = re.compile(r"哪一?[期版]|哪个版|第几版|哪[一天].{0,3}报纸")
_REPORTED = re.compile(r"报道|刊登|刊发|刊载|登载|见报|报纸|登报")

_NUMBER = re.compile(
    r"[\d０-９][\d０-９.,，]*\s*(?:余|多)?\s*(?:万|亿)?\s*"
    r"(?:家|个|人|名|户|元|吨|亩|公里|千米|米|项|件|次|所|座|条|台|辆|套|%|％|倍|年|天|小时|分钟|万|亿)"
    r"|[一二三四五六七八九十百千万两]+(?:余|多)?(?:家|个|人|名|户|项|件|次|所|座|条|台|辆|套|倍)"
)
_NAME = re.compile(
    r"(?:记者|书记|市长|县长|区长|主任|总监|经理|董事长|局长|负责人|院长|校长|主席|部长|教授)"
    r"\s*[\u4e00-\u9fff]{2,3}|[\u4e00-\u9fff]{2,3}(?:表示|说|介绍|指出|强调|感慨)"
)
_DATE = re.compile(r"\d{1,4}年|\d{1,2}月\d{1,2}[日号]|[今去前昨]天|[今去前]年|日前|近日")
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,8}(?:省|市|县|区|镇|乡|村|街道|园区|工业园|路|街|公园|广场|中心)")
_WANTS = [
    (re.compile(r"多少|几[个家位项名次倍]|数量|比例|增长了?多"), _NUMBER),
    (re.compile(r"谁|哪位|什么人"), _NAME),
    (_WHEN, _DATE),
    (re.compile(r"哪里|哪儿|什么地方|在哪|何地|何处"), _PLACE),
]


@dataclass
class ComposedAnswer:
    """``text`` with ``[n]`` markers into ``passages`` (1-based); ``found`` False means ``NOT_FOUND``."""

    text: str
    found: bool
    passages: list[Hit]
    evidence: float = 0.0  # the strongest passage's evidence (see ``evidence``); 0 without passages
    items: list[str] | None = None  # a list question's items gathered from the quoted sentences, in order


def is_when_question(question: str) -> bool:
    """Does the question ask *when / in which issue or page* something was reported?

    >>> is_when_question("防汛会议是哪一天报道的？"), is_when_question("新增多少家企业？")
    (True, False)
    """
    return bool(_WHERE_PRINTED.search(question) or (_WHEN.search(question) and _REPORTED.search(question)))


def _content(question: str) -> str:
    return _QUESTION_WORDS.sub(" ", question)


def _tokens(text: str) -> set[str]:
    return {t for t in tokenize(text) if len(t) > 1 or t.isdigit()}


def overlap(question: str, text: str, q_tokens: set[str] | None = None) -> float:
    """Share of the question's content (bigrams, and tokens when given) that ``text`` contains, 0..1.

    >>> overlap("聊城新增多少家企业？", "全市新增企业207家")
    0.5
    """
    qb = word_bigrams(_content(question))
    if not qb:
        return 0.0
    tb = word_bigrams(text)
    score = len(qb & tb) / len(qb)
    if q_tokens:
        score = 0.5 * score + 0.5 * sum(t in text for t in q_tokens) / len(q_tokens)
    return score


def evidence(best_overlap: float, dense_score: float | None) -> float:
    """How sure we are that a passage answers: see ``MIN_EVIDENCE``. Without a cosine, lexical alone."""
    if dense_score is None:
        return EVIDENCE_LEXICAL * best_overlap + LEXICAL_ONLY_CREDIT
    return EVIDENCE_LEXICAL * best_overlap + EVIDENCE_DENSE * max(0.0, dense_score - DENSE_FLOOR)


def _similar(a: str, b: str) -> bool:
    x, y = word_bigrams(a), word_bigrams(b)
    return bool(x and y) and len(x & y) / len(x | y) >= DUPLICATE


def _dedupe(hits: list[Hit]) -> list[Hit]:
    seen, out = set(), []
    for h in hits:
        key = (h.chunk_id, re.sub(r"\s+", "", h.text))
        if key[0] in seen or key[1] in seen:
            continue
        seen.update(key)
        out.append(h)
    return out


@dataclass
class _Cand:
    hit: int  # index into the deduplicated hits
    pos: int  # sentence position in its passage, for reading order
    text: str
    lex: float
    score: float = 0.0
    has_wanted: bool = True  # False: a 多少/几 question and the sentence holds no number


def _score_sentences(question: str, hits: list[Hit], q_tokens) -> tuple[list[_Cand], list[float]]:
    """Candidates from the top hits, best first by their lexical score, and each hit's evidence."""
    wants = [pattern for asks, pattern in _WANTS if asks.search(question)]
    cands, per_hit = [], []
    for i, h in enumerate(hits[:MAX_HITS]):
        sents = [s for s in plain_sentences(h.text) if len(s) >= 6]
        context = overlap(question, (h.citation.title or "") + h.text, q_tokens)
        best = 0.0
        for pos, s in enumerate(sents):
            lex = overlap(question, s, q_tokens)
            best = max(best, lex)
            c = _Cand(i, pos, s, lex, has_wanted=_NUMBER not in wants or bool(_NUMBER.search(s)))
            c.score = (
                W_LEXICAL * lex
                + W_CONTEXT * context
                + W_RANK / (1 + i)
                + sum(W_WANTED for p in wants if p.search(s))
                # A fragment without an ending (a headline, a caption) reads badly as an answer.
                - (0.1 if s[-1] not in LINE_END else 0.0)
            )
            cands.append(c)
        per_hit.append(evidence(best, h.dense_score))
    cands.sort(key=lambda c: -c.score)
    return cands, per_hit


def _trim(text: str, limit: int) -> str:
    """Cut an over-long sentence at its last clause break within ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    cut = max(head.rfind(p) for p in "，；、,")
    return (head[:cut] if cut > limit // 3 else head[: number_safe_cut(text, limit - 1)]) + "…"


def _reorder(hits: list[Hit], cited: list[int]) -> tuple[list[Hit], dict[int, int]]:
    """Source cards: cited hits first in citation order, then the rest, so markers read [1], [2], …;
    chunks of one article share one card (their texts joined in article order)."""
    order = list(dict.fromkeys(cited)) + [i for i in range(len(hits)) if i not in cited]
    cards: dict[str, list[Hit]] = {}
    number: dict[int, int] = {}
    for i in order:
        same = cards.setdefault(hits[i].citation.article_id, [])
        same.append(hits[i])
        number[i] = list(cards).index(hits[i].citation.article_id) + 1
    return [_one_card(same) for same in cards.values()], number


def _one_card(hits: list[Hit]) -> Hit:
    if len(hits) == 1:
        return hits[0]
    parts = sorted(hits, key=lambda h: h.row)
    return replace(hits[0], text="\n".join(h.text for h in parts))


def _when_answer(hits: list[Hit], relevant: list[int]) -> tuple[str, list[Hit]]:
    """Distinct (paper, date, page, title) reports among the relevant hits, oldest first."""
    first: dict[tuple, int] = {}
    for i in relevant:
        c = hits[i].citation
        first.setdefault((c.date, c.paper, c.page or 0, c.title or ""), i)
    keys = sorted(first)[:MAX_REPORTS]
    passages, number = _reorder(hits, [first[k] for k in keys])
    parts = [f"{hits[first[k]].citation.label()}[{number[first[k]]}]" for k in keys]
    return "；".join(parts), passages


def compose_answer(
    question: str, hits: list[Hit], *, max_sentences: int = 3, max_chars: int = 200, gather: bool = False
) -> ComposedAnswer:
    """Answer ``question`` from ``hits`` (best first). ``gather``: a list question (「…有哪些」), whose
    items are gathered across passages (see ``_gather``)."""
    hits = _dedupe(hits)
    if not hits:
        return ComposedAnswer(NOT_FOUND, False, [])
    cands, per_hit = _score_sentences(question, hits, _tokens(_content(question)))
    strongest = max(per_hit)
    if strongest < MIN_EVIDENCE:
        return ComposedAnswer(NOT_FOUND, False, _reorder(hits, [])[0], strongest)
    if is_when_question(question):
        relevant = [i for i, e in enumerate(per_hit) if e >= max(MIN_EVIDENCE, 0.5 * strongest)]
        text, passages = _when_answer(hits, relevant)
        return ComposedAnswer(text, True, passages, strongest)
    # Sentences of passages without evidence are never quoted.
    cands = [c for c in cands if per_hit[c.hit] >= MIN_EVIDENCE]
    picked: list[_Cand] = []
    used = 0
    for c in cands:
        if len(picked) >= max_sentences or (picked and c.score < KEEP * picked[0].score):
            break
        if picked and c.lex < KEEP_LEXICAL * picked[0].lex:
            continue
        if any(_similar(c.text, p.text) for p in picked):
            continue
        if picked and not c.has_wanted and ADD_ONLY_WANTED:
            continue  # a 多少 question's second sentence should hold a number too, not just its words
        text = c.text if picked else _trim(c.text, max_chars)
        if used + len(text) > max_chars:
            continue
        c.text, used = text, used + len(text)
        picked.append(c)
    if not picked:  # evidence from the cosine alone, but no quotable sentence
        return ComposedAnswer(NOT_FOUND, False, _reorder(hits, [])[0], strongest)
    items = _gather(cands, picked) if gather else None
    # Reading order: passages by their best sentence's rank, sentences in passage order.
    hit_order = list(dict.fromkeys(c.hit for c in picked))
    picked.sort(key=lambda c: (hit_order.index(c.hit), c.pos))
    passages, number = _reorder(hits, hit_order)
    return ComposedAnswer("".join(f"{c.text}[{number[c.hit]}]" for c in picked), True, passages, strongest, items)


def _gather(cands: list[_Cand], picked: list[_Cand]) -> list[str]:
    """A list question's items across passages: to the picked sentences, add from each further passage
    (best first) its best sentence that names items not yet listed; the items, without duplicates.

    The usual picking keeps to the best passage's sentences; the members of a list are often spread
    over several reports (one names the lead actors, another the rest of the cast)."""
    items = list(dict.fromkeys(i for c in picked for i in coordinated_items(c.text)))
    budget = GATHER_CHARS - sum(len(c.text) for c in picked)
    for c in cands:
        if len(picked) >= GATHER_SENTENCES or any(p.hit == c.hit for p in picked):
            continue
        new = [i for i in coordinated_items(c.text) if not any(i in seen or seen in i for seen in items)]
        # The passage has evidence (``cands`` holds no other); its listing sentence need not repeat the
        # question's words: 「剧中，童瑶、冯绍峰分别饰演…」 in a report on 《心居》.
        if not new or len(c.text) > budget:
            continue
        picked.append(c)
        items.extend(new)
        budget -= len(c.text)
    return items
