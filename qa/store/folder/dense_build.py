"""Writing one segment's vector files (read by :mod:`qa.store.folder.dense`, which owns their names).

``write_dense`` takes the rows as float32, ``write_dense_codes`` as fp16 codes streamed block by block
(a merge); both write ``vectors.faiss`` (every row, fp16), and from ``EXACT_MAX_ROWS`` rows on a
compressed index ``dense.faiss`` trained on a fixed-seed sample, so the same rows always give the
same files. IVF-SQ8 (the default) stores each component times ``params["scale"]`` in a signed byte.
:class:`FlatFile` reads ``vectors.faiss`` back with ``pread`` for merges.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import faiss
import numpy as np

from qa.errors import BadInput
from qa.store.folder.dense import BLOCK, INDEX, META, RERANK, VECTORS

EXACT_MAX_ROWS = 100_000  # below this a segment keeps exact search only (see bench/bench_dense.py)
TRAIN_MAX = 163_840  # training sample: 40 per list at 4096 lists (FAISS wants 39), bounds build time
SEED = 1234
KINDS = ("flat", "ivf_sq8", "ivf_pq", "hnsw_sq")
DEFAULT_KIND = "ivf_sq8"


def _nlist(n: int) -> int:
    """IVF lists: a power of two near 2*sqrt(n), 256..4096 (about 250..750 rows a list), and never
    more than k-means can train from ``n`` rows (39 a list: a tiny segment forced to compress)."""
    return int(min(4096, max(256, 2 ** round(math.log2(2 * math.sqrt(max(n, 1))))), max(1, n // 39)))


def _sample_rows(n: int, seed: int) -> np.ndarray | None:
    """Rows to train on (None: all of them): a fixed-seed sample of ``TRAIN_MAX``, sorted."""
    if n <= TRAIN_MAX:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, TRAIN_MAX, replace=False))


def _train_sample(vectors: np.ndarray, seed: int) -> np.ndarray:
    rows = _sample_rows(len(vectors), seed)
    return np.ascontiguousarray(vectors if rows is None else vectors[rows], dtype=np.float32)


def _build(kind: str, vectors: np.ndarray, seed: int) -> tuple[faiss.Index, dict]:
    """Train (on a fixed-seed sample) and fill one compressed index; return it and its search params."""
    blocks = (vectors[start : start + BLOCK * 4] for start in range(0, len(vectors), BLOCK * 4))
    return _build_from(kind, vectors.shape[1], len(vectors), _train_sample(vectors, seed), blocks, seed)


def _build_from(kind: str, dim: int, n: int, train, blocks, seed: int) -> tuple[faiss.Index, dict]:
    """:func:`_build` from a training sample (an array, or a function returning it: then it is freed
    before the rows are added) and the rows in blocks (float32, in row order)."""
    if kind == "hnsw_sq":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        params = {"M": 32, "efConstruction": 80, "efSearch": 128, "rerank": RERANK}
    else:
        nlist = _nlist(n)
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf_sq8":
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit_direct_signed, faiss.METRIC_INNER_PRODUCT, False
            )
            params = {"nlist": nlist, "rerank": RERANK}
        elif kind == "ivf_pq":
            index = faiss.IndexIVFPQ(quantizer, dim, nlist, dim // 8, 8, faiss.METRIC_INNER_PRODUCT)
            index.pq.cp.seed = seed
            params = {"nlist": nlist, "m": dim // 8, "rerank": RERANK}
        else:
            raise BadInput(f"未知的向量索引类型「{kind}」：可用 {'、'.join(KINDS)}。")
        index.cp.seed = seed  # the faiss wrapper keeps ``quantizer`` alive with the index
    sample = train() if callable(train) else train
    if kind == "ivf_sq8":
        params["scale"] = _int8_scale(sample)
    index.train(_codes_in(sample, params, rounded=False))  # k-means on unrounded rows
    del sample, train
    for block in blocks:
        index.add(_codes_in(np.ascontiguousarray(block, dtype=np.float32), params))
    return index, params


def _int8_scale(sample: np.ndarray) -> float:
    """Factor that maps the training sample's largest component to 127: IVF-SQ8 stores each component
    as ``round(x * scale)`` in a signed byte (FAISS's ``QT_8bit_direct_signed``): a segment's search at
    3.3M rows takes 0.71-0.93x as long as with per-dimension 8-bit codes (``QT_8bit``), the scan alone
    0.61x, at the same recall (benchmarks.md)."""
    top = float(np.abs(sample).max()) if sample.size else 0.0
    return 127.0 / top if top > 0 else 1.0


def _codes_in(rows: np.ndarray, params: dict, rounded: bool = True) -> np.ndarray:
    """Rows as the compressed index takes them: for int8 codes scaled to signed-byte range and, if
    ``rounded``, rounded (FAISS truncates; components beyond the sample's range are clipped, and every
    candidate is re-scored exactly anyway)."""
    scale = params.get("scale")
    if scale is None:
        return rows
    out = rows * np.float32(scale)
    if rounded:
        np.rint(out, out=out)
    return np.clip(out, -128, 127, out=out)


def _check_vectors(vectors: np.ndarray) -> np.ndarray:
    if vectors.ndim != 2 or vectors.dtype.kind != "f":
        raise BadInput(f"向量必须是二维浮点数组，得到 {vectors.dtype} 形状 {vectors.shape}。")
    for start in range(0, len(vectors), BLOCK):
        if not np.isfinite(vectors[start : start + BLOCK]).all():
            raise BadInput(f"向量第 {start}–{start + BLOCK - 1} 行含 NaN 或无穷大，无法建索引。")
    return vectors


def write_dense(
    folder: Path, vectors: np.ndarray, *, threshold: int = EXACT_MAX_ROWS, kind: str | None = None, seed: int = SEED
) -> dict:
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
    flat = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    for start in range(0, n, BLOCK):
        flat.add(np.ascontiguousarray(vectors[start : start + BLOCK], dtype=np.float32))
    faiss.write_index(flat, str(folder / VECTORS))
    del flat
    if n == 0:
        kind = "flat"
    params: dict = {}
    if kind != "flat":
        index, params = _build(kind, vectors, seed)
        faiss.write_index(index, str(folder / INDEX))
    meta = {"type": kind, "rows": int(n), "dim": int(dim), "vectors": "fp16", "params": params}
    (folder / META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    return meta


def write_dense_codes(
    folder: Path, n: int, dim: int, codes, *, threshold: int = EXACT_MAX_ROWS, kind: str | None = None, seed: int = SEED
) -> dict:
    """:func:`write_dense` for rows given as fp16 codes (uint8 blocks of ``2 * dim`` bytes a row, in row
    order, ``n`` rows in all), streamed: ``vectors.faiss`` is written block by block and the compressed
    index is trained on a sample read back from it and filled block by block, so no more than a block
    of rows is ever in memory besides what FAISS keeps of the compressed index (its codes)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kind = kind or ("flat" if n < threshold else DEFAULT_KIND)
    if kind not in KINDS:
        raise BadInput(f"未知的向量索引类型「{kind}」：可用 {'、'.join(KINDS)}。")
    written = write_flat_codes(folder / VECTORS, dim, codes)
    if written != n:
        raise ValueError(f"{written} rows of codes for {n} rows")
    params: dict = {}
    if n and kind != "flat":
        flat = FlatFile(folder / VECTORS)
        rows = _sample_rows(n, seed)
        train = lambda: flat.vectors(np.arange(n) if rows is None else rows)  # noqa: E731 - read when needed
        blocks = (flat.vectors(np.arange(lo, min(n, lo + BLOCK))) for lo in range(0, n, BLOCK))  # 100 MB each
        index, params = _build_from(kind, dim, n, train, blocks, seed)
        faiss.write_index(index, str(folder / INDEX))
        flat.close()
    else:
        kind = "flat"
    meta = {"type": kind, "rows": int(n), "dim": int(dim), "vectors": "fp16", "params": params}
    (folder / META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    return meta


def write_flat_codes(path: Path, dim: int, codes) -> int:
    """The ``vectors.faiss`` FAISS writes for an ``IndexScalarQuantizer(QT_fp16)`` holding these codes,
    written a block at a time: an empty index's bytes (whose last 8 are the codes' byte count), the
    codes appended, then ``ntotal`` (bytes 8-16, after the fourcc and ``d``) and that count patched."""
    empty = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    head = faiss.serialize_index(empty).tobytes()
    n = 0
    with open(path, "wb") as f:
        f.write(head)
        for block in codes:
            block = np.ascontiguousarray(block, dtype=np.uint8)
            if block.ndim != 2 or block.shape[1] != 2 * dim:
                raise ValueError(f"fp16 codes of {2 * dim} bytes a row expected, got {block.shape}")
            f.write(block.tobytes())
            n += len(block)
        f.seek(8)
        f.write(np.int64(n).tobytes())
        f.seek(len(head) - 8)
        f.write(np.uint64(n * 2 * dim).tobytes())
    return n


class FlatFile:
    """A ``vectors.faiss`` (fp16 flat) read with ``pread``, not a memory map: a merge streams whole
    segments through it, and mapped pages would stay resident (and count as the process's RSS)."""

    SPAN = 65_536  # rows per read at most

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDONLY)
        head = os.pread(self.fd, 16, 0)
        self.dim = int(np.frombuffer(head[4:8], np.int32)[0])
        self.n = int(np.frombuffer(head[8:16], np.int64)[0])
        self.code_size = 2 * self.dim
        self.offset = os.fstat(self.fd).st_size - self.n * self.code_size  # the codes end the file

    def codes(self, rows: np.ndarray) -> np.ndarray:
        """fp16 codes (uint8, ``code_size`` a row) of ``rows`` (ascending), a bounded span per read."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.code_size), dtype=np.uint8)
        i = 0
        while i < len(rows):
            lo = int(rows[i])
            j = int(np.searchsorted(rows, lo + self.SPAN, side="left"))
            hi = int(rows[j - 1]) + 1
            raw = os.pread(self.fd, (hi - lo) * self.code_size, self.offset + lo * self.code_size)
            out[i:j] = np.frombuffer(raw, dtype=np.uint8).reshape(hi - lo, self.code_size)[rows[i:j] - lo]
            i = j
        return out

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self.codes(rows).view(np.float16).astype(np.float32)  # FAISS's fp16 decode is exact

    def close(self) -> None:
        os.close(self.fd)
