"""Peak memory of ``qa index`` on ../shared/data/news_sample.jsonl and on twice as much data.

    python bench/bench_memory.py --cache /tmp/news-index/cache/vectors

Each build runs as its own ``qa index`` process into a fresh index folder; its peak resident
memory is read from ``getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process. "Twice as much"
is the sample plus a copy of every article under another id, a year earlier (same texts). With
``--cache`` (a vector cache from an earlier ``qa index`` of the sample) the builds take their
vectors from it, so the figure is the build's own memory plus the loaded model, not hours of
embedding; without it everything is embedded (about an hour per copy on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"
WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, r.returncode)"
)


def copy_a_year_earlier(src: Path, dst: Path) -> None:
    with src.open(encoding="utf-8") as f, dst.open("w", encoding="utf-8") as out:
        for line in f:
            r = json.loads(line)
            year = int(r["date"][:4]) - 1
            date = f"{year}{r['date'][4:]}".replace("-02-29", "-02-28")
            out.write(json.dumps({**r, "id": f"copy-{r['id']}", "date": date}, ensure_ascii=False) + "\n")


def peak_mb(paths: list[Path], index: Path, cache: Path | None, repo: Path) -> tuple[int, int]:
    if cache:
        shutil.copytree(cache, index / "cache" / "vectors")
    qa = [sys.executable, "-c", "import sys; sys.argv[0] = 'qa'; from qa.cli import cli; cli()"]
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *qa, "index", *map(str, paths), "--index", str(index)],
        capture_output=True,
        text=True,
        env={"QA_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)},
    )
    mb, rc = out.stdout.split()[-2:]
    if int(rc):
        print(f"qa index {' '.join(map(str, paths))} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
    return int(mb), int(rc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=None, help="a cache/vectors folder holding the sample's vectors")
    ap.add_argument(
        "--repo", type=Path, default=ROOT, help="the checkout whose qa to run (e.g. an older commit's worktree)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-mem-") as tmp:
        tmp = Path(tmp)
        copy = tmp / "news_copy.jsonl"
        copy_a_year_earlier(NEWS, copy)
        one, rc1 = peak_mb([NEWS], tmp / "one", args.cache, args.repo)
        two, rc2 = peak_mb([NEWS, copy], tmp / "two", args.cache, args.repo)
    print(
        f"qa index, peak RSS: news_sample.jsonl {one} MB (exit {rc1}); twice as much {two} MB (exit {rc2}); "
        f"ratio {two / one:.2f}"
    )


if __name__ == "__main__":
    main()
