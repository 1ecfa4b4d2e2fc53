"""The ask pipeline behind ``qa ask``, ``POST /api/ask`` and the chat page, and the hot-reloading Service.

question -> dates in it become a period -> is the period in the archive? -> hybrid search
inside the period -> extractive answer with ``[n]`` markers and citations.

A year or month named in a question means "printed then, or speaking of then": the
question 「2025年聊城新增多少家专精特新企业？」 is answered by the 2026-04-01 page that
reviews 2025, so passages whose text names the period (「2025年」) are searched too. A
period that the archive neither printed nor mentions is refused by name
(「档案中没有2010年的报纸。」) instead of being answered from other dates.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path


from qa.answer import NOT_FOUND, compose_answer, out_of_archive_message
from qa.config import DEFAULT_TOP_K
from qa.dates import DateRange, parse_date_range, strip_dates
from qa.embed import load_embedder
from qa.errors import BadInput
from qa.retrieve import allowed_rows, search
from qa.tokenize import tokenize
from qa.store import IndexReader, check_embedder, current_version
from qa.types import Answer, Filters

log = logging.getLogger(__name__)


def reference_date(reader, given: str | None = None) -> dt.date:
    """The "today" that 「去年」「上个月」 are resolved against: ``given`` ("today" or ISO), else the newest issue."""
    if given == "today":
        return dt.date.today()
    if given:
        return dt.date.fromisoformat(given)
    dates = reader.issue_dates()
    return dt.date.fromisoformat(dates[-1]) if dates else dt.date.today()


def mention_patterns(rng: DateRange) -> list[str]:
    """Words that name the period in text: a year -> ["2025年"], a month -> ["2025年7月"], a day -> ["7月28日"].

    Other spans (「上周」, 「今年上半年」) name nothing: they are publication periods only.
    """
    start, end = dt.date.fromisoformat(rng.date_from), dt.date.fromisoformat(rng.date_to)
    if start == end:
        return [f"{start.month}月{start.day}日"]
    if start.year != end.year:
        return [f"{y}年" for y in range(start.year, end.year + 1)][:3]
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return [f"{start.year}年"]
    if start.month == end.month and start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        return [f"{start.year}年{start.month}月"]
    return []


def validate_filters(filters: Filters) -> None:
    """Raise BadInput (Chinese message) for impossible filters: bad ISO dates, a reversed range, page < 1."""
    for name in ("date_from", "date_to"):
        value = getattr(filters, name)
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except (TypeError, ValueError):
                raise BadInput(f"日期格式不对：{value!r}，应为 YYYY-MM-DD，例如 2025-07-29。") from None
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise BadInput(f"起始日期 {filters.date_from} 晚于结束日期 {filters.date_to}。")
    if filters.page is not None and filters.page < 1:
        raise BadInput(f"版次必须是正整数，收到 {filters.page}。")


def answer_question(
    reader,
    embedder,
    question: str,
    top_k: int = DEFAULT_TOP_K,
    filters: Filters | None = None,
    reference: str | None = None,
) -> Answer:
    """Answer one question from one index version. Explicit date filters win over dates in the question."""
    started = time.perf_counter()
    question = question.strip()
    if not question:
        raise BadInput("问题不能为空。")
    filters = filters or Filters()
    validate_filters(filters)
    query, extra, refusal = question, None, None
    if filters.date_from is None and filters.date_to is None:
        rng = parse_date_range(question, reference_date(reader, reference))
        if rng is not None:
            filters = replace(filters, date_from=rng.date_from, date_to=rng.date_to)
            query = strip_dates(question, rng) or question
            extra = reader.rows_containing(mention_patterns(rng), filters.paper)
            if len(extra) == 0 and not _period_has_issues(reader, filters):
                # 「1992年7月…」 where no text says 「1992年7月」: passages naming the year still speak of it.
                extra = reader.rows_containing([f"{rng.date_from[:4]}年"], filters.paper)
            refusal = out_of_archive_message(rng.label)
    elif filters.date_from or filters.date_to:
        span = f"{filters.date_from or '最早'}至{filters.date_to or '最新'}"
        refusal = out_of_archive_message(span)
    allowed = allowed_rows(reader, filters, extra)
    if allowed is not None and len(allowed) == 0:
        text = refusal if refusal and not _period_has_issues(reader, filters) else NOT_FOUND
        return Answer(question, text, False, filters, [], _ms(started), reader.version)
    hits = search(reader, embedder, query, filters, top_k, allowed=allowed)
    # Sentences are scored lexically: embedding them costs ~0.2 s a question on 2 cores and chose
    # no better on CMRC (bench/calibrate_evidence.py); the passages' own cosine scores still count.
    composed = compose_answer(question, hits, None)
    return Answer(question, composed.text, composed.found, filters, composed.passages, _ms(started), reader.version)


def _period_has_issues(reader, filters: Filters) -> bool:
    rows = reader.rows_matching(filters.date_from, filters.date_to, filters.paper, None)
    return rows is not None and len(rows) > 0


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


class Service:
    """One index and one embedder per process, swapped to a newly published version without a restart.

    Requests hold a reference to the reader they started with, so a swap never fails a
    request in flight; the old reader is simply dropped when the last of them finishes.
    """

    def __init__(self, index_dir: Path | str, embedder=None, reference_date: str | None = None):
        self.index_dir = Path(index_dir)
        self.reference_date = reference_date
        self._swap_lock = threading.Lock()
        self.reader = IndexReader.open(self.index_dir)
        self.embedder = embedder or load_embedder(self.reader.embedder_name)
        check_embedder(self.reader, self.embedder)
        # Load jieba's dictionary (~1 s) and the embedder now, not in the first user's request.
        tokenize("预热")
        self.embedder.encode_queries(["预热"])

    @property
    def version(self) -> str:
        return self.reader.version

    def maybe_reload(self) -> bool:
        """Open and swap in the version named by ``CURRENT`` if it changed; True when swapped."""
        live = current_version(self.index_dir)
        if live is None or live == self.reader.version:
            return False
        with self._swap_lock:
            if live == self.reader.version:
                return False
            reader = IndexReader.open(self.index_dir)
            if reader.embedder_name != self.embedder.name:
                self.embedder = load_embedder(reader.embedder_name)
            check_embedder(reader, self.embedder)
            self.reader = reader
            log.info("switched to index version %s", reader.version)
            return True

    def ask(
        self,
        question: str,
        top_k: int = DEFAULT_TOP_K,
        date_from: str | None = None,
        date_to: str | None = None,
        paper: str | None = None,
        page: int | None = None,
    ) -> Answer:
        filters = Filters(date_from=date_from, date_to=date_to, paper=paper, page=page)
        return answer_question(self.reader, self.embedder, question, top_k, filters, self.reference_date)

    def health(self) -> dict:
        reader = self.reader
        return {
            "status": "ok",
            "index_version": reader.version,
            "counts": reader.counts(),
            "embedder": reader.embedder_name,
        }
