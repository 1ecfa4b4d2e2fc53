"""The period index at scale: build, save, load and ``rows_speaking_of`` at 3,000,000 periods.

    python bench/bench_dated.py [--periods 3000000] [--rows 1000000] [--queries 200]

Synthetic periods shaped like newspaper text over 2000-2025: 40% single days (「昨天」「7月28日」),
25% months, 10% quarters/halves, 15% years, 5% plan-length spans (5 years), 1% long careers
(10-30 years), 4% vague. Each query kind is timed against the obvious full scan of the same
arrays (every period checked), and both must return the same rows — with the default length
limit (a period counts when at most WITHIN times as long as the asked one, at least a month)
and without it ("any").
Figures are printed; ratios compare runs within this one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.time.period_index import MIN_LIMIT, WITHIN, PeriodIndex  # noqa: E402

PHRASES = ["昨天", "7月28日", "今年上半年", "一季度", "去年", "2023年", "十四五期间", "1986年10月至2005年6月", "近日"]


def synthetic(n: int, rows: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    lo, hi = dt.date(2000, 1, 1).toordinal(), dt.date(2025, 12, 31).toordinal()
    start = rng.integers(lo, hi, n)
    kind = rng.choice(7, n, p=[0.40, 0.25, 0.10, 0.15, 0.05, 0.01, 0.04])
    length = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4, kind == 5, kind == 6],
        [0, 30, rng.choice([90, 181], n), 364, 1825, rng.integers(3650, 11000, n), 30],
    )
    return {
        "rows": rows,
        "row": np.sort(rng.integers(0, rows, n)),
        "start": start,
        "end": start + length,
        "vague": kind == 6,
        "offset": rng.integers(0, 500, n),
        "phrases": [PHRASES[k] if k < 6 else PHRASES[-1] for k in kind.tolist()],
    }


def full_scan(a: dict, f: int, t: int, within: float | None) -> np.ndarray:
    """The obvious answer: every period checked (overlap, precise, not too long for the asked span)."""
    limit = np.inf if within is None else max(within * (t - f + 1), MIN_LIMIT)
    hit = (a["start"] <= t) & (a["end"] >= f) & ~a["vague"] & (a["end"] - a["start"] + 1 <= limit)
    return np.unique(a["row"][hit])


def timed(fn, reps: int) -> tuple[float, float]:
    ms = []
    for _ in range(reps):
        s = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - s) * 1000)
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--periods", type=int, default=3_000_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    a = synthetic(args.periods, args.rows)
    s = time.perf_counter()
    index = PeriodIndex.from_arrays(**a)
    print(f"build {args.periods:,} periods over {args.rows:,} rows: {time.perf_counter() - s:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        s = time.perf_counter()
        index.save(tmp)
        size = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
        print(f"save: {time.perf_counter() - s:.2f} s, {size:.0f} MiB on disk")
        s = time.perf_counter()
        loaded = PeriodIndex.load(tmp)
        print(f"load (memory-mapped): {(time.perf_counter() - s) * 1000:.1f} ms")
        rng = np.random.default_rng(1)
        base = dt.date(2001, 1, 1).toordinal() + rng.integers(0, 8700, args.queries)
        print(f"{'query':<16}{'rows p50':>10}{'index p50/p95 ms':>20}{'scan p50/p95 ms':>20}{'speed-up':>10}")
        for within in (WITHIN, None):
            for name, span in (("day", 0), ("month", 30), ("year", 364), ("5 years", 1825)):
                qs = [(int(d), int(d) + span) for d in base]

                def ask(q, w=within):
                    return loaded.rows_speaking_of(dt.date.fromordinal(q[0]), dt.date.fromordinal(q[1]), within=w)

                for q in qs[:10]:  # same rows as the obvious scan
                    assert np.array_equal(ask(q), full_scan(a, *q, within))
                it, it2 = iter(qs * 3), iter(qs * 3)
                idx = timed(lambda: ask(next(it)), args.queries)
                scan = timed(lambda: full_scan(a, *next(it2), within), args.queries)
                n = int(np.median([len(ask(q)) for q in qs[:20]]))
                label = f"{name} ({'any' if within is None else within})"
                print(
                    f"{label:<16}{n:>10,}{idx[0]:>11.2f} /{idx[1]:>6.2f}{scan[0]:>11.2f} /{scan[1]:>6.2f}"
                    f"{scan[0] / idx[0]:>9.1f}x",
                    flush=True,
                )
        rows = rng.integers(0, args.rows, args.queries)
        it3 = iter(rows.tolist())
        why = timed(lambda: loaded.why(next(it3), "2000-01-01", "2025-12-31"), args.queries)
        print(f"why(row): p50 {why[0]:.3f} ms, p95 {why[1]:.3f} ms")


if __name__ == "__main__":
    main()
