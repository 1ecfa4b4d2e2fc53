"""TEMPORARY stand-in until the seg-bm25 branch lands."""
from __future__ import annotations
import json
from dataclasses import dataclass
from pathlib import Path
import numpy as np

K1, B = 1.2, 0.75

@dataclass
class Postings:
    vocab: list
    indptr: np.ndarray
    docs: np.ndarray
    tfs: np.ndarray
    doc_len: np.ndarray

    @classmethod
    def build(cls, tokens):
        vocab = sorted({t for ts in tokens for t in ts})
        ix = {t: i for i, t in enumerate(vocab)}
        pairs = {}
        for d, ts in enumerate(tokens):
            for t in ts:
                pairs[(ix[t], d)] = pairs.get((ix[t], d), 0) + 1
        keys = sorted(pairs)
        terms = np.array([k[0] for k in keys], dtype=np.int64)
        docs = np.array([k[1] for k in keys], dtype=np.int32)
        tfs = np.array([pairs[k] for k in keys], dtype=np.int32)
        indptr = np.searchsorted(terms, np.arange(len(vocab) + 1)).astype(np.int64)
        return cls(vocab, indptr, docs, tfs, np.array([len(t) for t in tokens], dtype=np.int32))

    def save(self, folder):
        folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False))
        for n in ("indptr", "docs", "tfs", "doc_len"):
            np.save(folder / f"{n}.npy", getattr(self, n))

    @classmethod
    def load(cls, folder, mmap=True):
        folder = Path(folder)
        return cls(json.loads((folder / "vocab.json").read_text()), *(np.load(folder / f"{n}.npy") for n in ("indptr", "docs", "tfs", "doc_len")))

    def rows_tokens(self):
        out = [[] for _ in range(len(self.doc_len))]
        for t in range(len(self.vocab)):
            for d, f in zip(self.docs[self.indptr[t]:self.indptr[t+1]], self.tfs[self.indptr[t]:self.indptr[t+1]]):
                out[d] += [self.vocab[t]] * int(f)
        return out

    @classmethod
    def merge(cls, parts):
        toks = []
        for p, m in parts:
            rt = p.rows_tokens()
            toks += [t for i, t in enumerate(rt) if m is None or m[i]]
        return cls.build(toks)

    def take(self, order):
        rt = self.rows_tokens()
        return Postings.build([rt[i] for i in order])


class SegmentedBM25:
    def __init__(self, parts):
        self.parts = parts
        n = sum(int(len(p.doc_len) if m is None else m.sum()) for p, m in parts)
        tot = sum(int(p.doc_len.sum() if m is None else p.doc_len[m].sum()) for p, m in parts)
        self.n, self.avgdl = n, (tot / n if n else 1.0)

    def search(self, tokens, k, allowed=None):
        ids = []
        for p, m in self.parts:
            ix = {t: i for i, t in enumerate(p.vocab)}
            ids.append([ix.get(t) for t in tokens])
        out = []
        scores = [np.zeros(len(p.doc_len), dtype=np.float64) for p, _ in self.parts]
        for qi, t in enumerate(tokens):
            df = 0
            for (p, m), tid in zip(self.parts, ids):
                if tid[qi] is None: continue
                d = p.docs[p.indptr[tid[qi]]:p.indptr[tid[qi]+1]]
                df += len(d) if m is None else int(m[d].sum())
            if df == 0: continue
            idf = np.log(1 + (self.n - df + 0.5) / (df + 0.5))
            for s, ((p, m), tid) in enumerate(zip(self.parts, ids)):
                if tid[qi] is None: continue
                a, b = p.indptr[tid[qi]], p.indptr[tid[qi]+1]
                d, f = p.docs[a:b], p.tfs[a:b].astype(np.float64)
                dl = p.doc_len[d]
                scores[s][d] += idf * f / (f + K1 * (1 - B + B * dl / self.avgdl))
        for s, ((p, m), sc) in enumerate(zip(self.parts, scores)):
            ok = sc > 0
            if m is not None: ok &= m
            if allowed is not None and allowed[s] is not None: ok &= allowed[s]
            out += [(s, int(r), float(sc[r])) for r in np.flatnonzero(ok)]
        out.sort(key=lambda x: (-x[2], x[0], x[1]))
        return out[:k]
