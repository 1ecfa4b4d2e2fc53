"""What one daily publish costs on the Milvus backend: only the new issue written, against a full rewrite.

    python bench/bench_milvus_publish.py [--base 2000] [--issue 40] [--out /tmp/bench-milvus]

The first ``--base`` articles of ../shared/data/news_sample.jsonl are indexed into a Milvus Lite
database, then the next ``--issue`` articles are added as one publish (rows written: only
theirs), then the same archive is written again in full (``--rebuild``: a new collection, what
every publish cost when each version was a collection of its own). Embedding is left out of the
comparison: a hashing embedder (384 dims, the e5-small size) stands in for the model, and the
rebuild takes every vector from the vector cache. The figure to read is the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "news_sample.jsonl"


class HashEmbedder:
    """Unit vectors drawn from each text's hash: the write path's cost without a model's."""

    name, dim = "hash-384", 384

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out

    encode_queries = encode_passages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=int, default=2000, help="articles already published")
    ap.add_argument("--issue", type=int, default=40, help="articles of the new issue")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-milvus-publish"))
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"missing {DATA}")
    from qa.store import build_index
    from qa.store.location import parse_backend
    from qa.store.milvus.client import forget_client

    shutil.rmtree(args.out, ignore_errors=True)
    (args.out / "archive").mkdir(parents=True)
    lines = DATA.read_text(encoding="utf-8").splitlines()
    base, issue = args.out / "archive" / "base.jsonl", args.out / "archive" / "issue.jsonl"
    base.write_text("\n".join(lines[: args.base]) + "\n", encoding="utf-8")
    target = parse_backend(str(args.out / "milvus.db"))
    emb = HashEmbedder()
    quiet = {"embedder": emb, "progress": False, "log": lambda _msg: None}

    t = time.perf_counter()
    first = build_index([str(base)], target, **quiet)
    t_first = time.perf_counter() - t
    issue.write_text("\n".join(lines[args.base : args.base + args.issue]) + "\n", encoding="utf-8")
    t = time.perf_counter()
    added = build_index([str(base), str(issue)], target, **quiet)
    t_add = time.perf_counter() - t
    t = time.perf_counter()
    full = build_index([str(base), str(issue)], target, rebuild=True, **quiet)
    t_full = time.perf_counter() - t
    forget_client(target)

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (a shared machine: read the ratio)")
    print(f"first build   {first.chunks:6d} chunks  {t_first:6.2f} s")
    print(
        f"add one issue {added.chunks - first.chunks:6d} chunks written of {added.chunks}  {t_add:6.2f} s"
        f"  (embedded {added.embedded})"
    )
    print(f"full rewrite  {full.chunks:6d} chunks written  {t_full:6.2f} s  (embedded {full.embedded}, from the cache)")
    print(f"add / full rewrite: {t_add / t_full:.3f}x")


if __name__ == "__main__":
    main()
