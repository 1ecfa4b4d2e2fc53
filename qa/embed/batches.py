"""Embedding many passages: length-sorted batches, tokenisation ahead of the model, a progress bar.

``embedded_batches`` is the one loop both ``embed_passages`` and ``VectorCache.embed`` use: texts
are sorted by length (a batch of similar lengths pads little) and, for an engine that can
tokenise separately (``tokenize`` / ``encode_tokens``), the next batch is tokenised in a helper
thread while the model runs the current one (tokenizers releases the GIL).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from qa.embed.common import normalise


def show_progress(progress: bool | None) -> bool:
    """``None``: a bar only on a terminal (and not with ``QA_NO_PROGRESS``); ``True`` forces one."""
    if progress is None:
        return sys.stderr.isatty() and not os.environ.get("QA_NO_PROGRESS")
    return progress


def progress_bar(total_chars: int, total_chunks: int, done_chunks: int = 0):
    """A tqdm bar on stderr counting characters (rate = characters/s, ETA), chunks in the postfix."""
    from tqdm import tqdm

    bar = tqdm(total=total_chars, unit="字", unit_scale=True, desc="向量化", file=sys.stderr, smoothing=0.05)
    bar.set_postfix_str(f"块 {done_chunks}/{total_chunks}")
    return bar


def embedded_batches(embedder, texts: list[str], batch_size: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(indices into texts, their vectors)`` batch by batch, shortest texts first."""
    order = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), kind="stable")
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    split = hasattr(embedder, "tokenize") and hasattr(embedder, "encode_tokens")
    if not split:
        for g in groups:
            yield g, _checked(embedder, embedder.encode_passages([texts[i] for i in g]), len(g))
        return
    with ThreadPoolExecutor(1, thread_name_prefix="tokenize") as pool:

        def tok(k: int):
            return pool.submit(embedder.tokenize, [texts[i] for i in groups[k]], False)

        ahead = tok(0) if groups else None
        for k, g in enumerate(groups):
            tokens = ahead.result()
            ahead = tok(k + 1) if k + 1 < len(groups) else None
            yield g, _checked(embedder, embedder.encode_tokens(tokens), len(g))


def _checked(embedder, v: np.ndarray, n: int) -> np.ndarray:
    if v.shape != (n, embedder.dim):
        raise ValueError(f"embedder {embedder.name} returned shape {v.shape}, expected {(n, embedder.dim)}")
    return normalise(v)


def embed_passages(embedder, texts: list[str], *, batch_size: int = 64, progress: bool | None = None) -> np.ndarray:
    """Embed many passages in batches, in input order, with a tqdm bar (characters/s, chunks, ETA) on a terminal."""
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    bar = progress_bar(sum(len(t) for t in texts), len(texts)) if show_progress(progress) and texts else None
    done = 0
    for idx, v in embedded_batches(embedder, texts, batch_size):
        out[idx] = v
        done += len(idx)
        if bar is not None:
            bar.update(sum(len(texts[i]) for i in idx))
            bar.set_postfix_str(f"块 {done}/{len(texts)}", refresh=False)
    if bar is not None:
        bar.close()
    return out
