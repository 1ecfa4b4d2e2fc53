"""``qa eval``: retrieval and answer quality of the real ask path on a question file.

Each question goes through ``Service.ask`` exactly as a user's would (dates, filters, hybrid
search, answer). Ranks are those of the distinct articles cited, in order, so a question is a
hit at k when its gold article is among the first k articles cited.

>>> first_rank(["a", "b", "b", "c"], "c")
3
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.errors import BadInput, QAError

TOP_K = 20


@dataclass
class Question:
    question: str
    answers: list[str] = field(default_factory=list)
    article_id: str | None = None


def load_questions(path: Path) -> list[Question]:
    """CMRC-style JSON (gold article = paragraph id) or JSONL of {"question", "answers", "article_id"?}."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".jsonl":
        out = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                out.append(Question(obj["question"], list(obj.get("answers") or []), obj.get("article_id")))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise BadInput(f"{path} 第{n}行不是有效的问题：{e}") from None
        return out
    try:
        data = json.loads(text)
        return [
            Question(qa["question"], [a["text"] for a in qa.get("answers", [])], para["id"])
            for article in data["data"]
            for para in article["paragraphs"]
            for qa in para["qas"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise BadInput(f"{path} 不是 CMRC 格式的问题文件：{e}") from None


def first_rank(article_ids: list[str], gold: str) -> int | None:
    """1-based rank of ``gold`` among the distinct ids in order, or None."""
    seen: list[str] = []
    for a in article_ids:
        if a not in seen:
            seen.append(a)
            if a == gold:
                return len(seen)
    return None


def answer_hit(answer: str, answers: list[str]) -> bool:
    """A gold answer string appears in the answer text, whitespace ignored."""
    flat = "".join(answer.split())
    return any("".join(a.split()) in flat for a in answers if a.strip())


def evaluate(service, questions: list[Question], progress: bool = False) -> dict:
    """Run every question through ``service.ask`` and return the figures as a dict."""
    ranks: list[int | None] = []
    hits, found, latencies = [], [], []
    iterator = questions
    if progress:
        from tqdm import tqdm

        iterator = tqdm(questions, unit="问", file=None)
    for q in iterator:
        started = time.perf_counter()
        try:
            answer = service.ask(q.question, top_k=TOP_K)
        except QAError:  # e.g. an empty question in the file: counted as a miss, as a user would see it
            answer = None
        latencies.append((time.perf_counter() - started) * 1000.0)
        cited = [p.citation.article_id for p in answer.passages] if answer else []
        if q.article_id is not None:
            ranks.append(first_rank(cited, q.article_id))
        if q.answers:
            hits.append(answer_hit(answer.answer, q.answers) if answer else False)
        found.append(bool(answer and answer.found))
    return summarize(ranks, hits, found, latencies)


def summarize(ranks: list[int | None], hits: list[bool], found: list[bool], latencies: list[float]) -> dict:
    def recall(k: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else float("nan")

    mrr = sum(1.0 / r for r in ranks if r is not None and r <= 10) / len(ranks) if ranks else float("nan")
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    return {
        "questions": max(len(found), len(ranks)),
        "recall@1": recall(1),
        "recall@5": recall(5),
        "recall@20": recall(20),
        "mrr@10": mrr,
        "answer_hit": sum(hits) / len(hits) if hits else float("nan"),
        "found_rate": sum(found) / len(found) if found else float("nan"),
        "latency_p50_ms": float(np.percentile(lat, 50)),
        "latency_p95_ms": float(np.percentile(lat, 95)),
    }


def format_table(results: dict[str, dict]) -> str:
    """One column per run: ``format_table({"qa": {...}, "baseline": {...}})``."""
    names = list(results)
    keys = list(next(iter(results.values())).keys()) if results else []
    width = max([len(k) for k in keys] + [10])
    lines = [" ".join([" " * width] + [n.rjust(12) for n in names])]
    for k in keys:
        cells = []
        for n in names:
            v = results[n].get(k)
            cells.append(
                (f"{v:.0f}" if k == "questions" else f"{v:.3f}" if "latency" not in k else f"{v:.1f}").rjust(12)
            )
        lines.append(" ".join([k.ljust(width)] + cells))
    return "\n".join(lines)
