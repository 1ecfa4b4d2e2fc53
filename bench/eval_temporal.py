"""Temporal questions over a dated news archive, through the real ask path: R@5 and answer-hit per kind.

    python bench/eval_temporal.py [--articles 600] [--per-kind 40] [--out bench/out/temporal]

The archive is a subset of ../shared/data/news_sample.jsonl (5,000 articles of 2023, nearly
all July/August): embedding all of them takes too long on 2 cores with the bundled model, so
the gold articles of the questions plus random others make up ``--articles`` (600 by default).
It is written as a JSONL export and indexed with ``qa.store.build_index`` (defaults, bundled
model); the index is cached under --out and rebuilt only when the archive changes.

Questions come from ``qa.time.evalset`` (cloze questions over one figure of a sentence, so the
gold article and the answer string are known), in six kinds: undated, absolute (「2023年8月，…」),
last_year (「去年8月，…」 as of 2024-06-01), last_month (「上个月，…」 as of the 15th of the next
month), text_relative and text_dated (the period the sentence itself speaks of, 「今年上半年」
「昨天」 / 「8月3日」, asked with its absolute name). Each goes through ``Service.ask`` with the
service's reference day set to the question's as_of; R@k counts distinct cited articles.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"
TOP_K = 20
FAMILY = ("undated", "absolute", "last_year", "last_month")  # one fact, four wordings of its time


def pick(articles: list[dict], n_articles: int, per_kind: int, seed: int):
    """Gold articles (``per_kind`` questions per kind) plus random others, and their questions."""
    from qa.time.evalset import generate

    rng = random.Random(seed)
    seen, unique = set(), []
    for a in articles:  # the sample repeats some stories: keep one copy so the gold is unambiguous
        key = a["text"][:60]
        if key not in seen:
            seen.add(key)
            unique.append(a)
    questions = generate(unique)
    by_kind = defaultdict(list)
    for q in questions:
        by_kind[q.kind].append(q)
    chosen = []
    family_ids = rng.sample(sorted({q.article_id for q in by_kind["absolute"]}), per_kind)
    chosen += [q for q in questions if q.kind in FAMILY and q.article_id in family_ids]
    for kind in ("text_relative", "text_dated"):
        pool = by_kind[kind]
        chosen += rng.sample(pool, min(per_kind, len(pool)))
    gold = {q.article_id for q in chosen}
    others = [a for a in unique if a["id"] not in gold]
    subset = [a for a in unique if a["id"] in gold] + rng.sample(others, max(0, n_articles - len(gold)))
    return subset, chosen


def build(subset: list[dict], out: Path, embedder) -> Path:
    """The subset as a JSONL export, indexed once (cached by content hash)."""
    from qa.store import build_index

    lines = "".join(
        json.dumps({"id": a["id"], "date": a["date"], "text": a["text"], "paper": "新闻样本"}, ensure_ascii=False)
        + "\n"
        for a in sorted(subset, key=lambda a: a["id"])
    )
    key = hashlib.sha1(lines.encode()).hexdigest()[:12]
    index_dir = out / f"index-{key}"
    if not (index_dir / "CURRENT").exists():
        archive = out / f"archive-{key}.jsonl"
        archive.write_text(lines, encoding="utf-8")
        started = time.perf_counter()
        build_index([archive], index_dir, embedder=embedder, progress=False, log=lambda s: None)
        print(f"indexed {len(subset)} articles in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return index_dir


def run(service, questions) -> list[dict]:
    """Every question through ``Service.ask`` as of its own day; one result row each."""
    from qa.evaluate import answer_hit, first_rank

    rows = []
    for q in questions:
        service.as_of = q.as_of  # None: the newest issue, as for a user without as_of
        started = time.perf_counter()
        answer = service.ask(q.question, top_k=TOP_K)
        cited = [p.citation.article_id for p in answer.passages]
        rows.append(
            {
                "kind": q.kind,
                "question": q.question,
                "gold": q.article_id,
                "as_of": q.as_of,
                "rank": first_rank(cited, q.article_id),
                "hit": answer_hit(answer.answer, q.answers),
                "period_right": (answer.filters.date_from, answer.filters.date_to) == (q.date_from, q.date_to),
                "ms": (time.perf_counter() - started) * 1000.0,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    """Per kind: questions, R@1, R@5, answer-hit, and how often the question's period was read right."""
    lines = [f"{'kind':<14}{'n':>4}{'R@1':>7}{'R@5':>7}{'R@20':>7}{'hit':>7}{'period':>8}"]
    kinds = list(dict.fromkeys(r["kind"] for r in rows)) + ["all"]
    for kind in kinds:
        rs = [r for r in rows if kind in ("all", r["kind"])]
        n = len(rs)

        def at(k: int) -> float:
            return sum(1 for r in rs if r["rank"] is not None and r["rank"] <= k) / n

        period = sum(r["period_right"] for r in rs if r["kind"] != "undated") / max(
            1, sum(r["kind"] != "undated" for r in rs)
        )
        lines.append(
            f"{kind:<14}{n:>4}{at(1):>7.3f}{at(5):>7.3f}{at(20):>7.3f}"
            f"{sum(r['hit'] for r in rs) / n:>7.3f}{period if kind != 'undated' else float('nan'):>8.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=600)
    ap.add_argument("--per-kind", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "temporal")
    args = ap.parse_args()
    from qa.embed import load_embedder
    from qa.service import Service

    args.out.mkdir(parents=True, exist_ok=True)
    articles = [json.loads(line) for line in NEWS.open(encoding="utf-8")]
    subset, questions = pick(articles, args.articles, args.per_kind, args.seed)
    embedder = load_embedder()
    index_dir = build(subset, args.out, embedder)
    service = Service(index_dir, embedder=embedder)
    rows = run(service, questions)
    (args.out / "results.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(subset)} articles, {len(questions)} questions (top_k={TOP_K}); index {index_dir.name}")
    print(table(rows))
    ms = sorted(r["ms"] for r in rows)
    print(f"latency p50 {ms[len(ms) // 2]:.0f} ms, p95 {ms[int(len(ms) * 0.95)]:.0f} ms")


if __name__ == "__main__":
    main()
