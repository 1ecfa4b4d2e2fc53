"""The vector search of one IVF-SQ8 segment, old code against new, on real vectors and on the
noise-reused set: p50/p95 and recall@10 against exact search, undated and with a date filter.

    python bench/bench_vector_recall.py --vectors-from INDEX --old /tmp/base [--rows 1000000,3000000]
                                        [--work /tmp/vr] [--queries 200] [--sweep]
                                        [--like 1000000,3000000 [--topics 64] [--calibrate 16,64,256]]

Two sets, named in every line:
- ``real``: the real e5-small passage vectors of INDEX's vector cache (``qa index`` of
  ``news_sample.jsonl`` gives 11.6k), in an IVF-SQ8 index of about 64 rows a list (the production
  rule would score so few rows exactly), searched through the index (no exact fallback), queried by
  real query vectors (200 questions cut from the same news, embedded here);
- ``noise N``: N rows made of those real vectors, each reused N/11.6k times with N(0, 0.02) noise
  (``bench_dense.replay``; the hardest case for an IVF index: a question's exact top 10 are near-ties
  spread over many lists), the same queries.

- ``like N`` (``--like``): N rows drawn from a model of the real vectors, not copies of them: the
  real vectors are grouped into ``--topics`` k-means clusters, and each new row is a cluster's centre
  plus a draw from the Gaussian of all real vectors' offsets from their centres (their covariance),
  renormalised (``--calibrate`` prints the real set's recall curve beside the model's at the real
  set's size: on this project's 12,382 real news passages 64 topics came closest, slightly easier
  than real, 16 harder). Rows are as spread within a topic as real passages are and no two coincide, so a
  question's exact top 10 are not copies of one passage: the test a real 3M archive sets, which
  cannot be embedded on this machine (3M chunks would take days on two cores).

Filters: ``range`` = a contiguous 1/50 of the rows (one year of a 50-year archive: rows are sorted by
issue date), ``range+`` = that range plus 1% of all rows scattered (the rows "speaking of" the year:
what a dated question allows). Recall@10 is against exact float32 search of the same filter.
``--old`` is a source tree of the code to compare with (``git archive HEAD qa | tar -x -C DIR``);
its ``DenseSegment`` searches the same files, one query at a time, FAISS on one thread (the other
core runs BM25 at the same time in the ask path). Index folders are kept under ``--work`` and reused.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
K = 10
REAL_ROWS_PER_LIST = 64  # the real set's IVF lists (the 3M index has ~730 rows a list; 11.6k rows cannot fill them)


def load_old(tree: Path):
    """``qa.store.folder.dense`` of another source tree, as a separate module."""
    spec = importlib.util.spec_from_file_location("old_dense", tree / "qa" / "store" / "folder" / "dense.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def queries(work: Path, n: int) -> np.ndarray:
    path = work / f"queries-{n}.npy"
    if not path.exists():
        from bench_query import questions

        from qa.embed import load_embedder

        qs = [q["question"] for q in questions(n, seed=1)]
        np.save(path, load_embedder().encode_queries(qs).astype(np.float32))
    return np.load(path)


def filters(n: int, seed: int = 3) -> dict:
    lo, hi = n // 2, n // 2 + n // 50
    mask = np.zeros(n, dtype=bool)
    mask[lo:hi] = True
    mask[np.random.default_rng(seed).choice(n, n // 100, replace=False)] = True
    return {"none": None, "range": (lo, hi), "range+": mask}


def real_like(pool: np.ndarray, n: int, topics: int, seed: int = 7) -> np.ndarray:
    """``n`` unit rows from a Gaussian mixture fitted to ``pool`` (see the module docstring)."""
    import faiss

    km = faiss.Kmeans(pool.shape[1], topics, niter=25, seed=seed, spherical=True)
    km.train(np.ascontiguousarray(pool, dtype=np.float32))
    topic = km.index.search(pool, 1)[1][:, 0]
    offsets = pool - km.centroids[topic]
    chol = np.linalg.cholesky(np.cov(offsets, rowvar=False) + 1e-6 * np.eye(pool.shape[1]))
    rng = np.random.default_rng(seed)
    sizes = np.bincount(topic, minlength=topics) / len(pool)
    out = np.empty((n, pool.shape[1]), dtype=np.float32)
    for start in range(0, n, 262_144):
        m = min(262_144, n - start)
        draw = rng.standard_normal((m, pool.shape[1])).astype(np.float32) @ chol.T.astype(np.float32)
        block = km.centroids[rng.choice(topics, m, p=sizes)] + draw
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def calibrate(pool: np.ndarray, qv: np.ndarray, topics: list[int]) -> None:
    """The real set's recall curve beside the model's at the same size and lists (IVF-Flat, 64 rows a
    list): the model whose curve matches the real one stands for real vectors at scale."""
    import faiss

    def curve(base: np.ndarray) -> str:
        gt = exact(base, qv, None)
        nlist = max(8, len(base) // REAL_ROWS_PER_LIST)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(base.shape[1]), base.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = 1234
        index.train(base)
        index.add(base)
        out = []
        for share in (64, 32, 16, 8, 3):
            index.nprobe = max(1, nlist // share)
            out.append(f"1/{share} {recall([r.tolist() for r in index.search(qv, K)[1]], gt):.3f}")
        return ", ".join(out)

    print(f"  calibration, recall@10 by lists probed ({len(pool):,} rows):")
    print(f"    real            {curve(pool)}", flush=True)
    for t in topics:
        print(f"    like, {t:4d} topics {curve(real_like(pool, len(pool), t))}", flush=True)


def exact(base: np.ndarray, qv: np.ndarray, allowed) -> np.ndarray:
    import faiss

    if allowed is None:
        return faiss.knn(qv, base, K, metric=faiss.METRIC_INNER_PRODUCT)[1]
    rows = np.arange(*allowed) if isinstance(allowed, tuple) else np.flatnonzero(allowed)
    return rows[faiss.knn(qv, base[rows], K, metric=faiss.METRIC_INNER_PRODUCT)[1]]


def timed(seg, qv: np.ndarray, allowed) -> tuple[list[float], list[list[int]]]:
    for q in qv[:10]:
        seg.search(q, K, allowed)
    lat, rows = [], []
    for q in qv:
        t = time.perf_counter()
        rows.append(seg.search(q, K, allowed)[0].tolist())
        lat.append((time.perf_counter() - t) * 1000)
    return lat, rows


def timed_pair(segs: dict, qv: np.ndarray, allowed) -> dict[str, tuple[list[float], list[list[int]]]]:
    """Both segments on every query, taking turns (the order flips each query): load falls on both alike."""
    for seg in segs.values():
        for q in qv[:10]:
            seg.search(q, K, allowed)
    got: dict[str, tuple[list[float], list[list[int]]]] = {name: ([], []) for name in segs}
    names = list(segs)
    for i, q in enumerate(qv):
        for name in names if i % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            rows = segs[name].search(q, K, allowed)[0].tolist()
            got[name][0].append((time.perf_counter() - t) * 1000)
            got[name][1].append(rows)
    return got


def recall(rows: list[list[int]], gt: np.ndarray) -> float:
    return float(np.mean([len(set(r) & set(g.tolist())) / K for r, g in zip(rows, gt)]))


def measure(label: str, base: np.ndarray, folder: Path, qv: np.ndarray, old, sweep: bool, nlist: int = 0) -> None:
    from qa.store.folder import dense, dense_build

    if not (folder / dense.META).exists():
        t = time.perf_counter()
        rule = dense_build._nlist
        if nlist:  # a small real set: lists of a set size instead of the production rule's
            dense_build._nlist = lambda n: nlist
        try:
            dense_build.write_dense(folder, base, kind="ivf_sq8", threshold=0)
        finally:
            dense_build._nlist = rule
        print(f"  built {folder} in {time.perf_counter() - t:.0f} s", flush=True)
    exact_allowed = 0 if nlist else dense.EXACT_ALLOWED  # a small set would be scored exactly: force the index
    segs = {"old": old.DenseSegment.load(folder, exact_allowed), "new": dense.DenseSegment.load(folder, exact_allowed)}
    print(f"{label}: {len(base):,} rows, {segs['new'].params}; load {os.getloadavg()[0]:.1f}", flush=True)
    for fname, allowed in filters(len(base)).items():
        gt = exact(base, qv, allowed)
        got = timed_pair(segs, qv, allowed)
        (ol, orow), (nl, nrow) = got["old"], got["new"]
        o50, o95, n50, n95 = np.percentile(ol, 50), np.percentile(ol, 95), np.percentile(nl, 50), np.percentile(nl, 95)
        print(
            f"  {label:>14s} {fname:7s} old p50/p95 {o50:6.1f}/{o95:6.1f} ms recall {recall(orow, gt):.3f} | "
            f"new {n50:6.1f}/{n95:6.1f} ms recall {recall(nrow, gt):.3f} | new/old p50 {n50 / o50:.2f}x",
            flush=True,
        )
        if sweep and fname == "none":
            seg, saved = segs["new"], dict(segs["new"].params)
            nlist = int(saved["nlist"])
            for share in (64, 32, 16, 8):
                for rerank in (100, 400):
                    seg.params.update(nprobe=max(1, nlist // share), rerank=rerank)
                    lat, rows = timed(seg, qv, allowed)
                    print(
                        f"    sweep nprobe {nlist // share:4d} (1/{share}) rerank {rerank:3d}: "
                        f"p50/p95 {np.percentile(lat, 50):6.1f}/{np.percentile(lat, 95):6.1f} ms "
                        f"recall {recall(rows, gt):.3f}",
                        flush=True,
                    )
            seg.params = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vectors-from", type=Path, required=True)
    ap.add_argument("--old", type=Path, required=True)
    ap.add_argument("--rows", default="1000000")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vector-recall"))
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--sweep", action="store_true", help="also try nprobe 1/64..1/8 and rerank 100/400")
    ap.add_argument("--like", default="", help="row counts of the real-like set, e.g. 1000000,3000000")
    ap.add_argument("--topics", type=int, default=64, help="k-means clusters of the real-like set's model")
    ap.add_argument("--skip-real", action="store_true", help="skip the small real set")
    ap.add_argument("--calibrate", default="", help="topic counts to compare with the real set, e.g. 16,64,256")
    args = ap.parse_args()
    import faiss
    from bench_ask_ab import cpu
    from bench_dense import replay
    from bench_query import real_pool

    faiss.omp_set_num_threads(1)
    args.work.mkdir(parents=True, exist_ok=True)

    class Dim:  # real_pool wants only the embedder's dim
        dim = 384

    pool = real_pool(Dim, 0, args.vectors_from)
    pool = pool[np.abs(np.linalg.norm(pool, axis=1) - 1) < 1e-3]  # skip any half-written cache entry
    qv = queries(args.work, args.queries)
    old = load_old(args.old)
    print(f"{cpu()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {len(qv)} real queries")
    nlist = max(8, len(pool) // REAL_ROWS_PER_LIST)
    if args.calibrate:
        calibrate(pool, qv, [int(t) for t in args.calibrate.split(",")])
    if not args.skip_real:
        measure("real", pool, args.work / f"real-{len(pool)}-{nlist}", qv, old, args.sweep, nlist)
    for n in (int(x) for x in args.like.split(",") if x):
        base = real_like(pool, n, args.topics)
        folder = args.work / f"like-{n}-{len(pool)}-{args.topics}"
        measure(f"like {n // 1000}k", base, folder, qv, old, args.sweep)
        del base
    for n in (int(x) for x in args.rows.split(",") if x):
        base = replay(pool, n, 0.02)
        measure(f"noise {n // 1000}k", base, args.work / f"noise-{n}-{len(pool)}", qv, old, args.sweep)
        del base
    print(f"load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
