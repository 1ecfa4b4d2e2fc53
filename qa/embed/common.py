"""Names and helpers shared by the embedding engines."""

from __future__ import annotations

import numpy as np

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
