"""BM25 over immutable segments, with N, avgdl and df taken across all live rows at query time.

bm25s bakes each segment's own IDF and avgdl into stored scores, so scores of two segments
cannot be compared. Here a segment stores only raw postings (term -> rows, term frequencies,
row lengths); :class:`SegmentedBM25` computes the statistics over the live rows of every
segment, the way Lucene does across segments, so a segmented index with tombstones ranks
exactly like one built from scratch on the surviving rows (segment files: qa.store.folder.postings).
Scoring is bm25s' ``lucene`` method:
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

from qa.store.folder.postings import FORMAT, K1, METHOD, B, Part, Postings, Vocab, check_mask

DENSE_MIN_ROWS = 32_768  # smaller segments are always scored in the sorted batch
SPAN_CACHE = 4096  # query words whose live df and posting spans are remembered per index version
BLOCK_ROWS = 1 << 18  # rows scored together: their accumulator and norms (2 MiB) stay in L2/L3 (benchmarks.md)
FLOOR_ROWS = 65_536  # postings of the rarest words read to bound the k-th best score

__all__ = ["B", "FORMAT", "K1", "METHOD", "Postings", "SegmentedBM25", "Vocab", "search"]


class SegmentedBM25:
    """Query-time view over segments for one index version; N and avgdl over live rows, computed once.

    ``parts`` pairs each segment with its live mask (False = deleted; None = all live). Deleted rows
    neither score nor count in N, avgdl or df.
    """

    def __init__(self, parts: list[Part], k1: float = K1, b: float = B):
        self.parts = [(p, check_mask(p, m, "live")) for p, m in parts]
        self.n_live = sum(p.n_rows if m is None else int(m.sum()) for p, m in self.parts)
        length = sum(
            int(np.asarray(p.doc_len if m is None else p.doc_len[m], dtype=np.int64).sum()) for p, m in self.parts
        )
        self.avgdl = length / self.n_live if self.n_live else 0.0
        self.k1, self.b = k1, b
        c0 = np.float32(k1 * (1 - b))
        c1 = np.float32(k1 * b / self.avgdl) if self.avgdl else np.float32(0)
        # Per row k1 * (1 - b + b * dl / avgdl), once per version: a posting then scores
        # w * tf / (tf + norm[row]). A deleted row's norm is +inf, so its postings add exactly 0.
        self._offsets = np.cumsum([0] + [p.n_rows for p, _ in self.parts], dtype=np.int64)
        self._norm = np.empty(int(self._offsets[-1]), dtype=np.float32)  # all segments, by global row
        for (p, live), off in zip(self.parts, self._offsets.tolist()):
            norm = self._norm[off : off + p.n_rows]
            norm[:] = c0 + c1 * np.asarray(p.doc_len).astype(np.float32)
            if live is not None:
                norm[~live] = np.inf
        self._spans: dict[str, tuple[int, list[tuple[int, int, int]]]] = {}

    def idf(self, df: int) -> float:
        return math.log(1 + (self.n_live - df + 0.5) / (df + 0.5))

    def _postings(self, token: str) -> tuple[int, list[tuple[int, int, int]]]:
        """Live df of ``token`` over all segments and its (segment, start, end) posting spans; cached."""
        got = self._spans.get(token)
        if got is None:
            df, spans = 0, []
            for s, (p, live) in enumerate(self.parts):
                t = p.vocab.find(token)
                if t < 0:
                    continue
                lo, hi = int(p.indptr[t]), int(p.indptr[t + 1])
                n = hi - lo if live is None else int(np.count_nonzero(live[p.docs[lo:hi]]))
                if n:
                    df, spans = df + n, spans + [(s, lo, hi)]
            if len(self._spans) >= SPAN_CACHE:
                self._spans.clear()
            got = self._spans[token] = (df, spans)
        return got

    def _dense(
        self, s: int, spans: list[tuple[int, int, np.float32]], allowed: np.ndarray | None, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Allowed rows of big segment ``s`` that may be among the ``k`` best, and their scores.

        Scores go into a row-sized accumulator one block of rows at a time, every word's postings
        for that block in turn, so the block's part of the accumulator and of the row norms stays in
        the CPU cache; hits are read only from :func:`_floor` up (together 0.63-0.67x the time of one pass
        per word at 3.3M rows; benchmarks.md). A row still sums its words in query order, as every path
        does, so the bits are the same.
        """
        p, off = self.parts[s][0], int(self._offsets[s])
        norm = self._norm[off : off + p.n_rows]
        acc = np.zeros(p.n_rows, dtype=np.float32)  # calloc: untouched pages cost nothing
        edges = np.arange(0, p.n_rows + BLOCK_ROWS, BLOCK_ROWS)
        cuts = [(lo + np.searchsorted(p.docs[lo:hi], edges)).tolist() for lo, hi, _ in spans]
        for b in range(len(edges) - 1):
            for (_, _, w), cut in zip(spans, cuts):
                if cut[b] < cut[b + 1]:
                    _accumulate(acc, norm, p, cut[b], cut[b + 1], w)
        floor = _floor(acc, p, spans, allowed, k)
        hit = acc >= floor if floor > 0 else acc > 0  # and flatnonzero of a bool is 10x faster than of the floats
        if allowed is not None:
            hit &= allowed
        rows = np.flatnonzero(hit)
        return rows, acc[rows]

    def _sparse(self, group: dict[int, list[tuple[int, int, np.float32]]]) -> tuple[np.ndarray, np.ndarray]:
        """Global rows (segment offset + row) of small segments hit by the query, and their scores.

        All small segments are scored in one batch: their postings, keyed by global row, are
        sorted (stable, so a row's terms keep query order) and summed, instead of a fixed cost per segment.
        """
        docs, tfs, offs, ws, lens = [], [], [], [], []
        for s, spans in group.items():
            p, off = self.parts[s][0], self._offsets[s]
            for lo, hi, w in spans:  # only list appends here: one numpy call per batch, not per span
                docs.append(p.docs[lo:hi])
                tfs.append(p.tfs[lo:hi])
                offs.append(off)
                ws.append(w)
                lens.append(hi - lo)
        key = np.concatenate(docs).astype(np.int64) + np.repeat(np.array(offs, dtype=np.int64), lens)
        tf = np.concatenate(tfs).astype(np.float32)
        x = np.repeat(np.array(ws, dtype=np.float32), lens) * tf / (tf + self._norm[key])
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.concatenate(([True], key[1:] != key[:-1]))
        sc = np.zeros(int(first.sum()), dtype=np.float32)
        np.add.at(sc, np.cumsum(first) - 1, x[order])
        return key[first], sc

    def _split(
        self, key: np.ndarray, sc: np.ndarray, masks: dict[int, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sorted global rows -> (segment, local row, score), dropping disallowed and deleted-only rows."""
        keep = sc > 0  # a row hit only through deleted postings sums to 0
        for s, mask in masks.items():  # each segment is one run of the sorted keys
            lo, hi = np.searchsorted(key, self._offsets[s : s + 2])
            keep[lo:hi] &= mask[key[lo:hi] - self._offsets[s]]
        key, sc = key[keep], sc[keep]
        seg = np.searchsorted(self._offsets, key, side="right") - 1
        return seg, key - self._offsets[seg], sc

    def search(
        self, tokens: list[str], k: int, allowed: list[np.ndarray | None] | None = None
    ) -> list[tuple[int, int, float]]:
        """Top ``k`` (segment, local row, score), best first, score > 0, ties by (segment, row).

        ``allowed`` (one bool mask or None per segment) limits the rows returned, not the statistics.
        A token given twice counts twice, as in bm25s.
        """
        if allowed is not None and len(allowed) != len(self.parts):
            raise ValueError(f"allowed has {len(allowed)} masks for {len(self.parts)} segments")
        masks = (
            [None] * len(self.parts)
            if allowed is None
            else [check_mask(p, m, "allowed") for (p, _), m in zip(self.parts, allowed)]
        )
        if k <= 0 or not self.n_live:
            return []
        by_seg: dict[int, list[tuple[int, int, np.float32]]] = {}
        for token, times in Counter(t for t in tokens if t).items():
            df, spans = self._postings(token)
            w = np.float32(times * self.idf(df))
            for s, lo, hi in spans:
                by_seg.setdefault(s, []).append((lo, hi, w))
        # Big segment hit by many postings: one pass over a row-sized accumulator. Small segments, or
        # few postings: sorted together in one batch, so 30 daily segments cost about what one does.
        small = {
            s: sp
            for s, sp in by_seg.items()
            if self.parts[s][0].n_rows < DENSE_MIN_ROWS
            or sum(hi - lo for lo, hi, _ in sp) * 8 < self.parts[s][0].n_rows
        }
        found = [
            (np.full(len(r), s), r, sc)
            for s, sp in by_seg.items()
            if s not in small
            for r, sc in [self._dense(s, sp, masks[s], k)]
        ]
        if small:
            found.append(self._split(*self._sparse(small), {s: masks[s] for s in small if masks[s] is not None}))
        segs, rows, scores = [], [], []
        for seg, row, sc in found:
            seg, row, sc = _best(seg, row, sc, k)
            segs.append(seg), rows.append(row), scores.append(sc)
        if not segs:
            return []
        seg, row, sc = _best(np.concatenate(segs), np.concatenate(rows), np.concatenate(scores), k)
        order = np.lexsort((row, seg, -sc))[:k]
        return [(int(seg[i]), int(row[i]), float(sc[i])) for i in order]


def _accumulate(acc: np.ndarray, norm: np.ndarray, p: Postings, lo: int, hi: int, w: np.float32) -> None:
    """Add ``w * tf / (tf + norm[row])`` of postings ``lo:hi`` to their rows of ``acc``."""
    d = p.docs[lo:hi].astype(np.intp)  # converted once: NumPy would convert int32 indexes for each use
    # w * tf / (tf + norm) in place, two arrays instead of five: 0.88x the time at 3M rows, same bits
    x = p.tfs[lo:hi].astype(np.float32)
    den = norm[d]
    den += x
    x *= w
    x /= den
    np.add.at(acc, d, x)  # adds in order: every path sums a row's words in query order


def _floor(
    acc: np.ndarray, p: Postings, spans: list[tuple[int, int, np.float32]], allowed: np.ndarray | None, k: int
) -> np.float32:
    """A score the ``k`` best allowed rows all reach (0 when unknown): the k-th best final score
    among the rows of the rarest words. Those are final scores of real rows, so the k-th best
    over all rows is at least this; reading only rows at or above it skips most of the hits."""
    seen = None  # rows of the rarest words so far, each once
    for lo, hi, _ in sorted(spans, key=lambda sp: sp[1] - sp[0]):
        if (0 if seen is None else len(seen)) + hi - lo > FLOOR_ROWS:
            break
        seen = np.asarray(p.docs[lo:hi]) if seen is None else np.union1d(seen, p.docs[lo:hi])
        scores = acc[seen] if allowed is None else acc[seen[allowed[seen]]]
        if len(scores) >= k:
            return np.partition(scores, len(scores) - k)[len(scores) - k]
    return np.float32(0)


def _best(seg: np.ndarray, row: np.ndarray, sc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` best entries plus every entry tied with the k-th, so ties can break by (segment, row)."""
    if len(sc) > k:
        keep = sc >= np.partition(sc, len(sc) - k)[len(sc) - k]
        seg, row, sc = seg[keep], row[keep], sc[keep]
    return seg, row, sc


def search(
    parts: list[Part], tokens: list[str], k: int, allowed: list[np.ndarray | None] | None = None
) -> list[tuple[int, int, float]]:
    """One-off :meth:`SegmentedBM25.search`; build a :class:`SegmentedBM25` once per index version instead."""
    return SegmentedBM25(parts).search(tokens, k, allowed)
