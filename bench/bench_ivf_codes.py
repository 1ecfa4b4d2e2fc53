"""IVF-SQ8's two code types on the same rows and lists: signed bytes of the rows times one scale (what
``write_dense`` builds, FAISS ``QT_8bit_direct_signed``) against FAISS's per-dimension 8-bit codes
(``QT_8bit``, what segments written before 2026-12-03 hold, still read). Same coarse quantizer, same
questions, searched through ``DenseSegment`` (re-scored exactly, as in a real ask), alternating per
question; prints latency, the per-question time ratio and recall@10 against exact search.

    python bench/bench_ivf_codes.py                      # 600,000 noise-reused real vectors (needs ../shared)
    python bench/bench_ivf_codes.py --rows 3000000       # ~6 GB RAM
    python bench/bench_ivf_codes.py --segment /tmp/s/scale-3m/segments/s000215/dense   # a built segment's rows
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_dense import real_vectors, replay  # noqa: E402

from qa.store.folder import dense as D  # noqa: E402
from qa.store.folder import dense_build as B  # noqa: E402

K = 10


def per_dimension_copy(new: Path, old: Path) -> None:
    """``old``: the segment in ``new`` with its compressed index rebuilt as per-dimension codes on the same lists."""
    old.mkdir()
    os.link(new / D.VECTORS, old / D.VECTORS)
    meta = json.loads((new / D.META).read_text(encoding="utf-8"))
    scale = meta["params"].pop("scale")
    built = faiss.read_index(str(new / D.INDEX))
    ivf = faiss.extract_index_ivf(built)  # a view into ``built``, which must stay referenced
    quantizer = faiss.IndexFlatIP(ivf.d)
    quantizer.add(ivf.quantizer.reconstruct_n(0, ivf.nlist) / scale)  # trained lists, back in row units
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, ivf.d, ivf.nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    flat = B.FlatFile(new / D.VECTORS)
    rows = B._sample_rows(flat.n, B.SEED)
    index.train(flat.vectors(np.arange(flat.n) if rows is None else rows))
    for lo in range(0, flat.n, D.BLOCK):
        index.add(flat.vectors(np.arange(lo, min(flat.n, lo + D.BLOCK))))
    faiss.write_index(index, str(old / D.INDEX))
    (old / D.META).write_text(json.dumps(meta), encoding="utf-8")


def exact_top10(folder: Path, queries: np.ndarray) -> list[set[int]]:
    """Each question's exact top 10 over every row, a block at a time (bounded memory at 3M rows)."""
    flat = B.FlatFile(folder / D.VECTORS)
    best_rows = np.zeros((len(queries), 0), np.int64)
    best_scores = np.zeros((len(queries), 0), np.float32)
    for lo in range(0, flat.n, D.BLOCK):
        rows = np.arange(lo, min(flat.n, lo + D.BLOCK))
        scores = np.concatenate([best_scores, queries @ flat.vectors(rows).T], axis=1)
        rows = np.concatenate([best_rows, np.broadcast_to(rows, (len(queries), len(rows)))], axis=1)
        keep = np.argpartition(-scores, K - 1, axis=1)[:, :K]
        best_rows, best_scores = np.take_along_axis(rows, keep, 1), np.take_along_axis(scores, keep, 1)
    return [set(r.tolist()) for r in best_rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=600_000)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--segment", type=Path, help="a segment's dense folder: use its vectors.faiss rows")
    args = ap.parse_args()
    pool, queries = real_vectors()
    with tempfile.TemporaryDirectory() as tmp:
        new, old = Path(tmp, "int8"), Path(tmp, "per-dimension")
        started = time.perf_counter()
        if args.segment:
            flat = B.FlatFile(args.segment / D.VECTORS)
            blocks = (flat.codes(np.arange(lo, min(flat.n, lo + D.BLOCK))) for lo in range(0, flat.n, D.BLOCK))
            B.write_dense_codes(new, flat.n, flat.dim, blocks, threshold=0)
        else:
            B.write_dense(new, replay(pool, args.rows, args.noise), threshold=0)
        print(f"int8 segment built in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        per_dimension_copy(new, old)
        print(f"per-dimension copy built in {time.perf_counter() - started:.0f} s", flush=True)
        truth = exact_top10(new, queries)
        segments = {"int8": D.DenseSegment.load(new), "per-dimension": D.DenseSegment.load(old)}
        times = {name: [] for name in segments}
        found = {name: 0 for name in segments}
        for i, q in enumerate(queries):
            for name in sorted(segments, reverse=bool(i % 2)):  # alternate who goes first
                t = time.perf_counter()
                rows, _ = segments[name].search(q, K)
                times[name].append(time.perf_counter() - t)
                found[name] += len(set(rows.tolist()) & truth[i])
        for name, lat in times.items():
            print(
                f"{name}: p50 {np.median(lat) * 1000:.2f} ms, p95 {np.percentile(lat, 95) * 1000:.2f} ms, "
                f"recall@10 {found[name] / (K * len(queries)):.4f}"
            )
        ratio = np.median(np.array(times["int8"]) / np.array(times["per-dimension"]))
        print(
            f"int8/per-dimension time, median of per-question ratios: {ratio:.3f} "
            f"({segments['int8'].n:,} rows, nprobe {segments['int8'].params['nprobe']})"
        )


if __name__ == "__main__":
    main()
