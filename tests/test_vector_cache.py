"""VectorCache: stored vectors come back in input order, and a SIGKILLed backfill resumes where it stopped."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from qa.embed.cache import VectorCache
from qa.errors import IndexFormatError

from fakes import ROOT, FakeEmbedder


class Counting(FakeEmbedder):
    def __init__(self) -> None:
        self.calls = 0

    def encode_passages(self, texts):
        self.calls += len(texts)
        return super().encode_passages(texts)


def corpus(n: int) -> tuple[list[str], list[str]]:
    texts = [f"第{i}篇：聊城新闻，" + "防汛巡查" * (i % 7) for i in range(n)]
    return [hashlib.sha1(t.encode()).hexdigest() for t in texts], texts


def test_reuses_stored_vectors_in_input_order(tmp_path):
    hashes, texts = corpus(50)
    emb = Counting()
    v = VectorCache.open(tmp_path, "fake", 64).embed(emb, hashes, texts, progress=False, batch_size=8)
    assert emb.calls == 50 and np.allclose(v, FakeEmbedder().encode_passages(texts))
    again = Counting()
    order = list(reversed(range(50)))
    v2 = VectorCache.open(tmp_path, "fake", 64).embed(again, [hashes[i] for i in order], [texts[i] for i in order])
    assert again.calls == 0 and np.array_equal(v2, v[order])
    # Another model in the same folder has its own vectors.
    other = Counting()
    VectorCache.open(tmp_path, "fake-2", 64).embed(other, hashes[:3], texts[:3], progress=False)
    assert other.calls == 3


def test_torn_tail_is_dropped_and_reembedded(tmp_path):
    hashes, texts = corpus(10)
    cache = VectorCache.open(tmp_path, "fake", 64)
    cache.embed(Counting(), hashes[:6], texts[:6], progress=False)
    cache.close()
    f = tmp_path / "fake-64.f32"
    with f.open("ab") as out:  # half a row written when the process died, its key never committed
        out.write(b"\x00" * 100)
    emb = Counting()
    v = VectorCache.open(tmp_path, "fake", 64).embed(emb, hashes, texts, progress=False)
    assert emb.calls == 4 and f.stat().st_size == 10 * 64 * 4
    assert np.allclose(v, FakeEmbedder().encode_passages(texts))


def test_short_file_is_a_clear_error(tmp_path):
    hashes, texts = corpus(4)
    VectorCache.open(tmp_path, "fake", 64).embed(Counting(), hashes, texts, progress=False)
    (tmp_path / "fake-64.f32").write_bytes(b"")
    with pytest.raises(IndexFormatError, match="向量缓存"):
        VectorCache.open(tmp_path, "fake", 64)


def test_compact_keeps_only_wanted(tmp_path):
    hashes, texts = corpus(20)
    cache = VectorCache.open(tmp_path, "fake", 64)
    v = cache.embed(Counting(), hashes, texts, progress=False)
    assert cache.compact(set(hashes[5:])) == 5
    emb = Counting()
    v2 = VectorCache.open(tmp_path, "fake", 64).embed(emb, hashes, texts, progress=False)
    assert emb.calls == 5 and np.allclose(v2, v)
    assert sorted(p.name for p in tmp_path.glob("*.f32")) == ["fake-64-c1.f32"]


CHILD = textwrap.dedent("""
    import sys, time, hashlib
    sys.path[:0] = [{root!r}, {tests!r}]
    from fakes import FakeEmbedder
    from qa.embed.cache import VectorCache
    from test_vector_cache import corpus

    class Slow(FakeEmbedder):
        def encode_passages(self, texts):
            time.sleep(0.2)
            return super().encode_passages(texts)

    hashes, texts = corpus(400)
    VectorCache.open(sys.argv[1], "fake", 64).embed(Slow(), hashes, texts, progress=False, batch_size=10)
""")


def test_sigkilled_backfill_resumes_with_only_the_rest(tmp_path):
    folder = tmp_path / "vectors"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT), tests=str(ROOT / "tests")))
    child = subprocess.Popen([sys.executable, str(script), str(folder)])
    stored = 0
    deadline = time.monotonic() + 60
    while stored < 50 and time.monotonic() < deadline:  # wait until some batches were persisted
        time.sleep(0.05)
        try:
            with sqlite3.connect(folder / "keys.sqlite") as db:
                stored = db.execute("SELECT COUNT(*) FROM vec").fetchone()[0]
        except sqlite3.Error:
            pass
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL and 50 <= stored < 400

    hashes, texts = corpus(400)
    emb = Counting()
    cache = VectorCache.open(folder, "fake", 64)
    persisted = cache.rows
    assert persisted >= stored
    resumed = cache.embed(emb, hashes, texts, progress=False)
    assert emb.calls == 400 - persisted  # only what was not yet persisted is embedded again
    whole = VectorCache.open(tmp_path / "fresh", "fake", 64).embed(Counting(), hashes, texts, progress=False)
    assert np.array_equal(resumed, whole)
