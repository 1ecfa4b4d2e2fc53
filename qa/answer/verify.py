"""Checks an LLM answer sentence by sentence against the passages it cites, before anyone sees it.

A sentence is kept only when it carries at least one ``[n]`` marker, every marker names a passage
that was sent (1..N), it says something besides its source (not 「[1]」 alone, not a string of
citation labels), every fact in it — numbers, dates, names of people, places and organisations
(jieba's POS tags), quoted terms, titles in 《》, Latin words — occurs in the cited passages (their
text plus their citation: paper, date, page, headline), and its wording is supported by the cited
passages' text: at least ``SUPPORT_MIN`` of its character pairs (citation parts and lead-ins like
「根据资料」 left out) occur in them. A marker in front (「[1] 新增207家。」) counts as the sentence's.
A refusal (「档案中没有找到相关报道。」) is recognised as such, with or without a marker.
Pure functions, no I/O.

>>> ev = ["聊城日报 2026-04-01 第1版《问需于企》\\n2025年，全市新增专精特新“小巨人”企业14家。"]
>>> check_sentence("2025年全市新增“小巨人”企业14家。[1]", ev).ok
True
>>> check_sentence("全市新增“小巨人”企业15家。[1]", ev).why
'数字或日期「15」不在所引段落[1]中'
>>> check_sentence("全市新增企业14家。[9]", ev).why
'引用了不存在的段落[9]（只有1段）'
>>> check_sentence("[1]", ev).why
'只有来源，没有内容'
>>> check_sentence("全市企业都获得了免费的信贷支持。[1]", ev).why
'内容与所引段落[1]对不上（只有14%的字词出现在段落中）'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.text.tokens import pos_cut

_WIDE = str.maketrans("０１２３４５６７８９［］", "0123456789[]")
# 【1】 [1,2] [资料1] [1][2] -> [1][2]; markers are then one form only.
_ANY_MARKER = re.compile(r"[\[【]\s*(?:资料|编号)?\s*(\d{1,2}(?:\s*[,，、]\s*(?:资料|编号)?\s*\d{1,2})*)\s*[\]】]")
MARKER = re.compile(r"\[(\d{1,2})\]")
_LEADING_MARKERS = re.compile(r"^((?:\[\d{1,2}\]\s*)+)(.*)$", re.DOTALL)
# A sentence: up to an end mark, then any markers on the same line (「…207家。[1]」 keeps its [1]).
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+|(?=\n)|$)(?:[ \t]*\[\d{1,2}\])*")
_DATE = re.compile(
    r"(?P<y>\d{4})\s*年(?:\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*[日号])?)?"
    r"|(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号]|(?P<iso>\d{4}-\d{2}-\d{2})"
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,20})[”\"」』]")
_LATIN = re.compile(r"[A-Za-z][A-Za-z\-]{1,}")
_TITLE = re.compile(r"《([^》]{1,40})》")
_NAME_TAGS = {"nr", "nrfg", "nrt", "ns", "nt", "nz"}
_SOURCES_LINE = re.compile(r"^\s*(?:来源|参考|参考资料|出处|问题)\s*[:：]")  # and an echo of the question
_ANSWER_LABEL = re.compile(r"^\s*(?:回答|答案|答)\s*[:：]\s*")  # copied from the prompt's format example
_PAGE = re.compile(r"第\s*(\d{1,3})\s*版")
_NOT_CONTENT = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]")
_LEAD_IN = re.compile(
    r"^(?:根据|依据|按照|据)?(?:以上|上述)?(?:资料|段落|报道|原文|文中|材料)(?:\d{1,2})?"
    r"(?:中|里)?(?:显示|提到|指出|称|所述|介绍|记载)?[，,:：]?|^据[^，,]{0,20}报道[，,]?"
)
_REFUSAL = re.compile(
    r"档案中没有找到相关报道|没有找到相关|无法(?:回答|根据|从|确定|判断)"
    r"|(?:资料|段落|文中|档案|报道|原文|上述|以上|所给|提供的)[^。，,]{0,8}"
    r"(?:没有|未|并未|无|不)(?:找到|提到|提及|涉及|包含|给出|提供|说明|相关)"
)
# What is left of 「该报道刊登于2026年4月1日」 once its citation parts are out: a claim about the source.
_ABOUT_SOURCE = re.compile(
    r"^(?:该|这篇|此|这|本|其)?(?:报道|文章|消息|新闻|稿件)?(?:刊登|发表|刊发|刊载|登载|见报|发布)"
    r"(?:于|在|的|时间|日期|是|为)*$"
)
SUPPORT_MIN = 0.5  # share of a sentence's character pairs that its cited passages must hold
SUPPORT_UNMARKED = 0.8  # a sentence without a marker is cited to the one passage that holds this much


@dataclass
class Checked:
    """One sentence of the LLM's answer: ``ok`` with its ``markers``, or ``why`` it was dropped."""

    text: str
    markers: list[int] = field(default_factory=list)
    ok: bool = True
    why: str | None = None


def normalize_markers(text: str) -> str:
    """One marker form: 「【1】」「[1, 2]」 -> 「[1]」「[1][2]」; full-width digits made ASCII.

    >>> normalize_markers("共14家【1】，见[1, 2]。")
    '共14家[1]，见[1][2]。'
    """
    text = text.translate(_WIDE)
    return _ANY_MARKER.sub(lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), text)


def split_claims(text: str) -> list[str]:
    """Sentences with their trailing markers, blank ones left out.

    >>> split_claims("新增207家。[1]其中“小巨人”14家[2]。\\n")
    ['新增207家。[1]', '其中“小巨人”14家[2]。']
    """
    return [
        _ANSWER_LABEL.sub("", s.strip())
        for s in _SENTENCE.findall(normalize_markers(text))
        if _ANSWER_LABEL.sub("", s.strip())
    ]


def is_sources_list(sentence: str) -> bool:
    """A 「来源：」 line the model added: not a claim, not shown. (A 「[1] 聊城日报 …」 entry is checked
    like any sentence, and dropped for saying nothing besides its source.)"""
    return bool(_SOURCES_LINE.match(sentence))


def is_refusal(sentence: str) -> bool:
    """The model saying the passages do not answer the question, with or without a marker.

    >>> is_refusal("档案中没有找到相关报道。"), is_refusal("资料中没有提到具体数字。[1]")
    (True, True)
    >>> is_refusal("该企业没有获得补贴。[1]")
    False
    """
    body = MARKER.sub("", sentence).strip()
    return len(body) <= 40 and _REFUSAL.search(body) is not None


def markers_last(sentence: str) -> str:
    """「[1] 新增207家。」 -> 「新增207家。[1]」: a marker in front cites the sentence too."""
    m = _LEADING_MARKERS.match(sentence.strip())
    return f"{m.group(2).strip()}{''.join(m.group(1).split())}" if m and m.group(2).strip() else sentence


def _plain_date(m: re.Match[str]) -> list[str]:
    """The ways a matched date may be written in a passage or a citation (without leading zeros)."""
    if m.group("iso"):
        y, mo, d = m.group("iso").split("-")
        return [m.group("iso"), f"{int(y)}年{int(mo)}月{int(d)}日"]
    if m.group("y"):
        y, mo, d = m.group("y"), m.group("m"), m.group("d")
        if d:
            return [f"{y}年{int(mo)}月{int(d)}日", f"{y}-{int(mo):02d}-{int(d):02d}"]
        return [f"{y}年{int(mo)}月", f"{y}-{int(mo):02d}"] if mo else [f"{y}年", f"{y}-"]
    mo, d = int(m.group("m2")), int(m.group("d2"))
    return [f"{mo}月{d}日", f"-{mo:02d}-{d:02d}"]


def _has_number(evidence: str, number: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", evidence) is not None


def facts_missing(sentence: str, evidence: str, text: str | None = None) -> list[str]:
    """The facts of ``sentence`` (dates, numbers, names, quoted terms) that ``evidence`` lacks.
    Plain numbers must be in ``text`` (the passages without their citation lines, default
    ``evidence``): the 「1」 of 「第1版」 does not back 「第1位」.

    >>> facts_missing("王培源报道，新增207家。", "本报记者 王培源：新增207家")
    []
    >>> facts_missing("张三说新增300家。", "新增207家")
    ['300', '张三']
    """
    body = MARKER.sub("", sentence).translate(_WIDE).replace(",", "")
    ev = re.sub(r"(?<=\d)\s+|\s+(?=\d)", "", evidence.translate(_WIDE).replace(",", ""))
    missing: list[str] = []
    for m in _DATE.finditer(body):
        if not any(form in ev for form in _plain_date(m)):
            missing.append(m.group(0))
    rest = _DATE.sub(" ", body)
    missing += [m.group(0) for m in _PAGE.finditer(rest) if f"第{m.group(1)}版" not in ev]
    plain = ev if text is None else re.sub(r"(?<=\d)\s+|\s+(?=\d)", "", text.translate(_WIDE).replace(",", ""))
    missing += [n for n in _NUMBER.findall(_PAGE.sub(" ", rest)) if not _has_number(plain, n)]
    missing += [q for q in _QUOTED.findall(body) if q not in ev]
    missing += [f"《{t}》" for t in _TITLE.findall(body) if t not in ev]
    missing += [w for w in _LATIN.findall(rest) if w.lower() not in ev.lower()]
    for p in pos_cut(re.sub(r"\d", " ", rest)):
        if p.flag in _NAME_TAGS and len(p.word) >= 2 and p.word not in ev:
            missing.append(p.word)
    return list(dict.fromkeys(missing))


def _label_parts(label: str) -> list[str]:
    """What a citation line names (paper, dates, page, headline and its words), longest first."""
    titles = _TITLE.findall(label)
    parts = _TITLE.sub(" ", label).split() + titles + [w for t in titles for w in t.split()]
    return sorted({p for p in parts if len(p) >= 2}, key=len, reverse=True)


def support(sentence: str, evidence: list[str]) -> tuple[str, float]:
    """What ``sentence`` says besides its sources, and the share of its character pairs that the
    cited passages' text holds. ``evidence``: one 「citation line\\n text」 per cited passage.

    >>> evidence = ["聊城日报 2026-04-01 第1版《问需于企》\\n全市新增企业14家。"]
    >>> support("据《问需于企》报道，全市新增企业14家。[1]", evidence)
    ('全市新增企业14家', 1.0)
    >>> support("聊城日报 2026-04-01 第1版《问需于企》[1]", evidence)
    ('', 0.0)
    """
    body = whole = MARKER.sub("", sentence).translate(_WIDE)
    texts = []
    for ev in evidence:
        label, _, text = ev.partition("\n")
        texts.append(_NOT_CONTENT.sub("", text))
        for part in _label_parts(label):
            body = body.replace(f"《{part}》", " ").replace(part, " ")
    body = _NOT_CONTENT.sub("", _LEAD_IN.sub("", body.strip()))
    if body != _NOT_CONTENT.sub("", whole) and _ABOUT_SOURCE.match(body):
        return body, 1.0  # the date, page or paper it names was checked as a fact
    pairs = [body[i : i + 2] for i in range(len(body) - 1)]
    if not pairs:
        return body, 0.0
    return body, sum(any(p in t for t in texts) for p in pairs) / len(pairs)


def _cite_unmarked(sentence: str, evidence: list[str]) -> Checked:
    """Small models often drop the marker of a sentence copied from a passage: such a sentence is
    cited to the passage that holds at least ``SUPPORT_UNMARKED`` of it, then checked as usual.
    A question (an echo of the user's) is never an answer."""
    no = Checked(sentence, [], False, "没有标注来源[n]")
    if not evidence or sentence.rstrip().endswith(("？", "?")):
        return no
    shares = [support(sentence, [ev])[1] for ev in evidence]
    best = max(range(len(evidence)), key=lambda i: shares[i])
    if shares[best] < SUPPORT_UNMARKED:
        return no
    cited = check_sentence(f"{sentence}[{best + 1}]", evidence)
    return cited if cited.ok else no


def check_sentence(sentence: str, evidence: list[str]) -> Checked:
    """Check one sentence against ``evidence`` (one string per passage sent, 1-based in markers:
    its citation line, a newline, the text sent)."""
    sentence = markers_last(sentence)
    markers = [int(n) for n in MARKER.findall(sentence)]
    if not markers:
        return _cite_unmarked(sentence, evidence)
    out = Checked(sentence, list(dict.fromkeys(markers)))
    bad = [n for n in out.markers if not 1 <= n <= len(evidence)]
    if bad:
        out.ok, out.why = False, f"引用了不存在的段落[{bad[0]}]（只有{len(evidence)}段）"
        return out
    cited = [evidence[n - 1] for n in out.markers]
    where = "".join(f"[{n}]" for n in out.markers)
    missing = facts_missing(sentence, "\n".join(cited), "\n".join(ev.partition("\n")[2] for ev in cited))
    if missing:
        kind = "数字或日期" if re.search(r"\d", missing[0]) and not missing[0].startswith("《") else "名称"
        out.ok, out.why = False, f"{kind}「{missing[0]}」不在所引段落{where}中"
        return out
    said, share = support(sentence, cited)
    if len(said) < 2:
        out.ok, out.why = False, "只有来源，没有内容"
    elif share < SUPPORT_MIN:
        out.ok, out.why = False, f"内容与所引段落{where}对不上（只有{share:.0%}的字词出现在段落中）"
    return out
