"""Texts for bench/bench_embed.py: seeds chunks, CMRC chunks and questions, a ~100,000-character issue.

Chunks are cut exactly as the index cuts them (``qa.ingest.chunk``), so characters/s here is the
characters/s of a build's embedding step.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from qa.ingest import read_archive
from qa.ingest.chunk import chunk_article, embedding_text
from qa.ingest.segment import segment_page
from qa.types import Article

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
ISSUE_DATE = "2024-05-20"  # one issue: every article gets this date


def seeds_chunks() -> list[str]:
    pages = read_archive([ROOT / "seeds"]).pages
    return [embedding_text(c) for p in pages for a in segment_page(p) for c in chunk_article(a, p.page_id)]


def cmrc(paragraphs: int) -> tuple[list[str], list[int], list[tuple[str, int, list[str]]]]:
    """(chunk texts, the paragraph index of each chunk, questions as (text, paragraph index, answers))."""
    data = json.loads((SHARED / "cmrc2018_trial.json").read_text(encoding="utf-8"))
    paras = [(d.get("title"), p) for d in data["data"] for p in d["paragraphs"]][:paragraphs]
    texts, owner, qs = [], [], []
    for k, (title, p) in enumerate(paras):
        for c in chunk_article(Article(article_id=p["id"], title=title or None, body=p["context"]), p["id"]):
            texts.append(embedding_text(c))
            owner.append(k)
        qs += [(q["question"], k, [a["text"] for a in q["answers"]]) for q in p["qas"]]
    return texts, owner, qs


def write_issue(path: Path, chars: int) -> tuple[int, int]:
    """The first news_sample.jsonl articles up to ``chars`` characters of text, as one day's JSONL
    export at ``path`` (one page per article, numbered); returns (articles, characters)."""
    rows, total = [], 0
    with open(SHARED / "news_sample.jsonl", encoding="utf-8") as f:
        for line in f:
            if total >= chars:
                break
            n = json.loads(line)
            rows.append(
                {
                    "id": f"news-{n['id']}",
                    "text": n["text"],
                    "date": ISSUE_DATE,
                    "paper": "新闻样本",
                    "page": len(rows) + 1,
                }
            )
            total += len(n["text"])
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows), total


def recall(P: np.ndarray, Q: np.ndarray, texts: list[str], owner: list[int], qs) -> tuple[float, float]:
    """Dense recall@1/@5: a hit is a chunk of the question's paragraph that contains an answer."""
    top = np.argsort(-(Q @ P.T), axis=1, kind="stable")[:, :5]
    hit = [[owner[j] == k and any(a in texts[j] for a in ans) for j in row] for row, (_, k, ans) in zip(top, qs)]
    return float(np.mean([h[0] for h in hit])), float(np.mean([any(h) for h in hit]))


def load() -> float:
    """The 1-minute load average: printed next to every figure (the machine is shared)."""
    return os.getloadavg()[0]


def cpu_summary() -> str:
    flags: set[str] = set()
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    wide = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma"))
    return f"{model}, {len(os.sched_getaffinity(0))} cores usable; vector flags: {' '.join(wide) or 'none'}"
