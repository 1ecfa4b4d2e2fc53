"""Dense segment index types at scale: build, disk, RSS, latency and recall@10 against exact search.

    python bench/bench_dense.py [--rows 100000,1000000] [--kinds flat,ivf_sq8,ivf_pq,hnsw_sq]
                                [--queries 200] [--noise 0.02] [--threads 1]
    python bench/bench_dense.py --rows 3000000 --kinds flat,ivf_sq8   # needs ~10 GB free RAM

Base vectors: a pool of real e5-small passage vectors (1,500 chunks of
../shared/data/news_sample.jsonl, embedded once and cached in bench/out/dense_pool.npy) cycled
with Gaussian noise and re-normalised, as bench/bench_query.py's ReplayEmbedder does. Queries:
real e5-small query vectors of 200 questions cut from news text (cached likewise). Each segment is
written with ``qa.store.folder.dense_build.write_dense`` and probed in a fresh child process (RSS after load
and after 100 queries, warm page cache, one query at a time). Filters: a contiguous 1/50 row
range (one year of a 50-year archive) and a scattered page bitmap (1/8 of the rows, runs of 6).
Recall@10 is against exact float32 inner-product search (faiss.knn = IndexFlatIP) of the same
filter. The "filter path" table times the same filters with the exact path forced and with the
compressed index forced, which is how ``EXACT_ALLOWED`` was chosen. Columns: "anon MB" is
anonymous RSS added by loading; "anon/file MB" after 100 queries splits anonymous memory from
mapped file pages (page cache the kernel can drop). "score gap": mean exact score of the true
top-10 minus that of the returned top-10 (how far below the true results the misses are).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "bench" / "out"
K = 10


def real_vectors() -> tuple[np.ndarray, np.ndarray]:
    """(pool of passage vectors, query vectors), embedded once with the bundled model and cached."""
    pool_file, query_file = OUT / "dense_pool.npy", OUT / "dense_queries.npy"
    if not pool_file.exists() or not query_file.exists():
        from bench_query import NEWS, questions

        from qa.embed import load_embedder
        from qa.ingest.chunk import chunk_text

        emb, texts = load_embedder(), []
        for line in NEWS.open(encoding="utf-8"):
            texts.extend(chunk_text(json.loads(line)["text"]))
            if len(texts) >= 1500:
                break
        OUT.mkdir(parents=True, exist_ok=True)
        np.save(pool_file, emb.encode_passages(texts[:1500]).astype(np.float32))
        np.save(query_file, emb.encode_queries([q["question"] for q in questions(200, seed=7)]).astype(np.float32))
    return np.load(pool_file), np.load(query_file)


def replay(pool: np.ndarray, n: int, noise: float, seed: int = 0) -> np.ndarray:
    rng, out = np.random.default_rng(seed), np.empty((n, pool.shape[1]), np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        v = pool[(s + np.arange(m)) % len(pool)] + rng.normal(0, noise, (m, pool.shape[1])).astype(np.float32)
        out[s : s + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def filters(n: int) -> tuple[tuple[int, int], np.ndarray]:
    lo = n // 2
    page = np.random.default_rng(1).integers(0, 8, (n + 5) // 6)
    return (lo, lo + n // 50), np.repeat(page == 0, 6)[:n]


def ground_truth(base: np.ndarray, queries: np.ndarray, rng_: tuple[int, int], mask: np.ndarray) -> dict:
    import faiss

    lo, hi = rng_
    rows = np.flatnonzero(mask)
    gt = {"none": faiss.knn(queries, base, K, metric=faiss.METRIC_INNER_PRODUCT)[1]}
    gt["range"] = faiss.knn(queries, base[lo:hi], K, metric=faiss.METRIC_INNER_PRODUCT)[1] + lo
    gt["bitmap"] = rows[faiss.knn(queries, base[rows], K, metric=faiss.METRIC_INNER_PRODUCT)[1]]
    return gt


def rss() -> dict:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "RssAnon", "RssFile")}


def probe(folder: Path, spec: Path, threads: int) -> None:
    """Child process: load the segment, time the queries, print JSON."""
    import faiss

    from qa.store.folder.dense import DenseSegment

    faiss.omp_set_num_threads(threads)

    data = np.load(spec)
    queries, rng_, mask = data["queries"], (int(data["lo"]), int(data["hi"])), data["mask"]
    before = rss()
    seg = DenseSegment.load(folder)
    if seg.kind == "flat" and len(seg) > 200_000:
        queries = queries[:50]  # a full exact scan per query: keep the run short
    out = {"rss_before": before, "rss_load": rss()}
    cases = {"none": None, "range": rng_, "bitmap": mask}
    for name, allowed in cases.items():
        for q in queries[:10]:
            seg.search(q, K, allowed)
        lat, rows = [], []
        for q in queries:
            t = time.perf_counter()
            rows.append(seg.search(q, K, allowed)[0].tolist())
            lat.append((time.perf_counter() - t) * 1000)
        out[name] = {"lat": lat, "rows": rows}
        if name == "none":
            out["rss_100"] = rss()
    if seg.kind != "flat":  # the crossover that sets EXACT_ALLOWED: same filters, each path forced
        for name in ("range", "bitmap"):
            for label, limit in (("exact", 10**12), ("index", -1)):
                seg.exact_allowed = limit
                lat, rows = [], []
                for q in queries[:50]:
                    t = time.perf_counter()
                    rows.append(seg.search(q, K, cases[name])[0].tolist())
                    lat.append((time.perf_counter() - t) * 1000)
                out[f"{name}_{label}"] = {"lat": lat, "rows": rows}
    print(json.dumps(out))


def recall(rows: list[list[int]], gt: np.ndarray) -> float:
    return float(np.mean([len(set(r) & set(g.tolist())) / K for r, g in zip(rows, gt)]))


def score_gap(rows: list[list[int]], gt: np.ndarray, base: np.ndarray, queries: np.ndarray) -> float:
    """Mean exact score lost per result slot: how far below the true top-10 the misses are."""
    return float(np.mean([(base[g] @ q).mean() - (base[r] @ q).mean() for r, g, q in zip(rows, gt, queries)]))


def pct(lat: list[float]) -> str:
    return f"{np.percentile(lat, 50):6.1f} {np.percentile(lat, 95):6.1f}"


def run_size(
    n: int, kinds: list[str], pool: np.ndarray, queries: np.ndarray, noise: float, work: Path, threads: int
) -> None:
    import faiss

    from qa.store.folder.dense_build import write_dense

    base = replay(pool, n, noise)
    b16 = base[: min(n, 200_000)].astype(np.float16).astype(np.float32)
    cos = float((np.sum(b16 * base[: len(b16)], axis=1) / np.linalg.norm(b16, axis=1)).min())
    rng_, mask = filters(n)
    gt = ground_truth(base, queries, rng_, mask)
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    lat = []
    for q in queries[:30]:
        t = time.perf_counter()
        flat.search(q.reshape(1, -1), K)
        lat.append((time.perf_counter() - t) * 1000)
    del flat
    spec = work / f"spec-{n}.npz"
    np.savez(spec, queries=queries, lo=rng_[0], hi=rng_[1], mask=mask)
    print(
        f"\n== {n:,} rows, dim {base.shape[1]}; float16 min cosine to float32 {cos:.6f}; "
        f"range {rng_[1] - rng_[0]:,} rows, bitmap {int(mask.sum()):,} rows; "
        f"IndexFlatIP (float32 in RAM) p50/p95 {pct(lat)} ms"
    )
    print(
        f"{'kind':8s} {'build s':>7s} {'disk MB':>7s} {'anon MB':>7s} {'anon/file MB':>11s} "
        f"{'none p50 p95':>13s} {'range p50 p95':>13s} {'bitmap p50 p95':>14s}  recall@10 none/range/bitmap, score gap"
    )
    crossover = []
    for kind in kinds:
        folder = work / f"{kind}-{n}"
        t = time.perf_counter()
        meta = write_dense(folder, base, kind=kind, threshold=0)
        build = time.perf_counter() - t
        disk = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
        proc = subprocess.run(
            [sys.executable, __file__, "--threads", str(threads), "--probe", str(folder), str(spec)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        anon = r["rss_load"]["RssAnon"] - r["rss_before"]["RssAnon"]
        anon100 = r["rss_100"]["RssAnon"] - r["rss_before"]["RssAnon"]
        file100 = r["rss_100"]["RssFile"] - r["rss_before"]["RssFile"]  # mapped pages: reclaimable page cache
        rec = "/".join(f"{recall(r[c]['rows'], gt[c]):.3f}" for c in ("none", "range", "bitmap"))
        rec += f" gap {score_gap(r['none']['rows'], gt['none'], base, queries):.4f}"
        print(
            f"{kind:8s} {build:7.1f} {disk:7.0f} {anon:7.0f} {anon100:5.0f}/{file100:<5.0f} {pct(r['none']['lat'])} "
            f"{pct(r['range']['lat'])} {pct(r['bitmap']['lat']):>14s}  {rec}  {meta['params']}"
        )
        for c in ("range_exact", "range_index", "bitmap_exact", "bitmap_index"):
            if c in r:
                crossover.append(
                    f"  {kind:8s} {c:13s} p50/p95 {pct(r[c]['lat'])} ms  "
                    f"recall@10 {recall(r[c]['rows'], gt[c.split('_')[0]][:50]):.3f}"
                )
        sys.stdout.flush()
    if crossover:
        print("filter path (50 queries, each path forced):\n" + "\n".join(crossover))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="100000,1000000", help="comma-separated segment sizes")
    ap.add_argument("--kinds", default="flat,ivf_sq8,ivf_pq,hnsw_sq")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--threads", type=int, default=1, help="FAISS threads while querying (one query at a time)")
    ap.add_argument("--probe", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        return probe(*args.probe, args.threads)
    pool, queries = real_vectors()
    queries = queries[: args.queries]
    print(
        f"pool {len(pool)} real e5-small passage vectors + N(0, {args.noise}) noise; {len(queries)} real queries; "
        f"query threads {args.threads}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for n in (int(x) for x in args.rows.split(",")):
            run_size(n, args.kinds.split(","), pool, queries, args.noise, Path(tmp), args.threads)


if __name__ == "__main__":
    main()
