"""Extractive vs LLM answers on CMRC 2018 trial questions: time to first token, total answer time,
and the share of LLM sentences the checks drop as unsupported.

    python bench/bench_llm.py [--n 50] [--passages 2] [--chars 300] [--max-tokens 80] [--threads 2]
    python bench/bench_llm.py --base-url http://127.0.0.1:11434/v1 --model qwen2.5:7b   # another server

Without ``--base-url`` it starts the local llama-cpp-python server with SmolLM2-135M-Instruct
(qa/answer/local_llm.py) on ``--threads`` cores. Each question's own CMRC passage is cut into
~``--chars`` windows and the ``--passages`` windows sharing most words with the question are the
passages, as retrieval would hand them over; retrieval itself costs the same in both modes and is
left out, so the times compare composing the extractive answer with the LLM's. Questions are
taken evenly from the 1,002 (every k-th), the same ones on every run.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CMRC = ROOT.parent / "shared" / "data" / "cmrc2018_trial.json"

from qa.answer.extract import compose_answer, overlap  # noqa: E402
from qa.answer.grounded import grounded_answer  # noqa: E402
from qa.answer.llm import LLMClient, LLMConfig  # noqa: E402
from qa.text.chinese import split_sentences  # noqa: E402
from qa.types import Citation, Hit  # noqa: E402


def windows(text: str, size: int) -> list[str]:
    """Whole sentences packed into windows of about ``size`` characters."""
    out, cur = [], ""
    for s in split_sentences(text):
        if cur and len(cur) + len(s) > size:
            out.append(cur)
            cur = ""
        cur += s
    return out + [cur] if cur else out


def sample(n: int) -> list[tuple[str, str, list[str], str]]:
    """(question, passage text, gold answers, title) for ``n`` questions spread over the file."""
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    rows = [
        (qa["question"], p["context"], [a["text"] for a in qa["answers"]], art.get("title") or "")
        for art in data["data"]
        for p in art["paragraphs"]
        for qa in p["qas"]
    ]
    step = max(1, len(rows) // n)
    return rows[::step][:n]


def passages(question: str, context: str, title: str, k: int, size: int) -> list[Hit]:
    parts = sorted(windows(context, size), key=lambda w: -overlap(question, w))[:k]
    cit = Citation("CMRC", "2018-06-01", None, 1, None, title, "cmrc", "cmrc2018_trial.json")
    return [Hit(i, f"w{i}", 1.0 / (1 + i), w, cit) for i, w in enumerate(parts)]


def why_kind(why: str) -> str:
    for key, name in (
        ("没有标注", "no marker"),
        ("不存在的段落", "marker out of range"),
        ("数字或日期", "number/date not in passage"),
        ("名称", "name/title not in passage"),
        ("只有来源", "marker or citation only"),
        ("对不上", "words not in passage"),
    ):
        if key in why:
            return name
    return "other"


def run(client: LLMClient, questions, k: int, size: int, r: dict) -> None:
    """Fills ``r`` question by question, so that a run stopped early still reports what it did."""
    for i, (q, context, answers, title) in enumerate(questions, start=1):
        hs = passages(q, context, title, k, size)
        t = time.perf_counter()
        extractive = compose_answer(q, hs)
        r["ext_ms"].append((time.perf_counter() - t) * 1000)
        g = grounded_answer(client, q, hs, extractive.text)
        r["modes"][g.mode] += 1
        r["codes"][getattr(g, "reason_code", None) or "-"] += 1
        r["kept"] += len(g.kept)
        r["dropped"] += len(g.dropped)
        r["reasons"].update(why_kind(c.why or "") for c in g.dropped)
        r["llm_answer_has_gold"] += g.mode == "llm" and any(a in g.text for a in answers)
        r["extractive_has_gold"] += any(a in extractive.text for a in answers)
        r["shown_has_gold"] += any(a in g.text for a in answers)
        if g.first_token_ms is not None:
            r["ttft"].append(g.first_token_ms)
        r["total"].append(g.total_ms)
        r["n"] = i
        shown = g.text if g.mode == "llm" else ""
        print(
            f"[{i}/{len(questions)}] {g.mode:<12} kept {len(g.kept)} dropped {len(g.dropped)} "
            f"ttft {g.first_token_ms or 0:.0f} ms total {g.total_ms:.0f} ms  {q[:30]}  {shown[:60]!r}",
            flush=True,
        )
        for c in g.dropped[:3]:
            print(f"      dropped {c.text[:50]!r}: {c.why}", flush=True)


def new_result() -> dict:
    return {
        "ext_ms": [],
        "ttft": [],
        "total": [],
        "modes": Counter(),
        "codes": Counter(),
        "kept": 0,
        "dropped": 0,
        "reasons": Counter(),
        "llm_answer_has_gold": 0,
        "extractive_has_gold": 0,
        "shown_has_gold": 0,
        "n": 0,
    }


def report(r: dict) -> None:
    n = r["n"]
    if not n:
        return
    med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
    sentences = r["kept"] + r["dropped"]
    print(f"\nquestions: {n}")
    print(f"extractive answer (compose only): median {med(r['ext_ms']):.1f} ms, max {max(r['ext_ms']):.1f} ms")
    print(f"LLM time to first token: median {med(r['ttft']):.0f} ms over {len(r['ttft'])} answers")
    print(f"LLM total answer time (p50):   median {med(r['total']):.0f} ms, max {max(r['total']):.0f} ms")
    print(f"LLM / extractive median time: {med(r['total']) / max(med(r['ext_ms']), 1e-3):.0f}x")
    print(f"answer_mode: {dict(r['modes'])}; reason_code: {dict(r['codes'])}")
    share = r["dropped"] / sentences if sentences else float("nan")
    print(f"LLM sentences: {sentences}, dropped as unsupported: {r['dropped']} ({share:.1%})")
    print(f"why dropped: {dict(r['reasons'])}")
    llm_n = r["modes"].get("llm", 0)
    print(f"llm answers holding a gold answer string: {r['llm_answer_has_gold']} of {llm_n}")
    print(
        f"answers shown (any mode) holding a gold answer string: {r['shown_has_gold']} of {n}; "
        f"extractive alone: {r['extractive_has_gold']} of {n}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--passages", type=int, default=2)
    ap.add_argument("--chars", type=int, default=300)
    ap.add_argument("--max-tokens", type=int, default=80)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument(
        "--gguf", type=Path, help="another GGUF for the local server (e.g. Qwen2.5-Coder-0.5B, docs/llm.md)"
    )
    ap.add_argument("--base-url")
    ap.add_argument("--model")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a killed bench still stops its LLM server
    questions = sample(a.n)
    server = None
    if a.base_url is None:
        from qa.answer.local_llm import LocalLLM

        server = LocalLLM(threads=a.threads, gguf=a.gguf)
    try:
        url, model = (a.base_url, a.model) if server is None else (server.url, server.model)
        cfg = LLMConfig(
            url, model, timeout_s=a.timeout, max_tokens=a.max_tokens, passages=a.passages, passage_chars=a.chars
        )
        print(f"LLM {model} at {url}; {a.passages} passages of <= {a.chars} chars, max_tokens {a.max_tokens}")
        r = new_result()
        try:
            run(LLMClient(cfg), questions, a.passages, a.chars, r)
        finally:
            report(r)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
