"""Dense vectors of one immutable index segment: exact search when small, compressed FAISS when large.

Files in the segment folder (written by :mod:`qa.store.folder.dense_build`): ``vectors.faiss`` (every
row as float16: a FAISS flat fp16 index, memory-mapped on load so rows cost no RSS until touched; FAISS
scans it with fused fp16 SIMD kernels, 30x faster than converting float16 rows in numpy), ``dense.json``
(kind, rows, search params) and, for large segments only, ``dense.faiss`` (IVF with 8-bit scalar
quantizer codes, lists memory-mapped on load; the 8-bit codes are each component times
``params["scale"]`` in a signed byte). A compressed search fetches ``rerank`` candidates, then scores
them again exactly against ``vectors.faiss``, so every score returned is the exact inner product with
the stored vector and results of several segments merge by score. Filters: a boolean row mask (a FAISS
bitmap selector) or a ``(lo, hi)`` row range (rows are sorted by issue date, so a date range is a row
range); small allowed sets and starved compressed searches are scored exactly instead.

>>> import tempfile
>>> from qa.store.folder.dense_build import write_dense
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

from qa.errors import BadInput

VECTORS, INDEX, META = "vectors.faiss", "dense.faiss", "dense.json"
EXACT_ALLOWED = 20_000  # filters allowing at most this many rows are scored exactly
RERANK = 100  # compressed candidates scored again exactly (300 gained nothing for IVF-SQ8)
NPROBE_SHARE = 8  # probe 1/8 of the IVF lists, and at least NPROBE_MIN: on vectors modelled on real news
NPROBE_MIN = 256  # passages, 1/16 of 2,048 lists (1M rows) found 0.938 of the exact top 10 and 256 (1/8)
# 0.973; one 3.3M-row segment (4,096 lists, noise-reused vectors) 1/16 0.944, 3/32 0.957, 1/8 0.967 (benchmarks.md)
FILTER_WIDEN = 2.0  # a filter allowing 1/x of the rows probes min(x, this) times more lists: at 1M rows, a
# year's range plus 1% scattered rows, 4x gave recall@10 0.999 in 27.7 ms, 2x 0.993 in 15.9 ms, 1x 0.938
BLOCK = 65_536  # rows per exact-scoring block: bounds temporary memory

Allowed = np.ndarray | tuple[int, int] | None


def _nprobe(nlist: int) -> int:
    """IVF lists probed per search: a search setting, not part of the index, so it is derived from
    ``nlist`` at load time (segments built with an older rule search with this one).

    >>> _nprobe(256), _nprobe(2048), _nprobe(4096)
    (256, 256, 512)
    """
    return min(nlist, max(NPROBE_MIN, nlist // NPROBE_SHARE))


def _read_index(path: Path) -> faiss.Index:
    """Memory-map what the index type allows: IVF lists (IO_FLAG_MMAP), flat codes (IO_FLAG_MMAP_IFC)."""
    flags = faiss.IO_FLAG_MMAP_IFC if path.name == VECTORS else faiss.IO_FLAG_MMAP
    try:
        return faiss.read_index(str(path), flags | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:  # a FAISS build that cannot map this type: read it into memory
        return faiss.read_index(str(path))


def _tune_ivf(index: faiss.Index) -> None:
    """Search settings of a loaded IVF index (measured at 3.3M rows in 14 segments, AMD Zen 5, 2 cores:
    one question's vector search 85 -> 37.5 ms without the prefetch, -> 21.5 ms with both, recall alike).

    A memory-mapped index reads its lists through ``OnDiskInvertedLists``, which before every search
    starts up to 32 threads to prefetch the probed lists from disk; the lists are in the page cache, so
    that only costs. ``parallel_mode = 1`` splits one question's probed lists over FAISS's threads (by
    default they are split by question, and we always ask one at a time)."""
    ivf = faiss.extract_index_ivf(index)
    ivf.parallel_mode = 1
    lists = faiss.downcast_InvertedLists(ivf.invlists)
    if isinstance(lists, faiss.OnDiskInvertedLists):
        lists.prefetch_nthread = 0


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` by score, ties by row (deterministic)."""
    if len(rows) > k:
        keep = np.argpartition(-scores, k - 1)[:k]
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order].astype(np.int64), scores[order].astype(np.float32)


def _selector(allowed: Allowed) -> tuple[faiss.IDSelector | None, np.ndarray | None]:
    """FAISS selector for a row range or mask, and the bitmap that must outlive the search."""
    if allowed is None:
        return None, None
    if isinstance(allowed, tuple):
        return faiss.IDSelectorRange(allowed[0], allowed[1], True), None  # ids ascend in lists and codes
    bits = np.packbits(allowed, bitorder="little")
    return faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits)), bits


class DenseSegment:
    """One segment's vectors, loaded memory-mapped; ``search`` returns local rows and exact scores."""

    def __init__(self, meta: dict, vectors: faiss.Index, index: faiss.Index | None, exact_allowed: int = EXACT_ALLOWED):
        self.meta, self._vectors, self._index = meta, vectors, index
        self.kind, self.dim, self.n = meta["type"], int(meta["dim"]), int(meta["rows"])
        self.params = dict(meta.get("params") or {})
        if "nlist" in self.params:
            self.params["nprobe"] = _nprobe(int(self.params["nlist"]))
        self.exact_allowed = exact_allowed

    @classmethod
    def load(cls, folder: Path, exact_allowed: int = EXACT_ALLOWED) -> DenseSegment:
        """Open a folder written by ``write_dense``; filters allowing <= ``exact_allowed`` rows are scored exactly."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"向量段 {folder / META} 缺失或损坏：{exc}") from exc
        try:
            vectors = _read_index(folder / VECTORS)
        except RuntimeError as exc:
            raise BadInput(f"向量段 {folder / VECTORS} 无法读取：{exc}") from exc
        if (vectors.ntotal, vectors.d) != (meta["rows"], meta["dim"]):
            raise BadInput(f"向量段 {folder / VECTORS} 有 {vectors.ntotal}×{vectors.d} 个值，与 {META} 记录的不符。")
        index = _read_index(folder / INDEX) if meta["type"] != "flat" else None
        if index is not None and meta["type"].startswith("ivf"):
            _tune_ivf(index)
        return cls(meta, vectors, index, exact_allowed)

    def __len__(self) -> int:
        return self.n

    def vectors(self, rows: np.ndarray | slice) -> np.ndarray:
        """Rows (int array or slice) as float32, e.g. to reuse them in a merged segment."""
        if isinstance(rows, slice):
            start, stop, step = rows.indices(self.n)
            if step == 1:
                return self._vectors.reconstruct_n(start, max(0, stop - start)).reshape(-1, self.dim)
            rows = np.arange(start, stop, step)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n):
            raise BadInput(f"行号超出向量段范围 0–{self.n - 1}。")
        if not len(rows):
            return np.zeros((0, self.dim), np.float32)
        return self._vectors.reconstruct_batch(rows).reshape(-1, self.dim)

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
        return _top(rows, self.vectors(rows) @ q, k)

    def _exact(self, q: np.ndarray, k: int, allowed: Allowed) -> tuple[np.ndarray, np.ndarray]:
        """Score every allowed row against the stored float16 vectors (one fused FAISS scan)."""
        sel, keep = _selector(allowed)
        scores, labels = self._vectors.search(q.reshape(1, -1), k, params=faiss.SearchParameters(sel=sel))
        del keep
        found = labels[0] >= 0
        return _top(labels[0][found], scores[0][found], k)

    def _approx(self, q: np.ndarray, k: int, allowed: Allowed, count: int) -> np.ndarray:
        """Candidate rows from the compressed index, the filter applied inside the search."""
        fetch = max(int(self.params.get("rerank", RERANK)), k)
        sel, keep = _selector(allowed)
        if self.kind == "hnsw_sq":
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(int(self.params["efSearch"]), fetch))
        else:
            # A filter thins every probed list: probe more lists so enough allowed rows are seen.
            widen = min(FILTER_WIDEN, self.n / max(count, 1))
            nprobe = min(int(self.params["nlist"]), int(math.ceil(self.params["nprobe"] * widen)))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
        # int8 codes hold scaled rows and FAISS takes the question in the codes' units: unscaled, the
        # candidates found 0.23 of the exact top 10 (measured), scaled the same as QT_8bit's 0.97
        scale = self.params.get("scale")  # None: per-dimension codes (segments written before), which take q as is
        if scale is not None:
            q = q * np.float32(scale)
        _, labels = self._index.search(q.reshape(1, -1), fetch, params=params)
        del keep  # the bitmap had to live through the search
        labels = labels[0]
        return labels[labels >= 0].astype(np.int64)
