"""BM25 tokens and date periods of a batch's rows, kept off the embedding's critical path.

jieba and the date grammar are pure Python: in the build's own process they hold the GIL, so they
run one after the other with the embedding engine's loading (torch's import, the tokenizer) instead
of beside it. A small build in a fresh process (``qa index`` of one day's issue) therefore starts one
worker process at its first page: the worker loads jieba's dictionary while the model loads, then
analyses the batch on the other core while the model embeds it. A process that already has jieba
loaded (a server that has answered a question) analyses in-process: there is nothing to hide.
Big batches go to a pool of one worker per core, as before.

The early worker is a plain ``python -c`` child speaking JSON lines over its stdin and stdout, not
multiprocessing's spawn: spawn runs the parent's ``__main__`` again in the child, so a user's script
calling ``build_index`` without a main guard would start a second build there. This module imports
only the text and date analysers, so the worker starts in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from typing import Callable

from qa.text import tokens as tok
from qa.time.mentions import Period, extract_periods

PARALLEL_MIN_ROWS = 4_000  # batches this big are split over one worker per core
Analysed = tuple[list[list[str]], list[list[Period]]]


def default_workers() -> int:
    """Worker processes for tokenising and date analysis: ``QA_INDEX_WORKERS``, else one per core."""
    try:
        return max(1, int(os.environ.get("QA_INDEX_WORKERS", "") or os.cpu_count() or 1))
    except ValueError:
        return os.cpu_count() or 1


def analyse(texts: list[str], dates: list[str]) -> Analysed:
    """BM25 tokens and the periods each text speaks of, resolved against its issue date.

    >>> tokens, periods = analyse(["昨天召开防汛会议"], ["2025-07-29"])
    >>> tokens[0][:2], [(p.phrase, str(p.start)) for p in periods[0]]
    (['昨天', '召开'], [('昨天', '2025-07-28')])
    """
    periods = []
    for text, date in zip(texts, dates):
        try:
            periods.append(extract_periods(text, dt.date.fromisoformat(date)))
        except ValueError:  # an impossible date never reaches here from the readers; no periods if it does
            periods.append([])
    return [tok.tokenize(t) for t in texts], periods


def warm() -> None:
    """Load jieba's dictionary (about 0.7 s) in a worker before its first batch arrives."""
    tok.tokenize("预热")


def serve() -> None:
    """The early worker's loop: ``(texts, dates)`` in, ``analyse``'s result out, until stdin closes."""
    warm()
    for line in iter(sys.stdin.readline, ""):  # ASCII JSON lines: no locale can garble them
        texts, dates = json.loads(line)
        tokens, periods = analyse(texts, dates)
        wire = [[[p.start.isoformat(), p.end.isoformat(), p.phrase, p.offset, p.vague] for p in ps] for ps in periods]
        sys.stdout.write(json.dumps([tokens, wire]) + "\n")
        sys.stdout.flush()


def _periods(wire: list) -> list[list[Period]]:
    """``serve``'s periods back as ``Period`` objects."""
    date = dt.date.fromisoformat
    return [[Period(date(a), date(b), phrase, offset, vague) for a, b, phrase, offset, vague in ps] for ps in wire]


class _Worker:
    """One ``serve`` process; a thread of ours feeds it, so a request bigger than the pipe never
    blocks the build while the worker is still loading jieba."""

    def __init__(self) -> None:
        code = "from qa.store.folder.analysis import serve; serve()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="ascii"
        )
        self.feeder = ThreadPoolExecutor(1, thread_name_prefix="qa-analysis")

    def submit(self, texts: list[str], dates: list[str]) -> Future:
        return self.feeder.submit(self._ask, texts, dates)

    def _ask(self, texts: list[str], dates: list[str]) -> Analysed:
        self.proc.stdin.write(json.dumps([texts, dates]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError("the analysis worker has exited")
        tokens, wire = json.loads(line)
        return tokens, _periods(wire)

    def close(self) -> None:
        self.feeder.shutdown()
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class Analyser:
    """Where a build's batches are analysed: see the module docstring."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else default_workers()
        self._early: _Worker | None = None  # one warm worker for small batches
        self._pool: Executor | None = None  # one worker per core for big batches

    def start(self) -> None:
        """At a build's first page: start the early worker if it would hide jieba's loading."""
        if self._early is None and self.workers >= 2 and not tok.loaded():
            self._early = _Worker()

    def submit(self, texts: list[str], dates: list[str]) -> Callable[[], Analysed]:
        """Start analysing; the returned function waits for (or computes) the result."""
        if len(texts) >= PARALLEL_MIN_ROWS and self.workers >= 2:
            return _constant(self._split(texts, dates))
        if self._early is None:
            return _constant(analyse(texts, dates))
        future = self._early.submit(texts, dates)

        def result() -> Analysed:
            try:
                return future.result()
            except (OSError, EOFError, ValueError):  # the worker died: the analysis is redone here
                return analyse(texts, dates)

        return result

    def _split(self, texts: list[str], dates: list[str]) -> Analysed:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        step = -(-len(texts) // (self.workers * 4))
        parts = self._pool.map(
            analyse,
            [texts[i : i + step] for i in range(0, len(texts), step)],
            [dates[i : i + step] for i in range(0, len(texts), step)],
        )
        tokens, periods = [], []
        for t, p in parts:
            tokens += t
            periods += p
        return tokens, periods

    def close(self) -> None:
        if self._early is not None:
            self._early.close()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        self._early = self._pool = None


def _constant(value: Analysed) -> Callable[[], Analysed]:
    return lambda: value
