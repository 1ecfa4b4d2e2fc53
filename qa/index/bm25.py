"""BM25 over immutable segments, with N, avgdl and df taken across all live rows at query time.

bm25s bakes each segment's own IDF and avgdl into stored scores, so scores of two segments
cannot be compared. Here a segment stores only raw postings (term -> rows, term frequencies,
row lengths); :class:`SegmentedBM25` computes the statistics over the live rows of every
segment, the way Lucene does across segments, so a segmented index with tombstones ranks
exactly like one built from scratch on the surviving rows (segment files: qa.index.postings). Scoring is bm25s' ``lucene`` method:
``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` times ``tf / (tf + k1 * (1 - b + b * dl / avgdl))``
(bm25s' lucene variant has no ``(k1 + 1)`` factor).

A tiny worked example. N = 3 rows, avgdl = 2, df(c) = 2, so idf(c) = ln(1 + 1.5 / 2.5) = 0.4700;
row 1 (c twice, 3 tokens) scores 0.4700 * 2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 2)) = 0.2575::

    >>> p = Postings.build([["a", "c"], ["b", "c", "c"], ["a"]])
    >>> list(p.vocab), p.vocab.find("c"), p.vocab.find("zz")
    (['a', 'b', 'c'], 2, -1)
    >>> [(seg, row, round(s, 4)) for seg, row, s in search([(p, None)], ["c"], k=5)]
    [(0, 1, 0.2575), (0, 0, 0.2136)]
    >>> search([(p, np.array([True, False, True]))], ["c"], k=5)[0][:2]   # row 1 deleted
    (0, 0)
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from qa.index.postings import B, FORMAT, K1, METHOD, Part, Postings, Vocab, check_mask

__all__ = ["B", "FORMAT", "K1", "METHOD", "Postings", "SegmentedBM25", "Vocab", "search"]


class SegmentedBM25:
    """Query-time view over segments for one index version; N and avgdl over live rows, computed once.

    ``parts`` pairs each segment with its live mask (False = deleted; None = all live). Deleted rows
    neither score nor count in N, avgdl or df.
    """

    def __init__(self, parts: list[Part], k1: float = K1, b: float = B):
        self.parts = [(p, check_mask(p, m, "live")) for p, m in parts]
        self.n_live = sum(p.n_rows if m is None else int(m.sum()) for p, m in self.parts)
        length = sum(int(np.asarray(p.doc_len if m is None else p.doc_len[m], dtype=np.int64).sum())
                     for p, m in self.parts)
        self.avgdl = length / self.n_live if self.n_live else 0.0
        self.k1, self.b = k1, b
        # tf / (tf + c0 + c1 * dl) is k1 * (1 - b + b * dl / avgdl) in the denominator, per row.
        self._c0 = np.float32(k1 * (1 - b))
        self._c1 = np.float32(k1 * b / self.avgdl) if self.avgdl else np.float32(0)

    def idf(self, df: int) -> float:
        return math.log(1 + (self.n_live - df + 0.5) / (df + 0.5))

    def _gather(self, token: str) -> tuple[int, list[tuple[int, np.ndarray, np.ndarray]]]:
        """Live df of ``token`` over all segments, and its live postings per segment."""
        df, hits = 0, []
        for s, (p, live) in enumerate(self.parts):
            t = p.vocab.find(token)
            if t < 0:
                continue
            lo, hi = int(p.indptr[t]), int(p.indptr[t + 1])
            docs, tfs = p.docs[lo:hi], p.tfs[lo:hi]
            if live is not None:
                keep = live[docs]
                docs, tfs = docs[keep], tfs[keep]
            if len(docs):
                df += len(docs)
                hits.append((s, docs, tfs))
        return df, hits

    def _score(self, p: Postings, hits: list[tuple[np.ndarray, np.ndarray, np.float32]]) -> tuple[np.ndarray, np.ndarray]:
        """Rows of one segment with a query term, and their scores (float32, summed in query-term order)."""
        docs = np.concatenate([d for d, _, _ in hits])
        tf = np.concatenate([t for _, t, _ in hits]).astype(np.float32)
        w = np.repeat(np.array([w for _, _, w in hits], dtype=np.float32), [len(d) for d, _, _ in hits])
        x = w * tf / (tf + (self._c0 + self._c1 * p.doc_len[docs].astype(np.float32)))
        # np.add.at adds in input order, so every path sums a row's terms in the same order and a
        # row scores bit-identically whatever segment holds it.
        if len(docs) * 8 < p.n_rows:  # few postings: sort them rather than scan a row-sized accumulator
            order = np.argsort(docs, kind="stable")
            docs = docs[order]
            first = np.concatenate(([True], docs[1:] != docs[:-1]))
            sc = np.zeros(int(first.sum()), dtype=np.float32)
            np.add.at(sc, np.cumsum(first) - 1, x[order])
            return docs[first], sc
        acc = np.zeros(p.n_rows, dtype=np.float32)
        np.add.at(acc, docs, x)
        cand = np.flatnonzero(acc)
        return cand, acc[cand]

    def search(self, tokens: list[str], k: int,
               allowed: list[np.ndarray | None] | None = None) -> list[tuple[int, int, float]]:
        """Top ``k`` (segment, local row, score), best first, score > 0, ties by (segment, row).

        ``allowed`` (one bool mask or None per segment) limits the rows returned, not the statistics.
        A token given twice counts twice, as in bm25s.
        """
        if allowed is not None and len(allowed) != len(self.parts):
            raise ValueError(f"allowed has {len(allowed)} masks for {len(self.parts)} segments")
        if k <= 0 or not self.n_live:
            return []
        hits: dict[int, list[tuple[np.ndarray, np.ndarray, np.float32]]] = {}
        for token, times in Counter(t for t in tokens if t).items():
            df, found = self._gather(token)
            w = np.float32(times * self.idf(df))
            for s, docs, tfs in found:
                hits.setdefault(s, []).append((docs, tfs, w))
        segs, rows, scores = [], [], []
        for s, seg_hits in hits.items():
            cand, sc = self._score(self.parts[s][0], seg_hits)
            mask = None if allowed is None else check_mask(self.parts[s][0], allowed[s], "allowed")
            if mask is not None:
                keep = mask[cand]
                cand, sc = cand[keep], sc[keep]
            segs.append(np.full(len(cand), s, dtype=np.int64))
            rows.append(cand.astype(np.int64))
            scores.append(sc)
        return _top(segs, rows, scores, k)


def _top(segs: list[np.ndarray], rows: list[np.ndarray], scores: list[np.ndarray],
         k: int) -> list[tuple[int, int, float]]:
    if not scores:
        return []
    seg, row, sc = np.concatenate(segs), np.concatenate(rows), np.concatenate(scores)
    if len(sc) > k:  # keep every row tied with the k-th score so ties break by (segment, row)
        kth = -np.partition(-sc, k - 1)[k - 1]
        keep = sc >= kth
        seg, row, sc = seg[keep], row[keep], sc[keep]
    order = np.lexsort((row, seg, -sc))[:k]
    return [(int(seg[i]), int(row[i]), float(sc[i])) for i in order]


def search(parts: list[Part], tokens: list[str], k: int,
           allowed: list[np.ndarray | None] | None = None) -> list[tuple[int, int, float]]:
    """One-off :meth:`SegmentedBM25.search`; build a :class:`SegmentedBM25` once per index version instead."""
    return SegmentedBM25(parts).search(tokens, k, allowed)
