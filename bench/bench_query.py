"""Warm ``ask`` latency at scale (default 100,000 chunks) on this machine, without the HTTP layer.

    python bench/bench_query.py [--chunks 100000] [--queries 300] [--pool 600] [--vectors-from INDEX]

Embedding 100,000 real chunks takes hours on 2 cores, so the scale index reuses real vectors:
a pool of real e5-small passage vectors (``--pool`` chunks embedded here, or the vectors of an
existing index given with ``--vectors-from``), cycled with small Gaussian noise and
re-normalised. Everything else is real: the text is real news text (repeated across dates and
pages), the index is built by ``qa.store.build_from_pages`` (real chunking, jieba BM25, FAISS,
SQLite), and every query runs the whole ask path — query embedding with the bundled model,
date parsing, both searches with filters inside, fusion, duplicate collapsing, the answer.

Query mix: plain questions, questions naming a year (date filter + text mentions), and
questions with an explicit page filter.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"


class ReplayEmbedder:
    """Passage vectors drawn from a pool of real ones (plus noise); queries embedded for real."""

    def __init__(self, real, pool: np.ndarray, noise: float = 0.02, seed: int = 0):
        self.real, self.pool, self.noise = real, pool, noise
        self.name, self.dim = real.name, real.dim
        self.rng = np.random.default_rng(seed)
        self.next = 0

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.real.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        idx = (self.next + np.arange(len(texts))) % len(self.pool)
        self.next += len(texts)
        v = self.pool[idx] + self.rng.normal(0, self.noise, (len(texts), self.dim)).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def real_pool(embedder, n: int, vectors_from: Path | None) -> np.ndarray:
    if vectors_from:  # every vector ever computed for that index: its vector cache
        parts = [np.fromfile(f, dtype="<f4") for f in sorted((vectors_from / "cache" / "vectors").glob("*.f32"))]
        return np.concatenate([p[: len(p) // embedder.dim * embedder.dim].reshape(-1, embedder.dim) for p in parts])
    from qa.ingest.chunk import chunk_text

    texts = []
    for line in NEWS.open(encoding="utf-8"):
        texts.extend(chunk_text(json.loads(line)["text"]))
        if len(texts) >= n:
            break
    started = time.perf_counter()
    pool = embedder.encode_passages(texts[:n])
    print(f"pool: embedded {n} real chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return pool


def scale_pages(target_chunks: int) -> list:
    """Real news articles repeated over years and pages until about ``target_chunks`` chunks."""
    from qa.ingest.chunk import DEFAULT
    from qa.types import Article, Page

    news = [json.loads(line) for line in NEWS.open(encoding="utf-8")]
    per_article = sum(len(n["text"]) for n in news) / len(news) / (DEFAULT.max_chars * 0.85)
    copies = max(1, round(target_chunks / (len(news) * per_article)))
    pages = []
    for copy in range(copies):
        for i, n in enumerate(news):
            year = int(n["date"][:4]) - copy
            date = f"{year}{n['date'][4:]}".replace("-02-29", "-02-28")
            pid = f"/scale/{copy}/{n['id']}"
            art = Article(f"{pid}#a1", None, n["text"])
            pages.append(Page(pid, "新闻样本", date, i % 8 + 1, n["text"], pid, "/scale", articles=[art]))
    return pages


def questions(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    news = [json.loads(line) for line in NEWS.open(encoding="utf-8")]
    out = []
    for k in range(n):
        text = rng.choice(news)["text"]
        start = rng.randrange(0, max(1, len(text) - 30))
        q = text[start : start + rng.randint(12, 24)].strip() + "是什么？"
        kind = k % 6
        if kind in (1, 2):
            q = f"{rng.choice([2019, 2021, 2023])}年{q}"
        label = "date-bound" if kind in (1, 2) else "page filter" if kind == 3 else "undated"
        out.append({"question": q, "page": (k % 8) + 1 if kind == 3 else None, "kind": label})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--pool", type=int, default=600)
    ap.add_argument("--vectors-from", type=Path, default=None)
    ap.add_argument("--index", type=Path, default=ROOT / "bench" / "out" / "scale-index")
    args = ap.parse_args()

    from qa.embed import load_embedder
    from qa.service import Service
    from qa.store import build_from_pages

    real = load_embedder()
    if not (args.index / "CURRENT").exists():
        pool = real_pool(real, args.pool, args.vectors_from)
        pages = scale_pages(args.chunks)
        started = time.perf_counter()
        report = build_from_pages(pages, ["/scale"], args.index, embedder=ReplayEmbedder(real, pool), progress=False)
        print(
            f"built {report.chunks} chunks from {report.pages} pages in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    service = Service(args.index, embedder=real)
    qs = questions(args.queries)
    for q in qs[:20]:  # warm-up: page cache, jieba, FAISS, SQLite
        service.ask(q["question"], page=q["page"])
    latencies, found, by_kind = [], 0, {}
    for q in qs:
        started = time.perf_counter()
        answer = service.ask(q["question"], page=q["page"])
        latencies.append((time.perf_counter() - started) * 1000.0)
        by_kind.setdefault(q["kind"], []).append(latencies[-1])
        found += answer.found
    lat = np.array(latencies)
    counts = service.reader.counts()
    print(
        f"index: {counts['chunks']} chunks, {counts['pages']} pages, "
        f"{service.reader.meta['vector_index']['type']}, embedder {service.reader.embedder_name}"
    )
    print(
        f"ask (warm, no HTTP), {len(qs)} queries: p50 {np.percentile(lat, 50):.1f} ms  "
        f"p95 {np.percentile(lat, 95):.1f} ms  p99 {np.percentile(lat, 99):.1f} ms  max {lat.max():.1f} ms  "
        f"found {found}/{len(qs)}"
    )
    for kind, values in sorted(by_kind.items()):  # interleaved in one run, so the kinds compare fairly
        v = np.array(values)
        print(f"  {kind:12s} n={len(v):4d}  p50 {np.percentile(v, 50):.1f} ms  p95 {np.percentile(v, 95):.1f} ms")


if __name__ == "__main__":
    main()
