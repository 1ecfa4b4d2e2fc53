"""Shared fixtures: paths to the seeds and shared data, and a deterministic fake embedder.

The fake embedder hashes character bigrams into a fixed number of buckets, so texts that share
words get similar vectors — enough to unit-test indexing, retrieval and the web layer without
the real model. Tests that need real semantics use the bundled model (``qa.embed.load_embedder()``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"


class FakeEmbedder:
    """Deterministic bag-of-bigrams embedder (name ``fake``, 64 dims), L2-normalised float32."""

    name = "fake"
    dim = 64

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        for a, b in zip(chars, chars[1:] + [""]):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def _many(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._one(t) for t in texts]).astype(np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._many(list(texts))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._many(list(texts))


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory) -> Path:
    """An index of seeds/ built once per test session with the real bundled embedder (~30 s on 2 cores)."""
    from qa.index import build_index

    index = tmp_path_factory.mktemp("seeds-index")
    build_index([str(SEEDS)], index, progress=False)
    return index


@pytest.fixture(scope="session")
def seeds_service(seeds_index):
    """The real ask pipeline (bundled model) over the seeds index, loaded once."""
    from qa.service import Service

    return Service(seeds_index)
