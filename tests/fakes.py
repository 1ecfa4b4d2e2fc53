"""Test helpers shared by the test files: paths, and a deterministic fake embedder.

The fake embedder hashes character bigrams into a fixed number of buckets, so texts that share
words get similar vectors — enough to test indexing, retrieval and the web layer without the
real model. Tests that need real semantics use the bundled model (``qa.embed.load_embedder()``).
Import with ``from fakes import FakeEmbedder, SEEDS`` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium and chromium-driver (scripts/install.sh)
CHROMEDRIVER = "/usr/bin/chromedriver"


def shared_file(relative: str) -> Path:
    """A data file of ``../shared`` (CI has it; a user's fresh clone does not): the test is skipped,
    naming the file, when it is absent."""
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"需要 ../shared/{relative}（CI 中有；单独克隆的仓库没有）")
    return path


def write_file(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write a test file (text in ``encoding``, or bytes as given), making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def skip_reasons(report) -> dict[tuple[str, int | None], str]:
    """(file name, line) -> reason for everything an ``IngestReport`` skipped."""
    return {(Path(s.source).name, s.line): s.reason for s in report.skipped}


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


def location_args(location) -> list[str]:
    """CLI options naming an index location: ``--index DIR`` or ``--backend URI`` (a Milvus target)."""
    from qa.store.location import MilvusTarget

    return ["--backend", location.uri] if isinstance(location, MilvusTarget) else ["--index", str(location)]


def index_vectors(index_dir: Path) -> np.ndarray:
    """The vector of every live row (deleted pages' rows left out) of the live version, in row order."""
    from qa.store import IndexReader

    with IndexReader.open(Path(index_dir)) as r:
        parts = [seg.dense.vectors(seg.live_rows(np.arange(seg.rows))) for seg in r.segments]
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
