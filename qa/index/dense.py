"""TEMPORARY stand-in until the seg-dense branch lands."""
from __future__ import annotations
import json
from pathlib import Path
import numpy as np

def write_dense(folder, vectors, threshold=100_000):
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    info = {"type": "IndexFlatIP", "rows": int(len(vectors))}
    (folder / "dense.json").write_text(json.dumps(info))
    return info

class DenseSegment:
    def __init__(self, v): self.v = v; self.dim = v.shape[1] if v.ndim == 2 else 0
    @classmethod
    def load(cls, folder): return cls(np.load(Path(folder) / "vectors.npy", mmap_mode="r"))
    def __len__(self): return len(self.v)
    def vectors(self, rows): return np.asarray(self.v[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
    def search(self, q, k, allowed=None):
        s = np.asarray(self.v) @ q
        ok = np.ones(len(s), dtype=bool)
        if isinstance(allowed, tuple): ok[:] = False; ok[allowed[0]:allowed[1]] = True
        elif allowed is not None: ok = allowed.copy()
        rows = np.flatnonzero(ok)
        top = rows[np.argsort(-s[rows], kind="stable")[:k]]
        return top.astype(np.int64), s[top].astype(np.float32)
