"""Questions with several parts: 「2021年香港和澳门的GDP增长率」 asks two questions, one per coordinated item.

``split_question`` finds items joined by 和/与/及/以及/、 and distributes the shared context over them:

* 「2021年香港和澳门的GDP增长率」 -> 「2021年香港的GDP增长率」「2021年澳门的GDP增长率」
* 「2022年和2023年春节档首日票房冠军」 -> one part per year
* 「香港和澳门2021年的GDP增长率分别是多少」 -> 「香港2021年的GDP增长率是多少」… (分别/各自 dropped)

Words are jieba words with their part of speech (``qa.text.tokens.pos_cut``), so words that merely contain
和 (「和平」「共和国」「和谐」) never split, and neither do book titles (《战争与和平》). Only items of
one kind are coordinated: names and nouns with names and nouns, dates with dates, verbal nouns
(「出口和进口总额」) with verbal nouns; a 和 between a verb and a noun, or a question about the
relation of its items (「中国和美国的贸易关系」), is one question.

``coordinated_items`` returns the items of such lists inside a sentence (「由海清、张颂文和童瑶主演」 ->
海清, 张颂文, 童瑶): list questions (``is_list_question``: 哪些/有哪些) gather them across passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.tokens import known_word, pos_cut

MAX_PARTS = 6  # 「2022年和2023年特斯拉和比亚迪的交付量」 is 4; more is a list, not a set of questions
CONJUNCTIONS = {"和", "与", "及", "以及", "、"}
_CONJUNCTION_CHARS = set("".join(CONJUNCTIONS))  # every conjunction holds one of these characters
# Questions about how the items relate are one question: splitting 「中国和美国的贸易关系」 loses it.
RELATION_WORDS = {
    "关系",
    "之间",
    "合作",
    "会谈",
    "会见",
    "会晤",
    "通话",
    "对比",
    "比较",
    "相比",
    "差距",
    "差异",
    "区别",
    "异同",
    "相同",
    "不同",
    "共同",
    "联合",
    "一起",
    "双方",
    "两国",
    "两地",
    "对阵",
    "交锋",
    "比分",
    "签署",
    "谈判",
    "联手",
    "合资",
    "结合",
    "融合",
    "协同",
    "合并",
    "交流",
    "往来",
    "战胜",
    "击败",
    "共建",
    "联动",
    "之比",
    "总和",
    "合计",
}
_DISTRIBUTIVE = {"分别", "各自"}  # 「…分别是多少」: said of each item, dropped from each part
_LIST = re.compile(r"哪些|有谁|都有谁|哪几[个位家部项名种]")
_PROTECTED = re.compile(r"《[^》]{1,40}》|“[^”]{1,40}”|「[^」]{1,40}」")
_MODIFIER = {"的", "之"}
_LEADING_FUNCTION = set("由被为是有与和及让把将在从")
_DATE_UNIT = re.compile(r"年|月|日|号|季度|月份|年度")
_NOMINAL = {"n", "nr", "nrt", "nrfg", "ns", "nt", "nz", "nw", "j", "eng", "m", "an", "ng", "l", "i", "title"}
_TIME = {"t", "tg", "date"}


@dataclass
class Tok:
    text: str
    flag: str


def tokens(text: str) -> list[Tok]:
    """jieba words with POS flags; book titles and quotes are one ``title`` word; a number with its
    date unit (「2021年」「1月」) one ``date`` word. Their texts concatenate to ``text``."""
    out: list[Tok] = []
    pos = 0
    for m in [*_PROTECTED.finditer(text), None]:
        end = m.start() if m else len(text)
        if end > pos:
            out.extend(t for w, f in pos_cut(text[pos:end]) for t in _unglue(w, f))
        if m:
            out.append(Tok(m.group(0), "title"))
            pos = m.end()
    merged: list[Tok] = []
    for t in out:
        if merged and merged[-1].flag == "m" and merged[-1].text.isdigit() and _DATE_UNIT.fullmatch(t.text):
            merged[-1] = Tok(merged[-1].text + t.text, "date")
        else:
            merged.append(t)
    return merged


def _unglue(word: str, flag: str) -> list[Tok]:
    """jieba's HMM glues a conjunction to an unknown name (「浦发银行和恒大物业」 -> 和恒大): split it off."""
    if len(word) > 2 and word[0] in "和与及" and not known_word(word):
        return [Tok(word[0], "c"), Tok(word[1:], flag)]
    return [Tok(word, flag)]


def kind(t: Tok) -> str | None:
    """What an item can be made of: ``time``, ``nominal`` or ``verbal`` (「出口」 as a noun); None ends an item."""
    if t.flag in _TIME:
        return "time"
    if t.flag == "vn":
        return "verbal"
    if t.flag in _NOMINAL or (t.flag == "x" and t.text.isalnum()):
        return "nominal"
    return None


def is_conjunction(t: Tok) -> bool:
    return t.text in CONJUNCTIONS and t.flag in {"c", "p", "x"}


@dataclass
class Coordination:
    """Items ``spans[k] = (start, end)`` (token indexes, end exclusive) joined by conjunctions."""

    spans: list[tuple[int, int]]


def _run(toks: list[Tok], start: int, step: int, want: str) -> int:
    """Index one past the run of ``want``-kind words from ``start`` walking by ``step``."""
    i = start
    while 0 <= i < len(toks) and kind(toks[i]) == want and not is_conjunction(toks[i]):
        i += step
    return i


def find_coordination(toks: list[Tok], begin: int = 0) -> Coordination | None:
    """The first list of two or more like items at or after token ``begin``, or None."""
    for c in range(max(begin, 1), len(toks) - 1):
        if not is_conjunction(toks[c]):
            continue
        want = kind(toks[c - 1])
        if want is None or kind(toks[c + 1]) != want:
            continue
        left = (_run(toks, c - 1, -1, want) + 1, c)
        spans = [left]
        nxt = c
        while nxt < len(toks) - 1 and is_conjunction(toks[nxt]) and kind(toks[nxt + 1]) == want:
            end = _run(toks, nxt + 1, 1, want)
            spans.append((nxt + 1, end))
            nxt = end
        spans[-1] = _fit_last(toks, spans)
        if want == "time":  # 「2023年上半年和下半年」: the year is shared context, not part of the first item
            size = spans[-1][1] - spans[-1][0]
            spans[0] = (max(spans[0][0], spans[0][1] - size), spans[0][1])
        return Coordination(spans)
    return None


def _fit_last(toks: list[Tok], spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The last item ends at 的 (「片仔癀和世纪华通的营收」) or with the first item's head noun
    (「中小企业和小巨人企业」); else it may run on into the shared words (「澳门GDP增长率」,
    「2023年春节档」), so it is cut to the first item's length in words."""
    (s0, e0), (s, e) = spans[0], spans[-1]
    first = "".join(t.text for t in toks[s0:e0])
    # 「中小企业和小巨人企业」: both end in the same head noun, so the whole run is the item
    if (e < len(toks) and toks[e].text in _MODIFIER) or (e - s > 1 and first.endswith(toks[e - 1].text)):
        return (s, e)
    return (s, min(e, s + (e0 - s0)))


@dataclass(frozen=True)
class Part:
    """One part of a question, with the coordinated names/nouns it was made of (dates are left out:
    the part's date scope checks those). A passage that names none of ``items`` cannot answer it."""

    question: str
    items: tuple[str, ...] = ()


def split_question(question: str) -> list[str]:
    """The parts of a coordinated question, or ``[question]`` when it asks one thing.

    >>> split_question("2021年香港和澳门的GDP增长率")
    ['2021年香港的GDP增长率', '2021年澳门的GDP增长率']
    >>> split_question("世界和平与发展")
    ['世界和平与发展']
    """
    return [p.question for p in split_parts(question)]


def split_parts(question: str) -> list[Part]:
    """``split_question`` with each part's items: 「2022年和2023年特斯拉和比亚迪的交付量」 gives four parts,
    「2022年特斯拉的交付量」 with items (特斯拉,) …"""
    parts = [Part(question)]
    for _ in range(MAX_PARTS):
        more: list[Part] = []
        for p in parts:
            more.extend(Part(q, p.items + item) for q, item in _split_once(p.question))
        if more == parts or len(more) > MAX_PARTS:
            break
        parts = more
    if len(parts) < 2:
        return [Part(question)]
    return list({p.question: p for p in parts}.values())


def _split_once(question: str) -> list[tuple[str, tuple[str, ...]]]:
    """``[(part, (item,))]`` for the first coordination in ``question``; ``[(question, ())]`` without one."""
    if not any(c in question for c in _CONJUNCTION_CHARS):  # no conjunction, so no need to tag words (~1.8 ms)
        return [(question, ())]
    toks = tokens(question)
    if any(t.text in RELATION_WORDS for t in toks):
        return [(question, ())]
    found = find_coordination(toks)
    if found is None:
        return [(question, ())]
    first, last = found.spans[0][0], found.spans[-1][1]
    prefix = "".join(t.text for t in toks[:first])
    suffix = _drop_distributive(toks[last:])
    if any(len("".join(t.text for t in toks[s:e]).strip()) < 2 for s, e in found.spans):
        return [(question, ())]  # a one-character item is a misread word boundary, not an item
    out = []
    for s, e in found.spans:
        item = "".join(t.text for t in toks[s:e])
        out.append((prefix + item + suffix, () if kind(toks[s]) == "time" else (item,)))
    return out


def mentions(text: str, item: str) -> bool:
    """Does ``text`` name ``item`` (spaces and letter case aside)?

    >>> mentions("华为 Mate60 售价", "华为mate60"), mentions("香港经济", "澳门")
    (True, False)
    """
    return "".join(item.split()).casefold() in "".join(text.split()).casefold()


def _drop_distributive(toks: list[Tok]) -> str:
    """The shared tail without 分别/各自, or a lone 各 before a verb (「各卖出多少部」)."""
    kept = []
    for i, t in enumerate(toks):
        lone_each = t.text == "各" and i + 1 < len(toks) and toks[i + 1].flag.startswith("v")
        if t.text in _DISTRIBUTIVE or lone_each:
            continue
        kept.append(t.text)
    return "".join(kept)


def is_list_question(question: str) -> bool:
    """「《心居》的主演有哪些」: the answer is a list, to be gathered across passages.

    >>> is_list_question("《心居》的主演有哪些？"), is_list_question("主演是谁？")
    (True, False)
    """
    return bool(_LIST.search(question))


def coordinated_items(sentence: str) -> list[str]:
    """Names and nouns of the first list made with 、/和/及 in ``sentence``, in order (2-15 characters
    each). Only the first: 「童瑶、冯绍峰分别饰演顾清俞和展翔」 lists actors, then their roles.

    >>> coordinated_items("该剧由海清、张颂文和童瑶主演。")
    ['海清', '张颂文', '童瑶']
    >>> coordinated_items("童瑶、冯绍峰分别饰演顾清俞和展翔。")
    ['童瑶', '冯绍峰']
    """
    toks = tokens(sentence)
    found = find_coordination(toks)
    if found is None or kind(toks[found.spans[0][0]]) != "nominal":
        return []
    items: list[str] = []
    for s, e in found.spans:
        text = "".join(t.text for t in toks[s:e]).strip()
        if len(text) >= 3 and text[0] in _LEADING_FUNCTION:  # jieba's 「由海清」: 由 + the name
            text = text[1:]
        if 2 <= len(text) <= 15 and not text.isdigit():
            items.append(text)
    return list(dict.fromkeys(items))
