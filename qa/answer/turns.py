"""One chat turn end to end: understand the follow-up, answer it from the archive, let the LLM
(when configured) rewrite the answer from the same passages, and report what happened.

``chat_events`` is the single path behind ``POST /api/ask``, its SSE variant and
``/v1/chat/completions``: it yields ``("sources", …)`` first, ``("delta", {"text": …})`` for each
checked LLM sentence, and ``("done", payload)`` with the full JSON answer.
"""

from __future__ import annotations

import re
import time
from typing import Iterator

import numpy as np

from qa.answer.extract import NOT_FOUND
from qa.answer.followup import Resolution, resolve
from qa.answer.grounded import Grounded, grounded_stream
from qa.answer.llm import LLMClient
from qa.answer.verify import MARKER
from qa.request import AskRequest
from qa.types import Answer, Filters, Hit, Turn

# The first line of an article's first chunk is its byline when it has one (see qa.ingest.segment).
_BYLINE = re.compile(
    r"^(?:[■□●◆]\s*(?P<a>.{1,24})|本报讯[（(](?P<b>[^）)]{1,30})[）)]|(?P<c>(?:新华社|中新社|人民日报)\S{0,16}电))$"
)
_LABEL = re.compile(
    r"^(?P<paper>\S+) (?P<date>\d{4}-\d{2}-\d{2})(?: 第(?P<page>\d+)版)?(?: \S+)?(?:《(?P<title>.*)》)?(?:（已校对）)?$"
)


def articles_from_labels(reader, labels: list[str]) -> list[str]:
    """Article ids for citation labels (「聊城日报 2026-04-01 第1版《问需于企 精准滴灌》」) of a turn
    known only from its text, as OpenAI clients send it back."""
    ids: list[str] = []
    for label in labels:
        m = _LABEL.match(label.strip())
        if not m:
            continue
        page = int(m["page"]) if m["page"] else None
        rows = reader.rows_matching(m["date"], m["date"], m["paper"], page)
        for rec in reader.chunk_records([int(r) for r in (rows if rows is not None else [])]):
            if m["title"] is None or (rec.get("title") or "") == m["title"]:
                ids.append(rec["article_id"])
    return list(dict.fromkeys(ids))


def _byline(text: str) -> str | None:
    m = _BYLINE.match(text.split("\n", 1)[0].strip())
    return None if m is None else (m["a"] or m["b"] or m["c"]).strip()


def _about_cited(service, res: Resolution, rows: np.ndarray, top_k: int) -> tuple[str, bool, list[Hit]]:
    """Answer a question about the articles the previous answer cited: date and page, author, or content."""
    if res.aspect == "content":
        composed = service.answer_within(res.question, rows, top_k)
        return composed.text, composed.found, composed.passages
    reader = service.reader
    first: dict[str, dict] = {}
    for rec in reader.chunk_records([int(r) for r in rows]):  # rows ascend: an article's first chunk first
        first.setdefault(rec["article_id"], rec)
    order = [a for a in res.article_ids if a in first] + [a for a in first if a not in res.article_ids]
    hits = [Hit.from_record(first[a]) for a in order][:top_k]
    if res.aspect == "author":
        parts = []
        for n, h in enumerate(hits, start=1):
            who = _byline(h.text)
            title = f"《{h.citation.title}》" if h.citation.title else "这篇报道"
            parts.append(f"{title}的署名是{who}。[{n}]" if who else f"{title}没有署名。[{n}]")
        return "".join(parts), True, hits
    labels = [f"{h.citation.label()}[{n}]" for n, h in enumerate(hits, start=1)]
    if len(labels) == 1:
        return f"这篇报道刊登在{labels[0][:-3]}。{labels[0][-3:]}", True, hits
    return "上一轮回答引用的报道分别刊登在：" + "；".join(labels) + "。", True, hits


def answer_turn(service, req: AskRequest) -> tuple[Resolution, Answer]:
    """The extractive answer to the question as understood after ``req.history``."""
    started = time.perf_counter()
    res = resolve(req.question, req.history)
    if res.kind == "about_cited":
        reader = service.reader
        ids = res.article_ids or articles_from_labels(reader, res.sources)
        rows = reader.rows_of_articles(ids) if ids else np.zeros(0, dtype=np.int64)
        if len(rows):
            res.article_ids = ids
            text, found, hits = _about_cited(service, res, rows, req.top_k)
            ms = (time.perf_counter() - started) * 1000
            return res, Answer(req.question, text if found else NOT_FOUND, found, Filters(), hits, ms, reader.version)
        res = Resolution(req.question, req.question)  # nothing cited to point at: a question of its own
    explicit = req.date_from is not None or req.date_to is not None
    answer = service.ask(
        res.resolved_question,
        top_k=req.top_k,
        date_from=req.date_from if explicit else res.date_from,
        date_to=req.date_to if explicit else res.date_to,
        paper=req.paper if req.paper is not None else res.paper,
        page=req.page,
        **({"as_of": req.as_of} if req.as_of else {}),
    )
    answer.question = req.question
    return res, answer


def cited_article_ids(text: str, passages: list[Hit]) -> list[str]:
    """Article ids of the passages that ``text``'s [n] markers point at, in order."""
    ns = [int(n) for n in MARKER.findall(text)]
    return list(dict.fromkeys(passages[n - 1].citation.article_id for n in ns if 1 <= n <= len(passages)))


def chat_events(service, llm: LLMClient | None, req: AskRequest) -> Iterator[tuple[str, dict]]:
    """("sources", …), then ("delta", {"text"}) per checked LLM sentence, then ("done", payload)."""
    res, answer = answer_turn(service, req)
    base = answer.to_json()
    yield (
        "sources",
        {k: base[k] for k in ("question", "filters", "passages", "index_version")}
        | {"resolved_question": res.resolved_question, "followup": res.to_json()},
    )
    if llm is None:
        result = Grounded(answer.answer, "extractive")
    elif not answer.found:
        result = Grounded(answer.answer, "extractive", "没有找到足够相关的段落，未请模型作答。", "no_evidence")
    elif res.kind == "about_cited" and res.aspect != "content":
        result = Grounded(answer.answer, "extractive", "刊登日期、版次和署名直接取自档案，未请模型作答。", "metadata")
    else:
        for item in grounded_stream(llm, res.resolved_question, answer.passages, answer.answer):
            if isinstance(item, Grounded):
                result = item
            else:
                yield "delta", {"text": item}
    f = answer.filters
    turn = Turn(
        req.question,
        result.text,
        res.resolved_question,
        cited_article_ids(result.text, answer.passages),
        date_from=f.date_from,
        date_to=f.date_to,
        paper=f.paper,
    )
    yield (
        "done",
        base
        | {
            "answer": result.text,
            "resolved_question": res.resolved_question,
            "followup": res.to_json(),
            **({} if result.found else {"found": False, "refusal": "not_found"}),
            "answer_mode": result.mode,
            "answer_mode_reason": result.reason,
            "llm": result.to_json() if llm is not None else None,
            "took_ms": round(answer.took_ms + (result.total_ms or 0.0), 1),
            "turn": {
                "question": turn.question,
                "answer": turn.answer,
                "resolved_question": turn.resolved_question,
                "article_ids": turn.article_ids,
                "filters": {"date_from": turn.date_from, "date_to": turn.date_to, "paper": turn.paper},
            },
        },
    )
