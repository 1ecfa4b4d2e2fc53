"""Coverage questions — 「…第一次报道是什么时候」「最近一次」「哪些天报道了…」「这几年关于防汛的报道有多少，
集中在哪些月份？」 — answered with the distinct reports in date order, and ``GET /api/timeline``.

Which articles cover a topic: the BM25 candidates of the topic's words inside the question's scope,
kept only when the article's text holds every word of the topic (a timeline counts reports *about*
防汛, not every page that shares one word with it). Counting and bucketing are ``qa.time.timeline``.
"""

from __future__ import annotations

from qa.retrieve.scope import Scope
from qa.text.tokens import tokenize
from qa.time.timeline import Report, Timeline, TimelineQuery, build_timeline, reports_in_order
from qa.types import Hit

CANDIDATES = 2000  # BM25 candidates read per coverage question; more reports than this are undercounted
MAX_LISTED = 10  # reports named in a 「哪些天」 answer (the timeline counts them all)


def covering_hits(reader, topic: str, allowed) -> list[Hit]:
    """One hit per article whose chunk holds every word of ``topic``, in date order (earliest printing)."""
    words = tokenize(topic)
    if not words:
        return []
    rows = [row for row, _ in reader.bm25_search(words, CANDIDATES, allowed)]
    first: dict[str, Hit] = {}
    for rec in reader.chunk_records(sorted(rows)):
        text = (rec.get("title") or "") + rec["text"]
        if all(w in text.lower() for w in words) and rec["article_id"] not in first:
            first[rec["article_id"]] = Hit.from_record(rec)
    order = reports_in_order(Report.from_citation(h.citation) for h in first.values())
    return [first[r.article_id] for r in order]


def timeline_of(reader, topic: str, allowed) -> Timeline:
    return build_timeline(Report.from_citation(h.citation) for h in covering_hits(reader, topic, allowed))


def coverage_answer(reader, scope: Scope, query: TimelineQuery) -> tuple[str, list[Hit], Timeline] | None:
    """The answer text with ``[n]`` markers, its source cards and the timeline; None when nothing covers it."""
    hits = covering_hits(reader, query.topic or scope.query, scope.allowed)
    if not hits:
        return None
    timeline = build_timeline(Report.from_citation(h.citation) for h in hits)
    if query.kind == "first":
        return f"最早的报道是{hits[0].citation.label()}。[1]", hits[:1], timeline
    if query.kind == "last":
        return f"最近一次报道是{hits[-1].citation.label()}。[1]", hits[-1:], timeline
    listed = hits[:MAX_LISTED]
    lines = "；".join(f"{h.citation.label()}[{n}]" for n, h in enumerate(listed, start=1))
    more = f"等，共{len(hits)}篇" if len(hits) > len(listed) else f"，共{len(hits)}篇"
    text = f"报道了「{query.topic}」的有：{lines}{more}。"
    if query.kind == "histogram":
        busiest = sorted(timeline.buckets, key=lambda b: -b.count)[:3]
        text += "最多的是" + "、".join(f"{b.key}（{b.count}篇）" for b in busiest if b.count) + "。"
    return text, listed, timeline
