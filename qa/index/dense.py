"""Dense vectors of one immutable index segment: exact search when small, compressed FAISS when large.

Files in the segment folder: ``vectors.npy`` (every row, float16, opened memory-mapped so rows
cost no RSS until touched), ``dense.json`` (what ``write_dense`` returns) and, for large segments
only, ``dense.faiss`` (IVF with 8-bit scalar quantizer codes, memory-mapped on load). A compressed
search fetches ``rerank`` candidates, then scores them again exactly against ``vectors.npy``, so
every score returned is the exact inner product with the stored vector and results of several
segments merge by score. Filters: a boolean row mask (a FAISS bitmap selector) or a ``(lo, hi)``
row range (rows are sorted by issue date, so a date range is a row range); small allowed sets and
starved compressed searches are scored exactly instead.

>>> import tempfile
>>> v = np.eye(4, dtype=np.float32)
>>> folder = Path(tempfile.mkdtemp())
>>> write_dense(folder, v)["type"]
'flat'
>>> seg = DenseSegment.load(folder)
>>> rows, scores = seg.search(v[2], 2, allowed=(1, 4))
>>> rows.tolist(), scores.tolist()
([2, 1], [1.0, 0.0])
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import faiss
import numpy as np

from ..errors import BadInput

VECTORS, INDEX, META = "vectors.npy", "dense.faiss", "dense.json"
EXACT_MAX_ROWS = 100_000  # below this a segment keeps exact search only (see bench/bench_dense.py)
EXACT_ALLOWED = 20_000  # filters allowing at most this many rows are scored exactly
TRAIN_MAX = 150_000  # k-means / quantizer training sample: bounds build time
RERANK = 100  # compressed candidates scored again exactly
SEED = 1234
BLOCK = 65_536  # rows per exact-scoring block: bounds temporary memory
KINDS = ("flat", "ivf_sq8", "ivf_pq", "hnsw_sq")
DEFAULT_KIND = "ivf_sq8"

Allowed = np.ndarray | tuple[int, int] | None


def _nlist(n: int) -> int:
    """IVF lists: a power of two near 2*sqrt(n), 256..4096 (about 250..750 rows a list)."""
    return int(min(4096, max(256, 2 ** round(math.log2(2 * math.sqrt(max(n, 1)))))))


def _train_sample(vectors: np.ndarray, seed: int) -> np.ndarray:
    n = len(vectors)
    if n <= TRAIN_MAX:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    rows = np.sort(np.random.default_rng(seed).choice(n, TRAIN_MAX, replace=False))
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def _build(kind: str, vectors: np.ndarray, seed: int) -> tuple[faiss.Index, dict]:
    """Train (on a fixed-seed sample) and fill one compressed index; return it and its search params."""
    n, dim = vectors.shape
    if kind == "hnsw_sq":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        params = {"M": 32, "efConstruction": 80, "efSearch": 128, "rerank": RERANK}
    else:
        nlist = _nlist(n)
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf_sq8":
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
            params = {"nlist": nlist, "nprobe": max(16, nlist // 64), "rerank": RERANK}
        elif kind == "ivf_pq":
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, dim // 8, 8, faiss.METRIC_INNER_PRODUCT)
            index.pq.cp.seed = seed
            params = {"nlist": nlist, "nprobe": max(16, nlist // 64), "m": dim // 8, "rerank": RERANK}
        else:
            raise BadInput(f"未知的向量索引类型「{kind}」：可用 {'、'.join(KINDS)}。")
        index.cp.seed = seed  # the faiss wrapper keeps ``quantizer`` alive with the index
    index.train(_train_sample(vectors, seed))
    for start in range(0, n, BLOCK * 4):
        index.add(np.ascontiguousarray(vectors[start : start + BLOCK * 4], dtype=np.float32))
    return index, params


def _check_vectors(vectors: np.ndarray) -> np.ndarray:
    if vectors.ndim != 2 or vectors.dtype.kind != "f":
        raise BadInput(f"向量必须是二维浮点数组，得到 {vectors.dtype} 形状 {vectors.shape}。")
    for start in range(0, len(vectors), BLOCK):
        if not np.isfinite(vectors[start : start + BLOCK]).all():
            raise BadInput(f"向量第 {start}–{start + BLOCK - 1} 行含 NaN 或无穷大，无法建索引。")
    return vectors


def write_dense(folder: Path, vectors: np.ndarray, *, threshold: int = EXACT_MAX_ROWS,
                kind: str | None = None, seed: int = SEED) -> dict:
    """Write one segment's vector files into ``folder``; return what meta should record.

    ``vectors`` are L2-normalised, row ``i`` = local row ``i``. Below ``threshold`` rows the
    segment is searched exactly; from it on, ``kind`` (default ``ivf_sq8``) is built. The same
    vectors always give the same files (fixed-seed training, ordered adds).
    """
    vectors = _check_vectors(np.asarray(vectors))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n, dim = vectors.shape
    kind = kind or ("flat" if n < threshold else DEFAULT_KIND)
    if kind not in KINDS:
        raise BadInput(f"未知的向量索引类型「{kind}」：可用 {'、'.join(KINDS)}。")
    if n == 0:
        np.save(folder / VECTORS, np.zeros((0, dim), np.float16))
        kind = "flat"
    else:
        out = np.lib.format.open_memmap(folder / VECTORS, mode="w+", dtype=np.float16, shape=(n, dim))
        for start in range(0, n, BLOCK):
            out[start : start + BLOCK] = vectors[start : start + BLOCK]
        out.flush()
        del out
    params: dict = {}
    if kind != "flat":
        index, params = _build(kind, vectors, seed)
        faiss.write_index(index, str(folder / INDEX))
    meta = {"type": kind, "rows": int(n), "dim": int(dim), "dtype": "float16", "params": params}
    (folder / META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    return meta


def _read_index(path: Path) -> faiss.Index:
    """Memory-map what the index type allows: IVF lists (IO_FLAG_MMAP), flat codes (IO_FLAG_MMAP_IFC)."""
    for flags in (faiss.IO_FLAG_MMAP, faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY):
        try:
            return faiss.read_index(str(path), flags)
        except RuntimeError:
            continue
    return faiss.read_index(str(path))


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` by score, ties by row (deterministic)."""
    if len(rows) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order].astype(np.int64), scores[order].astype(np.float32)


class DenseSegment:
    """One segment's vectors, loaded memory-mapped; ``search`` returns local rows and exact scores."""

    def __init__(self, meta: dict, vectors: np.ndarray, index: faiss.Index | None,
                 exact_allowed: int = EXACT_ALLOWED):
        self.meta, self._vectors, self._index = meta, vectors, index
        self.kind, self.dim, self.n = meta["type"], int(meta["dim"]), int(meta["rows"])
        self.params = dict(meta.get("params") or {})
        self.exact_allowed = exact_allowed

    @classmethod
    def load(cls, folder: Path, exact_allowed: int = EXACT_ALLOWED) -> DenseSegment:
        """Open a folder written by ``write_dense``; filters allowing <= ``exact_allowed`` rows are scored exactly."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"向量段 {folder / META} 缺失或损坏：{exc}") from exc
        if meta["rows"]:
            vectors = np.load(folder / VECTORS, mmap_mode="r")
        else:
            vectors = np.zeros((0, meta["dim"]), np.float16)
        if vectors.shape != (meta["rows"], meta["dim"]):
            raise BadInput(f"向量段 {folder / VECTORS} 形状 {vectors.shape} 与 {META} 记录的不符。")
        index = _read_index(folder / INDEX) if meta["type"] != "flat" else None
        return cls(meta, vectors, index, exact_allowed)

    def __len__(self) -> int:
        return self.n

    def vectors(self, rows: np.ndarray | slice) -> np.ndarray:
        """Rows as float32 (for merges and reuse)."""
        return np.asarray(self._vectors[rows], dtype=np.float32)

    def _scores(self, q: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
        return self.vectors(rows) @ q

    def _allowed(self, allowed: Allowed) -> tuple[Allowed, int]:
        """Validate ``allowed``; return it normalised and how many rows it allows."""
        if allowed is None:
            return None, self.n
        if isinstance(allowed, tuple):
            lo, hi = max(0, int(allowed[0])), min(self.n, int(allowed[1]))
            return (lo, max(lo, hi)), max(0, hi - lo)
        mask = np.asarray(allowed)
        if mask.dtype != np.bool_ or mask.shape != (self.n,):
            raise BadInput(f"过滤掩码必须是长度 {self.n} 的布尔数组，得到 {mask.dtype} 形状 {mask.shape}。")
        return mask, int(np.count_nonzero(mask))

    def search(self, q: np.ndarray, k: int, allowed: Allowed = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` local rows (int64) and exact inner products (float32), best first.

        ``allowed``: boolean mask over the segment's rows (True = may be returned), a half-open
        ``(lo, hi)`` row range, or None. Returns ``min(k, allowed rows)`` results.
        """
        q = np.asarray(q, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise BadInput(f"查询向量维度 {q.shape[0]} 与向量段维度 {self.dim} 不符。")
        allowed, count = self._allowed(allowed)
        k = min(int(k), count)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self._index is None or count <= self.exact_allowed:
            return self._exact(q, k, allowed)
        rows = self._approx(q, k, allowed, count)
        if len(rows) < k:  # a selective filter starved the graph walk / probed lists
            return self._exact(q, k, allowed)
        rows = np.sort(rows)  # ordered reads from the memory map
        return _top(rows, self._scores(q, rows), k)

    def _exact(self, q: np.ndarray, k: int, allowed: Allowed) -> tuple[np.ndarray, np.ndarray]:
        """Score every allowed row against the stored vectors, block by block."""
        contiguous = not isinstance(allowed, np.ndarray)
        if contiguous:
            lo, hi = allowed if allowed is not None else (0, self.n)
            rows_all = np.arange(lo, hi, dtype=np.int64)
        else:
            rows_all = np.flatnonzero(allowed)
        best_rows, best_scores = np.zeros(0, np.int64), np.zeros(0, np.float32)
        for start in range(0, len(rows_all), BLOCK):
            rows = rows_all[start : start + BLOCK]
            part = slice(int(rows[0]), int(rows[-1]) + 1) if contiguous else rows
            scores = self._scores(q, part)
            best_rows, best_scores = _top(np.concatenate([best_rows, rows]),
                                          np.concatenate([best_scores, scores]), k)
        return best_rows, best_scores

    def _approx(self, q: np.ndarray, k: int, allowed: Allowed, count: int) -> np.ndarray:
        """Candidate rows from the compressed index, the filter applied inside the search."""
        fetch = max(int(self.params.get("rerank", RERANK)), k)
        sel, keep = None, None
        if isinstance(allowed, tuple):
            sel = faiss.IDSelectorRange(allowed[0], allowed[1], True)  # IVF lists hold ascending ids
        elif isinstance(allowed, np.ndarray):
            keep = np.packbits(allowed, bitorder="little")
            sel = faiss.IDSelectorBitmap(len(keep), faiss.swig_ptr(keep))
        if self.kind == "hnsw_sq":
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(int(self.params["efSearch"]), fetch))
        else:
            # A filter thins every probed list: probe more lists so enough allowed rows are seen.
            widen = min(4.0, self.n / max(count, 1))
            nprobe = min(int(self.params["nlist"]), int(math.ceil(self.params["nprobe"] * widen)))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
        _, labels = self._index.search(q.reshape(1, -1), fetch, params=params)
        del keep  # the bitmap had to live through the search
        labels = labels[0]
        return labels[labels >= 0].astype(np.int64)
