"""The whole ask path of two checkouts on one index, interleaved in one run: p50/p95 per question kind
and the ratio new / old, with the CPU and the load average.

    python bench/bench_ask_ab.py --index INDEX --old /tmp/base [--new .] [--queries 300] [--block 25]

``--old`` and ``--new`` are source trees (a checkout, or ``git archive HEAD qa | tar -x -C DIR``);
each runs in its own process (``Service.ask``, warm, no HTTP, queries embedded for real), and they
take turns every ``--block`` questions (the order flips each block), so load changes on a shared
machine fall on both alike. Questions: ``bench_query.questions`` (undated, date-bound naming 2019,
2021 or 2023, and page-filtered), the same list for both. Each process also reports whether its
answers (first cited row) agree with the other's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def child(index: Path) -> None:
    """Ask what the parent sends (one JSON list of questions a line); answer timings and first rows."""
    from qa.service import Service

    service = Service(index)
    service.ask("预热一下是什么？")
    print(json.dumps({"ready": True, "qa": __import__("qa").__file__}), flush=True)
    for line in sys.stdin:
        out = []
        for q in json.loads(line):
            t, c = time.perf_counter(), time.process_time()
            a = service.ask(q["question"], page=q["page"])
            ms, cpu_ms = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
            out.append({"ms": ms, "cpu": cpu_ms, "rows": [p.row for p in a.passages[:3]]})
        print(json.dumps(out), flush=True)


def start(tree: Path, index: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "--index", str(index)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(tree),
    )
    ready = json.loads(proc.stdout.readline())
    print(f"  {tree}: qa from {ready['qa']}", flush=True)
    return proc


def ask(proc: subprocess.Popen, qs: list[dict]) -> list[dict]:
    proc.stdin.write(json.dumps(qs, ensure_ascii=False) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        name = "unknown CPU"
    return f"{name}, {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--old", type=Path)
    ap.add_argument("--new", type=Path, default=ROOT)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--block", type=int, default=25)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.index)
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_query import questions

    qs = questions(args.queries)
    print(f"{cpu()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; index {args.index}")
    procs = {"old": start(args.old, args.index), "new": start(args.new, args.index)}
    got: dict[str, list[dict]] = {"old": [], "new": []}
    for b, lo in enumerate(range(0, len(qs), args.block)):
        for name in ("old", "new") if b % 2 == 0 else ("new", "old"):
            got[name] += ask(procs[name], qs[lo : lo + args.block])
    for p in procs.values():
        p.stdin.close()
        p.wait()
    print(f"load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    kinds = sorted({q["kind"] for q in qs})
    print(f"{'kind':12s} {'n':>4s} {'old p50/p95 ms':>16s} {'new p50/p95 ms':>16s} {'new/old p50':>11s} {'p95':>6s}")
    for kind in kinds + ["all"]:
        idx = [i for i, q in enumerate(qs) if kind in ("all", q["kind"])]
        o = np.array([got["old"][i]["ms"] for i in idx])
        n = np.array([got["new"][i]["ms"] for i in idx])
        o50, o95, n50, n95 = (float(np.percentile(x, p)) for x in (o, n) for p in (50, 95))
        print(
            f"{kind:12s} {len(idx):4d} {o50:7.1f} / {o95:6.1f} {n50:7.1f} / {n95:6.1f} "
            f"{n50 / o50:10.2f}x {n95 / o95:5.2f}x"
        )
    cpu_old, cpu_new = (float(np.mean([r["cpu"] for r in got[name]])) for name in ("old", "new"))
    print(f"CPU per ask (all threads, mean): old {cpu_old:.1f} ms, new {cpu_new:.1f} ms ({cpu_new / cpu_old:.2f}x)")
    same = sum(got["old"][i]["rows"][:1] == got["new"][i]["rows"][:1] for i in range(len(qs)))
    print(f"same first cited passage: {same}/{len(qs)}")


if __name__ == "__main__":
    main()
