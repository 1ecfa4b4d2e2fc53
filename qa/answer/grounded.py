"""The LLM answer, written only from the cited passages and checked before anyone sees it.

The top passages go to the LLM as delimited, numbered data blocks sized to its context
(``qa.answer.prompt``); it is told to answer in Chinese only from them and to end every sentence with
its ``[n]``. As the text streams in, each finished sentence is checked (``qa.answer.verify``) and only
then passed on, so a streaming reader never sees an unchecked sentence. The outcome, as ``answer_mode``:

* ``extractive`` — no LLM configured, or nothing relevant was found (the LLM is not asked);
* ``llm`` — the checked sentences; ``reason`` says what was removed, if anything. When the model
  only said that the passages do not answer the question (``reason_code`` "refused"), the answer
  is 「档案中没有找到相关报道。」 and ``found`` is false;
* ``llm_fallback`` — no sentence survived, or the LLM failed (timeout, refused connection,
  4xx/5xx, garbage) before one did: the extractive answer, with the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Iterator

from qa.answer.llm import LLMClient
from qa.answer.prompt import NOT_ANSWERED, PASSAGE_CHARS, budget_chars, build_messages, fit_passages
from qa.answer.verify import MARKER, Checked, check_sentence, is_refusal, is_sources_list, split_claims
from qa.errors import LLMError
from qa.types import Hit

__all__ = ["Grounded", "SentenceGate", "build_messages", "evidence_texts", "grounded_answer", "grounded_stream"]
_ENDED = re.compile(r"[。！？!?；;…”」』）)]\s*$")
_PARTIAL_MARKER = re.compile(r"[\[【][\d\s,，、资料编号]*[\]】]?")


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
    found: bool = True  # false when the model said the passages do not answer the question

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


def evidence_texts(passages: list[Hit], chars: int = PASSAGE_CHARS, texts: list[str] | None = None) -> list[str]:
    """What each passage backs: its citation line (dates in every written form), then its text as
    sent (``texts``, from :func:`qa.answer.prompt.fit_passages`; by default cut to ``chars``)."""
    texts = fit_passages(passages, chars) if texts is None else texts
    return [f"{h.citation.label()} {_date_forms(h.citation.date)}\n{t}" for h, t in zip(passages, texts)]


class SentenceGate:
    """Feeds streamed text in, lets checked sentences out; ``finish()`` checks the unfinished rest."""

    def __init__(self, evidence: list[str]):
        self.evidence = evidence
        self.buffer = ""
        self.kept: list[str] = []
        self.dropped: list[Checked] = []
        self.refused = False  # the model said the passages do not answer the question

    def _judge(self, sentences: list[str]) -> list[str]:
        out: list[str] = []
        for s in sentences:
            if is_sources_list(s):
                continue
            if is_refusal(s):
                self.refused = True
                continue
            checked = check_sentence(s, self.evidence)
            if not checked.ok:
                self.dropped.append(checked)
            elif checked.text not in self.kept and checked.text not in out:  # small models repeat themselves
                out.append(checked.text)
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
        parts = split_claims(rest)
        # A last sentence with neither end mark nor marker was cut off by max_tokens: not shown.
        if parts and not MARKER.search(parts[-1]) and not _ENDED.search(parts[-1]):
            self.dropped.append(Checked(parts.pop(), [], False, "句子没有说完（回答超过长度上限）"))
        return self._judge(parts)


def grounded_stream(client: LLMClient, question: str, passages: list[Hit], extractive: str) -> Iterator:
    """Yields checked sentences (str) as they are ready, then the final :class:`Grounded`."""
    cfg = client.cfg
    started, first = time.perf_counter(), None
    context = client.context_tokens()
    budget = budget_chars(context, client.max_tokens(context), cfg.tokens_per_char, question)
    texts = fit_passages(passages[: cfg.passages], cfg.passage_chars, budget)
    if not texts:
        yield Grounded(
            extractive,
            "llm_fallback",
            f"模型的上下文（{context} 个词元）放不下资料，改用原文摘录。",
            "context",
            total_ms=(time.perf_counter() - started) * 1000,
        )
        return
    sent = passages[: len(texts)]
    gate = SentenceGate(evidence_texts(sent, texts=texts))
    error: LLMError | None = None
    try:
        for piece in client.stream(build_messages(question, sent, texts), context):
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
    if not gate.kept and gate.refused:
        return Grounded(
            NOT_ANSWERED, "llm", "模型判断所给段落不能回答这个问题。", "refused", [], gate.dropped, found=False
        )
    if not gate.kept:
        if error is not None:
            return Grounded(extractive, "llm_fallback", f"{error.reason}，改用原文摘录。", error.code, [], gate.dropped)
        why = (
            f"模型的 {dropped} 句回答都没有通过核对（{gate.dropped[0].why}）" if dropped else "模型没有给出带来源的回答"
        )
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
