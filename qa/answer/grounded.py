"""The LLM answer, written only from the cited passages and checked before anyone sees it.

The top passages go to the LLM numbered, each with its citation; it is told to answer in Chinese
only from them and to end every sentence with its ``[n]``. As the text streams in, each finished
sentence is checked (``qa.answer.verify``) and only then passed on, so a streaming reader never sees
an unchecked sentence. The outcome, as ``answer_mode``:

* ``extractive`` — no LLM configured, or nothing relevant was found (the LLM is not asked);
* ``llm`` — the checked sentences; ``reason`` says what was removed, if anything;
* ``llm_fallback`` — no sentence survived, or the LLM failed (timeout, refused connection,
  4xx/5xx, garbage) before one did: the extractive answer, with the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Iterator

from qa.answer.llm import LLMClient, LLMError
from qa.answer.verify import Checked, check_sentence, is_sources_list, split_claims
from qa.types import Hit

_PARTIAL_MARKER = re.compile(r"[\[【][\d\s,，、]*[\]】]?")
PASSAGE_CHARS = 600  # each passage cut to this (LLMConfig.passage_chars)

SYSTEM_PROMPT = (
    "你是报纸档案问答助手。只能根据用户给出的编号报道段落回答问题，不得使用段落以外的知识。"
    "用简洁的中文回答，每一句话末尾都用方括号标注它所依据的段落编号，例如[1]或[1][2]。"
    "数字、日期、人名、地名必须与段落原文完全一致。段落中没有答案时，只回答：档案中没有找到相关报道。"
)


@dataclass
class Grounded:
    """What the answer became: ``mode`` extractive | llm | llm_fallback, ``reason`` in Chinese."""

    text: str
    mode: str
    reason: str | None = None
    reason_code: str | None = None
    kept: list[str] = field(default_factory=list)
    dropped: list[Checked] = field(default_factory=list)
    first_token_ms: float | None = None
    total_ms: float | None = None

    def to_json(self) -> dict:
        return {
            "reason_code": self.reason_code,
            "sentences_kept": len(self.kept),
            "sentences_dropped": [{"sentence": c.text, "why": c.why} for c in self.dropped],
            "first_token_ms": None if self.first_token_ms is None else round(self.first_token_ms, 1),
            "total_ms": None if self.total_ms is None else round(self.total_ms, 1),
        }


def _date_forms(iso: str) -> str:
    try:
        d = dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return ""
    return f"{d.year}年{d.month}月{d.day}日 {d.year}年{d.month}月 {d.month}月{d.day}日 {d.year}年"


def evidence_texts(passages: list[Hit], chars: int = PASSAGE_CHARS) -> list[str]:
    """What each passage backs: its text (as sent) and its citation, dates in every written form."""
    return [f"{h.citation.label()} {_date_forms(h.citation.date)}\n{h.text[:chars]}" for h in passages]


def build_messages(question: str, passages: list[Hit], chars: int = PASSAGE_CHARS) -> list[dict]:
    """The chat messages: the rules, then the numbered passages with citations and the question.

    >>> from qa.types import Citation
    >>> c = Citation("聊城日报", "2026-04-01", None, 1, None, "问需于企", "a1", "s.txt")
    >>> build_messages("新增多少家？", [Hit(0, "c", 0.1, "新增14家。", c)])[1]["content"].splitlines()[:2]
    ['资料：', '[1] 聊城日报 2026-04-01 第1版《问需于企》']
    """
    blocks = [f"[{n}] {h.citation.label()}\n{h.text[:chars]}" for n, h in enumerate(passages, start=1)]
    user = "资料：\n" + "\n\n".join(blocks) + f"\n\n问题：{question}\n请只根据以上资料回答，每句末尾标注[n]。"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class SentenceGate:
    """Feeds streamed text in, lets checked sentences out; ``finish()`` checks the unfinished rest."""

    def __init__(self, evidence: list[str]):
        self.evidence = evidence
        self.buffer = ""
        self.kept: list[str] = []
        self.dropped: list[Checked] = []

    def _judge(self, sentences: list[str]) -> list[str]:
        out = []
        for s in sentences:
            if is_sources_list(s):
                continue
            checked = check_sentence(s, self.evidence)
            (out if checked.ok else self.dropped).append(s if checked.ok else checked)
        self.kept += out
        return out

    def feed(self, piece: str) -> list[str]:
        self.buffer += piece
        parts = split_claims(self.buffer)
        # The last part may still grow; a lone 「[」 or 「[1」 may still be the previous sentence's marker.
        keep = 2 if parts and _PARTIAL_MARKER.fullmatch(parts[-1]) else 1
        if len(parts) <= keep:
            return []
        self.buffer = "".join(parts[-keep:])
        return self._judge(parts[:-keep])

    def finish(self) -> list[str]:
        rest, self.buffer = self.buffer, ""
        return self._judge(split_claims(rest))


def grounded_stream(client: LLMClient, question: str, passages: list[Hit], extractive: str) -> Iterator:
    """Yields checked sentences (str) as they are ready, then the final :class:`Grounded`."""
    sent, chars = passages[:client.cfg.passages], client.cfg.passage_chars
    gate = SentenceGate(evidence_texts(sent, chars))
    started, first = time.perf_counter(), None
    error: LLMError | None = None
    try:
        for piece in client.stream(build_messages(question, sent, chars)):
            first = first if first is not None else (time.perf_counter() - started) * 1000
            yield from gate.feed(piece)
        yield from gate.finish()
    except LLMError as e:
        error = e
    result = _outcome(gate, error, extractive)
    result.first_token_ms, result.total_ms = first, (time.perf_counter() - started) * 1000
    yield result


def _outcome(gate: SentenceGate, error: LLMError | None, extractive: str) -> Grounded:
    text = "".join(gate.kept)
    dropped = len(gate.dropped)
    if not gate.kept:
        if error is not None:
            return Grounded(extractive, "llm_fallback", f"{error.reason}，改用原文摘录。", error.code, [], gate.dropped)
        why = f"模型的 {dropped} 句回答都没有通过核对（{gate.dropped[0].why}）" if dropped else "模型没有给出带来源的回答"
        return Grounded(extractive, "llm_fallback", f"{why}，改用原文摘录。", "unsupported", [], gate.dropped)
    notes = []
    if dropped:
        notes.append(f"删去 {dropped} 句无依据的句子（{gate.dropped[0].why}）")
    if error is not None:
        notes.append(f"{error.reason}，保留已核对的 {len(gate.kept)} 句")
    code = "partial" if error is not None else ("dropped" if dropped else None)
    return Grounded(text, "llm", "；".join(notes) + "。" if notes else None, code, gate.kept, gate.dropped)


def grounded_answer(client: LLMClient, question: str, passages: list[Hit], extractive: str) -> Grounded:
    """The non-streaming form of :func:`grounded_stream`."""
    *_, result = grounded_stream(client, question, passages, extractive)
    return result
