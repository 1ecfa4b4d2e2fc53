"""BM25 over immutable segments, with N, avgdl and df taken across all live rows at query time.

bm25s bakes each segment's own IDF and avgdl into stored scores, so scores of two segments
cannot be compared. Here a segment stores only raw postings (term -> rows, term frequencies,
row lengths); :class:`SegmentedBM25` computes the statistics over the live rows of every
segment, the way Lucene does across segments, so a segmented index with tombstones ranks
exactly like one built from scratch on the surviving rows. Scoring is bm25s' ``lucene`` method:
``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` times ``tf / (tf + k1 * (1 - b + b * dl / avgdl))``
(bm25s' lucene variant has no ``(k1 + 1)`` factor).

A tiny worked example (rows 0 and 1 contain 「c」; row 1 has it twice)::

    >>> p = Postings.build([["a", "c"], ["b", "c", "c"], ["a"]])
    >>> list(p.vocab), p.vocab.find("c"), p.vocab.find("zz")
    (['a', 'b', 'c'], 2, -1)
    >>> [(seg, row, round(s, 4)) for seg, row, s in search([(p, None)], ["c"], k=5)]
    [(0, 1, 0.2575), (0, 0, 0.2136)]
    >>> search([(p, np.array([True, False, True]))], ["c"], k=5)[0][:2]   # row 1 deleted
    (0, 0)
"""

from __future__ import annotations

import bisect
import json
import math
import mmap as _mmap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexFormatError

FORMAT = 1
METHOD = "lucene"
K1, B = 1.2, 0.75
TF_MAX = np.iinfo(np.uint16).max
FIND_CACHE = 4096  # remembered token lookups per segment
BUILD_BLOCK = 50_000  # rows per build block: bounds the temporary (term, row) key arrays
META, VOCAB, VOCAB_OFFSETS = "bm25.json", "vocab.txt", "vocab_offsets.npy"
ARRAYS = ("indptr", "docs", "tfs", "doc_len")

Part = tuple["Postings", "np.ndarray | None"]


class _Keys:
    """The vocabulary as a sequence of UTF-8 ``bytes``, for ``bisect`` (UTF-8 order = code point order)."""

    def __init__(self, blob: bytes | _mmap.mmap, offsets: np.ndarray):
        self.blob, self.offsets = blob, memoryview(offsets)  # memoryview items are ints, 4x faster than numpy's

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.offsets[i]:self.offsets[i + 1] - 1]  # -1: the "\n" after each token


class Vocab(Sequence):
    """Sorted tokens (term id -> token) kept as one UTF-8 text, one token a line, plus start offsets.

    Loading costs nothing (both are memory-mapped) and :meth:`find` bisects the bytes, so no
    dict of a 1-2 million word vocabulary is built when a segment is opened.
    """

    def __init__(self, blob: bytes | _mmap.mmap, offsets: np.ndarray):
        self.blob, self.offsets = blob, offsets
        self._keys = _Keys(blob, offsets)
        self._found: dict[str, int] = {}  # recent lookups: questions reuse words, and there are many segments

    @classmethod
    def from_sorted(cls, tokens: list[str]) -> "Vocab":
        enc = [t.encode("utf-8", "surrogatepass") for t in tokens]
        offsets = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, enc), np.int64, len(enc)) + 1, out=offsets[1:])
        return cls(b"".join(e + b"\n" for e in enc), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self._keys[i % len(self)].decode("utf-8", "surrogatepass")

    def __iter__(self):
        return iter(self.tokens())

    def find(self, token: str) -> int:
        """Term id of ``token``, or -1 when the segment never saw it."""
        found = self._found.get(token)
        if found is None:
            key = token.encode("utf-8", "surrogatepass")
            i = bisect.bisect_left(self._keys, key)
            found = i if i < len(self) and self._keys[i] == key else -1
            if len(self._found) >= FIND_CACHE:
                self._found.clear()
            self._found[token] = found
        return found

    def tokens(self) -> list[str]:
        """All tokens as a list (merge needs them); one split when no token contains a newline."""
        text = self.blob[:].decode("utf-8", "surrogatepass")
        if text.count("\n") == len(self):
            return text.split("\n")[:-1]
        return [self[i] for i in range(len(self))]


@dataclass
class Postings:
    """One segment's inverted index, term-major; rows are local (0..n_rows-1), ascending per term."""

    vocab: Vocab
    indptr: np.ndarray  # int64, len(vocab) + 1: term t's postings are docs/tfs[indptr[t]:indptr[t+1]]
    docs: np.ndarray  # int32 local rows
    tfs: np.ndarray  # uint16 term frequencies, clipped at 65535
    doc_len: np.ndarray  # int32 tokens per row (all tokens, as bm25s counts them)

    @property
    def n_rows(self) -> int:
        return len(self.doc_len)

    @classmethod
    def build(cls, tokens: list[list[str]]) -> "Postings":
        """Postings of ``tokens`` (row i = tokens[i]); large inputs are built in blocks and merged."""
        if len(tokens) <= BUILD_BLOCK:
            return cls._build_block(tokens)
        blocks = [cls._build_block(tokens[i:i + BUILD_BLOCK]) for i in range(0, len(tokens), BUILD_BLOCK)]
        return cls.merge([(b, None) for b in blocks])

    @classmethod
    def _build_block(cls, tokens: list[list[str]]) -> "Postings":
        n = len(tokens)
        lens = np.fromiter(map(len, tokens), np.int64, n)
        ids: dict[str, int] = {}  # first-seen ids in one pass, then renumbered into sorted order
        first = np.fromiter((ids.setdefault(w, len(ids)) for row in tokens for w in row), np.int64, int(lens.sum()))
        words = list(ids)
        order = sorted(range(len(words)), key=words.__getitem__)
        rank = np.empty(len(words), dtype=np.int64)
        rank[order] = np.arange(len(words))
        # One sort of (term, row) keys gives term-major postings with rows ascending and the counts.
        rows = np.repeat(np.arange(n, dtype=np.int64), lens)
        key, tf = np.unique(rank[first] * max(n, 1) + rows, return_counts=True)
        indptr = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(np.bincount(key // max(n, 1), minlength=len(words)), out=indptr[1:])
        return cls(Vocab.from_sorted([words[i] for i in order]), indptr, (key % max(n, 1)).astype(np.int32),
                   np.minimum(tf, TF_MAX).astype(np.uint16), lens.astype(np.int32))

    # --- disk ---------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Plain .npy arrays, ``vocab.txt`` (one token a line) and ``bm25.json``, written last."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", np.ascontiguousarray(getattr(self, name)), allow_pickle=False)
        np.save(folder / VOCAB_OFFSETS, np.asarray(self.vocab.offsets, dtype=np.int64), allow_pickle=False)
        (folder / VOCAB).write_bytes(self.vocab.blob[:])
        meta = {"format": FORMAT, "method": METHOD, "k1": K1, "b": B,
                "counts": {"rows": self.n_rows, "terms": len(self.vocab), "postings": int(len(self.docs))}}
        (folder / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> "Postings":
        """Open a saved segment; arrays and vocabulary are memory-mapped unless ``mmap`` is False."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise IndexFormatError(f"BM25 段 {folder} 缺少或无法读取 {META}（{e}）。请重建索引。") from e
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            got = meta.get("format") if isinstance(meta, dict) else None
            raise IndexFormatError(f"BM25 段 {folder} 的格式版本是 {got}，本程序需要 {FORMAT}。请重建索引。")
        try:
            arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
                      for n in (*ARRAYS, "vocab_offsets")}
            with open(folder / VOCAB, "rb") as f:
                size = f.seek(0, 2)
                blob = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ) if mmap and size else f.seek(0) or f.read()
        except (OSError, ValueError) as e:
            raise IndexFormatError(f"BM25 段 {folder} 已损坏（{e}）。请重建索引。") from e
        p = cls(Vocab(blob, arrays.pop("vocab_offsets")), **arrays)
        counts = meta.get("counts", {})
        if (len(p.indptr) != len(p.vocab) + 1 or len(p.docs) != len(p.tfs) or int(p.indptr[-1]) != len(p.docs)
                or p.n_rows != counts.get("rows") or len(p.vocab.offsets) and int(p.vocab.offsets[-1]) != len(blob)):
            raise IndexFormatError(f"BM25 段 {folder} 的数组长度互相矛盾，文件已损坏。请重建索引。")
        return p

    # --- merge --------------------------------------------------------------------------------
    @classmethod
    def merge(cls, parts: list[Part]) -> "Postings":
        """Rows of ``parts`` in order, only where the keep-mask is True (None = all), renumbered.

        No re-tokenizing and no sort of postings: every part is already term-major and the
        union vocabulary keeps each part's term order, so each kept posting goes straight to
        ``new_indptr[term] + (postings of this term in earlier parts) + (rank within the part)``.
        """
        masks = [_mask(p, m, "keep") for p, m in parts]
        words = [p.vocab.tokens() for p, _ in parts]
        union = sorted(set().union(*words))
        pos = {w: i for i, w in enumerate(union)}
        maps = [np.fromiter(map(pos.__getitem__, w), np.int64, len(w)) for w in words]
        kept = []  # per part: kept rows renumbered, tfs, postings per term, first kept posting per term
        total = np.zeros(len(union), dtype=np.int64)
        row0 = 0
        for (p, _), m, tmap in zip(parts, masks, maps):
            docs = np.asarray(p.docs)
            live = np.ones(len(docs), bool) if m is None else m[docs]
            c = np.zeros(len(docs) + 1, dtype=np.int64)
            np.cumsum(live, out=c[1:])
            cnt = c[p.indptr[1:]] - c[p.indptr[:-1]]
            renum = np.arange(p.n_rows, dtype=np.int64) if m is None else np.cumsum(m) - 1
            kept.append((renum[docs[live]] + row0, np.asarray(p.tfs)[live], cnt, c[p.indptr[:-1]]))
            total[tmap] += cnt
            row0 += p.n_rows if m is None else int(m.sum())
        used = total > 0  # terms seen only in deleted rows disappear
        final = np.cumsum(used) - 1
        indptr = np.zeros(int(used.sum()) + 1, dtype=np.int64)
        np.cumsum(total[used], out=indptr[1:])
        cursor = indptr[:-1].copy()
        docs_out = np.empty(int(indptr[-1]), dtype=np.int32)
        tfs_out = np.empty(int(indptr[-1]), dtype=np.uint16)
        for tmap, (rows, tfs, cnt, start) in zip(maps, kept):
            nz = cnt > 0  # terms left without postings share a final id with a neighbour: skip them
            fid, cnt = final[tmap[nz]], cnt[nz]
            dest = np.repeat(cursor[fid] - start[nz], cnt) + np.arange(len(rows), dtype=np.int64)
            docs_out[dest], tfs_out[dest] = rows, tfs
            cursor[fid] += cnt
        doc_len = np.concatenate([np.asarray(p.doc_len) if m is None else np.asarray(p.doc_len)[m]
                                  for (p, _), m in zip(parts, masks)] or [np.zeros(0, np.int32)])
        vocab = Vocab.from_sorted([union[i] for i in np.flatnonzero(used)])
        return cls(vocab, indptr, docs_out, tfs_out, doc_len.astype(np.int32))


def _mask(p: Postings, m: np.ndarray | None, what: str) -> np.ndarray | None:
    if m is None:
        return None
    m = np.asarray(m)
    if m.dtype != bool or m.shape != (p.n_rows,):
        raise ValueError(f"{what} mask must be bool of shape ({p.n_rows},), got {m.dtype} {m.shape}")
    return m


class SegmentedBM25:
    """Query-time view over segments for one index version; N and avgdl over live rows, computed once.

    ``parts`` pairs each segment with its live mask (False = deleted; None = all live). Deleted rows
    neither score nor count in N, avgdl or df.
    """

    def __init__(self, parts: list[Part], k1: float = K1, b: float = B):
        self.parts = [(p, _mask(p, m, "live")) for p, m in parts]
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
        acc: dict[int, np.ndarray] = {}
        touched: dict[int, list[np.ndarray]] = {}
        for token, times in Counter(t for t in tokens if t).items():
            df, hits = self._gather(token)
            w = np.float32(times * self.idf(df))
            for s, docs, tfs in hits:
                p = self.parts[s][0]
                if s not in acc:
                    acc[s] = np.zeros(p.n_rows, dtype=np.float32)  # calloc: only touched pages cost
                tf = tfs.astype(np.float32)
                acc[s][docs] += w * tf / (tf + (self._c0 + self._c1 * p.doc_len[docs].astype(np.float32)))
                touched.setdefault(s, []).append(docs)
        segs, rows, scores = [], [], []
        for s, a in acc.items():
            ds = touched[s]
            # Few postings: the touched rows themselves; many: one scan of the accumulator is cheaper.
            if sum(map(len, ds)) * 8 < len(a):
                cand = np.sort(np.concatenate(ds))
                cand = cand[np.concatenate(([True], cand[1:] != cand[:-1]))]
            else:
                cand = np.flatnonzero(a)
            mask = None if allowed is None else _mask(self.parts[s][0], allowed[s], "allowed")
            if mask is not None:
                cand = cand[mask[cand]]
            sc = a[cand]
            cand, sc = cand[sc > 0], sc[sc > 0]
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
