"""Checks an LLM answer sentence by sentence against the passages it cites, before anyone sees it.

A sentence is kept only when it carries at least one ``[n]`` marker, every marker names a passage
that was sent (1..N), and every fact in it — numbers, dates, names of people, places and
organisations (jieba's POS tags), quoted terms, Latin words — occurs in the cited passages (their
text plus their citation: paper, date, page, headline). Pure functions, no I/O.

>>> ev = ["聊城日报 2026-04-01 第1版《问需于企》 2025年，全市新增专精特新“小巨人”企业14家。"]
>>> check_sentence("2025年全市新增“小巨人”企业14家。[1]", ev).ok
True
>>> check_sentence("全市新增“小巨人”企业15家。[1]", ev).why
'数字或日期「15」不在所引段落[1]中'
>>> check_sentence("全市新增企业14家。[9]", ev).why
'引用了不存在的段落[9]（只有1段）'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.text.tokens import pos_cut

_WIDE = str.maketrans("０１２３４５６７８９［］", "0123456789[]")
# 【1】 [1,2] [1][2] -> [1][2]; markers are then one form only.
_ANY_MARKER = re.compile(r"[\[【]\s*(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\s*[\]】]")
MARKER = re.compile(r"\[(\d{1,2})\]")
# A sentence: up to an end mark, then any markers (「…207家。[1]」 keeps its [1]).
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+|(?=\n)|$)(?:\s*\[\d{1,2}\])*")
_DATE = re.compile(r"(?P<y>\d{4})\s*年(?:\s*(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*[日号])?)?"
                   r"|(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*[日号]|(?P<iso>\d{4}-\d{2}-\d{2})")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,20})[”\"」』]")
_LATIN = re.compile(r"[A-Za-z][A-Za-z\-]{1,}")
_NAME_TAGS = {"nr", "nrfg", "nrt", "ns", "nt", "nz"}
_SOURCES_LINE = re.compile(r"^\s*(?:来源|参考|资料|出处)\s*[:：]?|^\s*\[\d{1,2}\]\s*\S")


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
    return [s.strip() for s in _SENTENCE.findall(normalize_markers(text)) if s.strip()]


def is_sources_list(sentence: str) -> bool:
    """A 「来源：」 line or a 「[1] 聊城日报 …」 list entry the model added: not a claim, not shown."""
    return bool(_SOURCES_LINE.match(sentence))


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


def facts_missing(sentence: str, evidence: str) -> list[str]:
    """The facts of ``sentence`` (dates, numbers, names, quoted terms) that ``evidence`` lacks.

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
    missing += [n for n in _NUMBER.findall(rest) if not _has_number(ev, n)]
    missing += [q for q in _QUOTED.findall(body) if q not in ev]
    missing += [w for w in _LATIN.findall(rest) if w.lower() not in ev.lower()]
    for p in pos_cut(re.sub(r"\d", " ", rest)):
        if p.flag in _NAME_TAGS and len(p.word) >= 2 and p.word not in ev:
            missing.append(p.word)
    return list(dict.fromkeys(missing))


def check_sentence(sentence: str, evidence: list[str]) -> Checked:
    """Check one sentence against ``evidence`` (one string per passage sent, 1-based in markers)."""
    markers = [int(n) for n in MARKER.findall(sentence)]
    out = Checked(sentence, list(dict.fromkeys(markers)))
    if not markers:
        out.ok, out.why = False, "没有标注来源[n]"
        return out
    bad = [n for n in out.markers if not 1 <= n <= len(evidence)]
    if bad:
        out.ok, out.why = False, f"引用了不存在的段落[{bad[0]}]（只有{len(evidence)}段）"
        return out
    cited = "\n".join(evidence[n - 1] for n in out.markers)
    missing = facts_missing(sentence, cited)
    if missing:
        where = "".join(f"[{n}]" for n in out.markers)
        kind = "数字或日期" if re.search(r"\d", missing[0]) else "名称"
        out.ok, out.why = False, f"{kind}「{missing[0]}」不在所引段落{where}中"
    return out
