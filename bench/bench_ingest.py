"""Ingest throughput: read_archive + segment_page over the shared JSONL sample, two ways.

1. the JSONL export as given (one article per line);
2. the same articles written as page files in issue folders (``<paper>/<date>/<NN>.txt``).

Run ``python bench/bench_ingest.py [--limit N]``; prints plain figures (pages/s, characters/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.ingest import read_archive  # noqa: E402
from qa.ingest.segment import segment_page  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared/data/news_sample.jsonl"


def run(label: str, path: Path) -> None:
    """Time read_archive + segment_page over ``path`` and print one line of figures."""
    start = time.perf_counter()
    report = read_archive([path])
    read_s = time.perf_counter() - start
    articles = sum(len(segment_page(p)) for p in report.pages)
    total_s = time.perf_counter() - start
    chars = sum(len(p.text) for p in report.pages)
    print(
        f"{label}: {len(report.pages)} pages, {articles} articles, {chars} chars, "
        f"{len(report.skipped)} skipped; read {read_s:.2f} s, read+segment {total_s:.2f} s; "
        f"{len(report.pages) / total_s:.0f} pages/s, {chars / total_s:.0f} chars/s"
    )


def write_issue_folders(lines: list[str], top: Path) -> int:
    """Each JSONL article becomes page NN of its date's issue folder; returns the number written."""
    per_day: dict[str, int] = defaultdict(int)
    for line in lines:
        obj = json.loads(line)
        per_day[obj["date"]] += 1
        folder = top / "样本日报" / obj["date"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{per_day[obj['date']]:03d}.txt").write_text(obj["text"], encoding="utf-8")
    return sum(per_day.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N lines of the sample")
    args = parser.parse_args()
    lines = [s for s in SAMPLE.read_text(encoding="utf-8").splitlines() if s.strip()]
    if args.limit:
        lines = lines[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "news_sample.jsonl"
        jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
        run("jsonl", jsonl)
        n = write_issue_folders(lines, Path(tmp) / "archive")
        print(f"wrote {n} page files in issue folders")
        run("issue folders", Path(tmp) / "archive")


if __name__ == "__main__":
    main()
