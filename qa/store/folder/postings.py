"""One BM25 segment on disk: raw postings (term -> rows, term frequencies) and row lengths.

A segment is immutable. It stores no scores, only what every BM25 statistic is computed from,
so qa.store.folder.bm25 can score all segments with statistics taken across them. Files, all plain
and readable without pickle: ``indptr/docs/tfs/doc_len.npy``, ``vocab.txt`` (sorted tokens,
one a line), ``vocab_offsets.npy`` and ``bm25.json`` (format, method, k1, b, counts).

    >>> p = Postings.build([["b", "a"], ["a", "a"]])
    >>> list(p.vocab), p.indptr.tolist(), p.docs.tolist(), p.tfs.tolist(), p.doc_len.tolist()
    (['a', 'b'], [0, 2, 3], [0, 1, 0], [1, 2, 1], [2, 2])
    >>> m = Postings.merge([(p, np.array([False, True])), (p, None)])  # drop row 0 of the first part
    >>> m.n_rows, list(m.vocab), m.docs.tolist()
    (3, ['a', 'b'], [0, 1, 2, 1])
"""

from __future__ import annotations

import bisect
import json
import mmap as _mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexFormatError

FORMAT = 1
METHOD = "lucene"  # the scoring the files are meant for (qa.store.folder.bm25), recorded in bm25.json
K1, B = 1.2, 0.75
TF_MAX = np.iinfo(np.uint16).max
FIND_CACHE = 4096  # remembered token lookups per segment
BUILD_BLOCK = 50_000  # rows per build block: bounds the temporary (term, row) key arrays
META, VOCAB, VOCAB_OFFSETS = "bm25.json", "vocab.txt", "vocab_offsets.npy"
ARRAYS = ("indptr", "docs", "tfs", "doc_len")

Part = tuple["Postings", "np.ndarray | None"]


class Vocab(Sequence):
    """Sorted tokens (term id -> token) kept as one UTF-8 text, one token a line, plus start offsets.

    Loading costs nothing (both are memory-mapped) and :meth:`find` bisects the bytes, so no
    dict of a 1-2 million word vocabulary is built when a segment is opened.
    """

    def __init__(self, blob: bytes | _mmap.mmap, offsets: np.ndarray):
        self.blob, self.offsets = blob, offsets
        self._off = memoryview(offsets)  # its items are Python ints: 4x faster to index than numpy's
        self._found: dict[str, int] = {}  # recent lookups: questions reuse words, and there are many segments

    @classmethod
    def from_sorted(cls, tokens: list[str]) -> "Vocab":
        enc = [t.encode("utf-8", "surrogatepass") for t in tokens]
        offsets = np.zeros(len(enc) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, enc), np.int64, len(enc)) + 1, out=offsets[1:])
        return cls(b"".join(e + b"\n" for e in enc), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _raw(self, i: int) -> bytes:
        return self.blob[self._off[i] : self._off[i + 1] - 1]  # -1: the "\n" after each token

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self._raw(i % len(self)).decode("utf-8", "surrogatepass")

    def __iter__(self):
        return iter(self.tokens())

    def find(self, token: str) -> int:
        """Term id of ``token``, or -1 when the segment never saw it."""
        found = self._found.get(token)
        if found is None:
            key = token.encode("utf-8", "surrogatepass")  # UTF-8 byte order is code point order
            i = bisect.bisect_left(range(len(self)), key, key=self._raw)
            found = i if i < len(self) and self._raw(i) == key else -1
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
        blocks = [cls._build_block(tokens[i : i + BUILD_BLOCK]) for i in range(0, len(tokens), BUILD_BLOCK)]
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
        return cls(
            Vocab.from_sorted([words[i] for i in order]),
            indptr,
            (key % max(n, 1)).astype(np.int32),
            np.minimum(tf, TF_MAX).astype(np.uint16),
            lens.astype(np.int32),
        )

    # --- disk ---------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Plain .npy arrays, ``vocab.txt`` (one token a line) and ``bm25.json``, written last."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", np.ascontiguousarray(getattr(self, name)), allow_pickle=False)
        np.save(folder / VOCAB_OFFSETS, np.asarray(self.vocab.offsets, dtype=np.int64), allow_pickle=False)
        (folder / VOCAB).write_bytes(self.vocab.blob[:])
        write_meta(folder, rows=self.n_rows, terms=len(self.vocab), postings=int(len(self.docs)))

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
            # np.asarray: plain read-only views of the maps; np.memmap's Python-level slicing costs
            # microseconds per slice, and a query slices every segment for every word.
            arrays = {
                n: np.asarray(np.load(folder / f"{n}.npy", mmap_mode="r" if mmap else None, allow_pickle=False))
                for n in (*ARRAYS, "vocab_offsets")
            }
            with open(folder / VOCAB, "rb") as f:  # an empty file cannot be mapped
                empty = not (folder / VOCAB).stat().st_size
                blob = f.read() if empty or not mmap else _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ)
        except (OSError, ValueError) as e:
            raise IndexFormatError(f"BM25 段 {folder} 已损坏（{e}）。请重建索引。") from e
        p = cls(Vocab(blob, arrays.pop("vocab_offsets")), **arrays)
        counts = meta.get("counts", {})
        if (
            len(p.indptr) != len(p.vocab) + 1
            or len(p.docs) != len(p.tfs)
            or int(p.indptr[-1]) != len(p.docs)
            or p.n_rows != counts.get("rows")
            or int(p.vocab.offsets[-1]) != len(blob)
        ):
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
        masks = [check_mask(p, m, "keep") for p, m in parts]
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
        doc_len = np.concatenate(
            [np.asarray(p.doc_len) if m is None else np.asarray(p.doc_len)[m] for (p, _), m in zip(parts, masks)]
            or [np.zeros(0, np.int32)]
        )
        vocab = Vocab.from_sorted([union[i] for i in np.flatnonzero(used)])
        return cls(vocab, indptr, docs_out, tfs_out, doc_len.astype(np.int32))


def write_meta(folder: Path, *, rows: int, terms: int, postings: int) -> None:
    """``bm25.json``, written last: a folder without it is incomplete."""
    meta = {
        "format": FORMAT,
        "method": METHOD,
        "k1": K1,
        "b": B,
        "counts": {"rows": rows, "terms": terms, "postings": postings},
    }
    (Path(folder) / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def take(p: Postings, order: np.ndarray) -> Postings:
    """``p`` with its rows in a new order: new row i is old row ``order[i]`` (each row once).

    A merge concatenates segments; this re-sorts the merged rows by issue date.

    >>> q = take(Postings.build([["a"], ["b", "a"]]), np.array([1, 0]))
    >>> q.docs.tolist(), q.doc_len.tolist()
    ([0, 1, 0], [2, 1])
    """
    order = np.asarray(order, dtype=np.int64)
    new_of = np.empty(p.n_rows, dtype=np.int64)
    new_of[order] = np.arange(len(order))
    term = np.repeat(np.arange(len(p.vocab), dtype=np.int64), np.diff(p.indptr))
    docs = new_of[np.asarray(p.docs)]
    by_term = np.lexsort((docs, term))  # term-major again, rows ascending within a term
    return Postings(
        p.vocab,
        np.asarray(p.indptr).copy(),
        docs[by_term].astype(np.int32),
        np.asarray(p.tfs)[by_term],
        np.asarray(p.doc_len)[order].astype(np.int32),
    )


def check_mask(p: Postings, m: np.ndarray | None, what: str) -> np.ndarray | None:
    """``m`` as a bool array of one entry per row of ``p`` (None stays None); ValueError otherwise."""
    if m is None:
        return None
    m = np.asarray(m)
    if m.dtype != bool or m.shape != (p.n_rows,):
        raise ValueError(f"{what} mask must be bool of shape ({p.n_rows},), got {m.dtype} {m.shape}")
    return m
