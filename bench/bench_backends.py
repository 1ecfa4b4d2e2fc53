"""Ask-path latency of the two backends over the same archive, interleaved in one run.

    python bench/bench_backends.py --index bench/out/cmrc-index --backend bench/out/milvus.db [--questions 200]

Both indexes must hold the same archive (e.g. the two ``bench/eval_cmrc.py`` runs, with and
without ``--backend``). The CMRC trial questions are asked of each backend in turn (one
question on one, then on the other), so background load hits both alike; the figure to read is
the ratio. Also prints how often the two agree on the first cited article.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True, help="the embedded index folder")
    ap.add_argument("--backend", required=True, help="the Milvus URI holding the same archive")
    ap.add_argument("--questions", type=int, default=200)
    args = ap.parse_args()

    from qa.evaluate import load_questions
    from qa.service import Service
    from qa.store.location import parse_backend

    folder = Service(args.index)
    milvus = Service(parse_backend(args.backend), embedder=folder.embedder)
    questions = load_questions(ROOT.parent / "shared" / "data" / "cmrc2018_trial.json")[: args.questions]
    times: dict[str, list[float]] = {"folder": [], "milvus": []}
    same = 0
    for q in questions:
        firsts = []
        for name, svc in (("folder", folder), ("milvus", milvus)):
            t0 = time.perf_counter()
            answer = svc.ask(q.question)
            times[name].append((time.perf_counter() - t0) * 1000.0)
            firsts.append(answer.passages[0].citation.article_id if answer.passages else None)
        same += firsts[0] == firsts[1]
    print(f"{len(questions)} CMRC questions, interleaved; ask path without HTTP, warm")
    for name, ms in times.items():
        print(f"{name:7s} p50 {np.percentile(ms, 50):7.1f} ms   p95 {np.percentile(ms, 95):7.1f} ms")
    ratio = np.percentile(times["milvus"], 50) / np.percentile(times["folder"], 50)
    print(f"milvus / folder p50: {ratio:.2f}x; same first cited article: {same}/{len(questions)}")


if __name__ == "__main__":
    main()
