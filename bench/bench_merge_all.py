"""``qa merge --all`` on a segmented index, in one run: asks and recall@10 before (the index as built) and after
(a hard-linked copy merged into one segment), the merge's time and peak RSS, and each figure as after / before.

    python bench/bench_merge_all.py --index /tmp/s/scale-3m-14 [--queries 300] [--recall-queries 200]

INDEX is left as it is (segments are immutable: the copy shares their files until the merge writes its own;
disk needs room for one more copy of the vectors and postings). Questions and timing are
``bench_scale``'s (``bench_query.questions``, ``Service.ask``, query embedded for real).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_ask_ab import cpu  # noqa: E402
from bench_query import questions  # noqa: E402
from bench_scale import _rss, latency, recall_at_10  # noqa: E402


def measure(index: Path, embedder, qs: list[dict], recall_queries: int) -> dict:
    """Segments, recall@10 against exact search and ask latency per question kind of ``index``."""
    from qa.service import Service
    from qa.store import IndexReader

    with IndexReader.open(index) as reader:
        out = {"segments": len(reader.segments)}
        qvecs = embedder.encode_queries([q["question"] for q in qs[:recall_queries]])
        out["recall@10"] = round(recall_at_10(reader, qvecs), 4)
    service = Service(index, embedder=embedder)
    latency(service, qs)  # a first pass reads the index into the page cache (both copies do not fit at 3M)
    return out | latency(service, qs)


def merge_all(index: Path) -> dict:
    """``qa merge --all`` in a child process: wall time and the child's peak RSS (its own ``VmHWM``: the
    children's rusage would count this big process as forked, before the exec)."""
    started, peak = time.perf_counter(), 0
    child = subprocess.Popen([sys.executable, "-m", "qa.cli", "merge", "--all", "--index", str(index)], cwd=ROOT)
    while child.poll() is None:
        try:
            peak = max(peak, _rss(child.pid, "VmHWM"))
        except OSError:  # it ended between the poll and the read
            pass
        time.sleep(0.5)
    if child.returncode:
        raise SystemExit(f"qa merge --all failed ({child.returncode})")
    return {"merge_all_s": round(time.perf_counter() - started), "merge_all_peak_rss_mb": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--recall-queries", type=int, default=200)
    args = ap.parse_args()
    from qa.embed import load_embedder

    embedder, qs = load_embedder(), questions(args.queries)
    print(f"{cpu()}; load average {os.getloadavg()[0]:.1f}; index {args.index}", flush=True)
    before = measure(args.index, embedder, qs, args.recall_queries)
    copy = args.index.with_name(args.index.name + "-merged")
    subprocess.run(["rm", "-rf", str(copy)], check=True)
    subprocess.run(["cp", "-al", str(args.index), str(copy)], check=True)
    subprocess.run(["rm", "-rf", str(copy / "cache")], check=True)  # appended to in place: not shared
    try:
        figures = merge_all(copy)
        after = measure(copy, embedder, qs, args.recall_queries)
    finally:
        subprocess.run(["rm", "-rf", str(copy)], check=True)
    for key, old in before.items():
        new = after[key]
        ratio = [round(n / o, 2) if o else None for o, n in zip(old, new)] if isinstance(old, list) else None
        print(f"  {key:28} before {old!s:>18}  after {new!s:>18}" + (f"  after/before {ratio}" if ratio else ""))
    figures.update(before=before, after=after, load_end=round(os.getloadavg()[0], 1))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
