"""Segment BM25 (qa.store.folder.bm25) against bm25s at scale: build, disk, load, RSS, query p50/p95.

    python bench/bench_bm25.py [--rows 1000000] [--articles 2000] [--days 30] [--bm25s-rows N] [--x3] [--merge x3]
    python bench/bench_bm25.py --vocab 2300000     # term-id lookup: mapped vocab.txt + bisect vs a JSON dict
    python bench/bench_bm25.py --reuse DIR --x3 --old /tmp/base  # this code against another source tree
    python bench/bench_bm25.py --index DIR   # a built index: blocked accumulator vs whole-list passes

Rows are real news chunks (``--articles`` of ../shared/data/news_sample.jsonl, chunked with
qa.ingest.chunk and cut with qa.text.tokens) replicated to ``--rows`` with small variations: a random
prefix/suffix trimmed and two long-tail tokens added per row (Zipf over 2 M ids), so the
vocabulary grows the way a real archive's does. ``--days`` small segments of 3,000 rows play
daily issues; 3% of the big segment's rows are tombstoned. Queries are 4-8 word windows of
articles that are not in the corpus. Each engine is loaded and queried in a fresh child
process so load time and RSS are its own. ``--x3`` adds a 3x-rows view (the big segment three
times with different live masks, plus the days); ``--merge x3`` times merging that view (needs
about 5 GB more memory) instead of the big segment plus the days.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"
DAY_ROWS = 3000


def corpus(n_articles: int, n_queries: int) -> tuple[list[list[str]], list[list[str]]]:
    from qa.ingest.chunk import chunk_text
    from qa.text.tokens import tokenize

    lines = NEWS.read_text(encoding="utf-8").splitlines()
    chunks = [tokenize(c) for ln in lines[:n_articles] for c in chunk_text(json.loads(ln)["text"])]
    rng = np.random.default_rng(7)
    queries = []
    for ln in lines[n_articles : n_articles + n_queries]:
        words = tokenize(json.loads(ln)["text"][:300])
        n = int(rng.integers(4, 9))
        start = int(rng.integers(0, max(1, len(words) - n)))
        queries.append(words[start : start + n])
    return chunks, [q for q in queries if q]


def vary(chunks: list[list[str]], n: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(chunks), n)
    cut = rng.integers(0, 6, (n, 2))
    tail = rng.zipf(1.3, (n, 2)) % 2_000_000
    return [
        chunks[p][a : len(chunks[p]) - b] + [f"x{t0}", f"x{t1}"]
        for p, (a, b), (t0, t1) in zip(pick.tolist(), cut.tolist(), tail.tolist())
    ]


def vocab_lookup(n: int) -> None:
    """Term-id lookup over ``n`` tokens: vocab.txt + offsets (memory-mapped, bisect) vs vocab.json -> dict."""
    import mmap

    import psutil

    from qa.store.folder.postings import Vocab

    rng = np.random.default_rng(0)
    codes, lens = rng.integers(0x4E00, 0x4E00 + 3000, (n, 4)), rng.integers(1, 5, n)
    toks = sorted({"".join(map(chr, c[:k])) for c, k in zip(codes.tolist(), lens.tolist())})
    d = Path(tempfile.mkdtemp(prefix="bench_vocab_"))
    v = Vocab.from_sorted(toks)
    (d / "vocab.txt").write_bytes(v.blob)
    np.save(d / "off.npy", v.offsets)
    (d / "vocab.json").write_text(json.dumps(toks, ensure_ascii=False), encoding="utf-8")
    del v
    queries = [toks[i] for i in rng.integers(0, len(toks), 1000)] + ["不存在的词zz"] * 10
    proc = psutil.Process()
    for name in ("mmap+bisect", "json+dict"):
        rss, t = proc.memory_info().rss, time.perf_counter()
        if name == "json+dict":
            ix = {w: i for i, w in enumerate(json.loads((d / "vocab.json").read_text(encoding="utf-8")))}
            find = lambda w: ix.get(w, -1)  # noqa: E731
        else:
            with open(d / "vocab.txt", "rb") as f:
                find = Vocab(
                    mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), np.load(d / "off.npy", mmap_mode="r")
                ).find
        t1 = time.perf_counter()
        for w in queries:
            find(w)
        t2 = time.perf_counter()
        print(
            f"{name:12s} {len(toks):,} tokens: open {(t1 - t) * 1000:.1f} ms, "
            f"first lookup {(t2 - t1) / len(queries) * 1e6:.1f} "
            f"us/token, rss +{(proc.memory_info().rss - rss) / 2**20:.0f} MB"
        )
    for f in d.iterdir():
        f.unlink()
    d.rmdir()


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def child(args: argparse.Namespace) -> None:
    """Load one engine from ``args.dir`` and time the queries; print one JSON line."""
    import psutil

    d, spec = Path(args.dir), json.loads(Path(args.dir, "spec.json").read_text())
    queries = json.loads(Path(d, "queries.json").read_text(encoding="utf-8"))
    import bm25s

    from qa.store.folder.bm25 import Postings, SegmentedBM25

    t0 = time.perf_counter()  # imports above are not load time
    if args.child == "bm25s":
        eng = bm25s.BM25.load(str(d / "bm25s"), load_corpus=False, mmap=False, allow_pickle=False)
        n = eng.scores["num_docs"]
        mask = (np.random.default_rng(3).random(n) < 0.1).astype(np.float32)

        def run(
            q, allowed
        ):  # what qa/store/folder/reader.py bm25_search does, ties kept as qa.store.folder.bm25 keeps them
            s = eng.get_scores_from_ids(eng.get_tokens_ids(q), weight_mask=mask if allowed else None)
            cand = np.flatnonzero(s > 0)
            if len(cand) > 10:
                cand = cand[s[cand] >= np.partition(s[cand], len(cand) - 10)[len(cand) - 10]]
            return [(0, int(r), float(s[r])) for r in cand[np.lexsort((cand, -s[cand]))][:10]]
    else:
        segs = {name: Postings.load(d / name) for name in sorted(set(spec[args.child]["segments"]))}
        parts = [
            (segs[name], None if m is None else np.load(d / m))
            for name, m in zip(spec[args.child]["segments"], spec[args.child]["masks"])
        ]
        eng = SegmentedBM25(parts)
        rng = np.random.default_rng(3)
        masks = [rng.random(p.n_rows) < 0.1 for p, _ in parts]

        def run(q, allowed):
            return eng.search(q, 10, masks if allowed else None)

    load_ms = (time.perf_counter() - t0) * 1000
    out = {
        "engine": args.child,
        "load_ms": round(load_ms, 1),
        "rss_mb": round(psutil.Process().memory_info().rss / 2**20),
    }
    for allowed in (False, True):
        times, tops = [], []
        cpu = time.process_time()
        for q in queries:
            t = time.perf_counter()
            tops.append(run(q, allowed))
            times.append((time.perf_counter() - t) * 1000)
        cpu_ms = (time.process_time() - cpu) * 1000 / len(queries)  # robust to a busy shared machine
        key = "filtered10%" if allowed else "plain"
        out[key] = {
            "p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
            "cpu_ms": round(cpu_ms, 2),
        }
        if not allowed:
            out["top10"] = tops
    out["rss_after_mb"] = round(psutil.Process().memory_info().rss / 2**20)
    print(json.dumps(out))


def measure(d: Path, engine: str, tree: Path = ROOT) -> dict:
    """One engine's figures, measured by ``tree``'s code (this checkout, or ``--old``) in a child process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    script = Path(tree) / "bench" / "bench_bm25.py"
    r = subprocess.run(
        [sys.executable, str(script), "--child", engine, "--dir", str(d)], capture_output=True, text=True, env=env
    )
    if r.returncode:
        sys.exit(f"child {engine} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def blocks_on_index(index: Path, n: int = 300, k: int = 50, rounds: int = 4) -> None:
    """On a built index (``qa index`` / bench_scale), BM25 as asks run it (top 50) with the big segments'
    accumulator filled a block of rows at a time and read from the rarest words' floor, against one
    pass per word over the whole accumulator and every hit read; alternating per question."""
    import platform

    from bench_query import questions

    from qa.store.folder import bm25
    from qa.store.folder.reader import IndexReader
    from qa.text.tokens import tokenize

    reader = IndexReader.open(index)
    queries = [[t for t in tokenize(q["question"]) if t] for q in questions(n)]
    tuned = (bm25.BLOCK_ROWS, bm25.FLOOR_ROWS)
    ways = {"blocks": tuned, "whole": (2**62, 0)}
    times: dict[str, list[float]] = {w: [] for w in ways}
    tops: dict[str, list] = {w: [] for w in ways}
    for r in range(rounds):
        for q in queries:
            for way in sorted(ways, reverse=bool(r % 2)):
                bm25.BLOCK_ROWS, bm25.FLOOR_ROWS = ways[way]
                t = time.perf_counter()
                top = reader._bm25.search(q, k)
                times[way].append((time.perf_counter() - t) * 1000)
                if r == 0:
                    tops[way].append(top)
    bm25.BLOCK_ROWS, bm25.FLOOR_ROWS = tuned
    b, w = np.array(times["blocks"]), np.array(times["whole"])
    same = sum(x == y for x, y in zip(tops["blocks"], tops["whole"]))
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {reader.n_chunks:,} rows in "
        f"{len(reader.segments)} segments; {len(queries)} questions x {rounds}\n"
        f"blocks p50/p95 {np.median(b):.2f}/{np.percentile(b, 95):.2f} ms, whole lists "
        f"{np.median(w):.2f}/{np.percentile(w, 95):.2f} ms: blocks/whole p50 {np.median(b) / np.median(w):.3f}x, "
        f"median per question {np.median(b / w):.3f}x; same top {k} {same}/{len(queries)}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument(
        "--bm25s-rows", type=int, default=None, help="rows for the bm25s comparison (default --rows; 0 skips)"
    )
    ap.add_argument("--x3", action="store_true")
    ap.add_argument("--merge", choices=["days", "x3"], default="days", help="which view to merge into one segment")
    ap.add_argument("--reuse", help="a folder an earlier run left: skip the builds, measure and merge again")
    ap.add_argument("--vocab", type=int, help="only compare vocabulary lookups over about this many tokens")
    ap.add_argument("--old", type=Path, help="a source tree to compare with: both measured, interleaved")
    ap.add_argument("--index", type=Path, help="a built index: blocked accumulator vs whole-list passes")
    ap.add_argument("--child"), ap.add_argument("--dir")
    args = ap.parse_args()
    if args.index:
        return blocks_on_index(args.index)
    if args.child:
        return child(args)
    if args.vocab:
        return vocab_lookup(args.vocab)
    if args.reuse and args.old:
        return compare(args, Path(args.reuse))
    if args.reuse:
        d = Path(args.reuse)
    else:
        d = Path(tempfile.mkdtemp(prefix="bench_bm25_"))
        build(args, d)
    measure_all(args, d)


def build(args: argparse.Namespace, d: Path) -> None:
    from qa.store.folder.bm25 import Postings

    t = time.perf_counter()
    chunks, queries = corpus(args.articles, args.queries)
    print(
        f"tokenized {len(chunks)} chunks of {args.articles} articles in {time.perf_counter() - t:.1f} s; "
        f"{len(queries)} queries"
    )
    (d / "queries.json").write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    rows = vary(chunks, args.rows, seed=1)
    t = time.perf_counter()
    big = Postings.build(rows)
    build_s = time.perf_counter() - t
    big.save(d / "big")
    print(
        f"build {args.rows:,} rows: {build_s:.1f} s; {len(big.vocab):,} terms, {len(big.docs):,} postings, "
        f"disk {disk_mb(d / 'big'):.0f} MB"
    )
    t = time.perf_counter()
    for i in range(args.days):
        Postings.build(vary(chunks, DAY_ROWS, seed=100 + i)).save(d / f"day{i:02d}")
    print(
        f"build+save one daily segment of {DAY_ROWS} rows: "
        f"{(time.perf_counter() - t) / max(args.days, 1) * 1000:.0f} ms"
    )
    rng = np.random.default_rng(2)
    for i in range(3):
        np.save(d / f"live{i}.npy", rng.random(args.rows) > 0.03)
    days = [f"day{i:02d}" for i in range(args.days)]
    spec = {
        "one": {"segments": ["big"], "masks": [None]},
        "days": {"segments": ["big", *days], "masks": ["live0.npy"] + [None] * len(days)},
        "x3": {"segments": ["big"] * 3 + days, "masks": ["live0.npy", "live1.npy", "live2.npy"] + [None] * len(days)},
    }
    n_bm25s = args.rows if args.bm25s_rows is None else args.bm25s_rows
    (d / "spec.json").write_text(json.dumps({**spec, "rows": args.rows, "bm25s_rows": n_bm25s}))
    if n_bm25s:
        import bm25s

        t = time.perf_counter()
        ref = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        ref.index(rows[:n_bm25s], show_progress=False)
        ref.save(str(d / "bm25s"), allow_pickle=False)
        print(f"bm25s build+save {n_bm25s:,} rows: {time.perf_counter() - t:.1f} s, disk {disk_mb(d / 'bm25s'):.0f} MB")
        del ref


def compare(args: argparse.Namespace, d: Path, rounds: int = 2) -> None:
    """This code against ``--old`` on the same segments: each engine view measured ``rounds`` times,
    the two trees taking turns (the best round of each counts), top-10 compared."""
    import platform

    views = ["one", *(["x3"] if args.x3 else ["days"])]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; load {os.getloadavg()}")
    for view in views:
        got: dict[str, list[dict]] = {"old": [], "new": []}
        for _ in range(rounds):
            got["old"].append(measure(d, view, args.old))
            got["new"].append(measure(d, view, ROOT))
        line = []
        for key in ("plain", "filtered10%"):
            o = min(got["old"], key=lambda r: r[key]["p50_ms"])[key]
            n = min(got["new"], key=lambda r: r[key]["p50_ms"])[key]
            line.append(
                f"{key} old p50/p95 {o['p50_ms']:.1f}/{o['p95_ms']:.1f} new {n['p50_ms']:.1f}/{n['p95_ms']:.1f} ms "
                f"(new/old p50 {n['p50_ms'] / o['p50_ms']:.2f}x, cpu {n['cpu_ms'] / o['cpu_ms']:.2f}x)"
            )
        same = sum(a == b for a, b in zip(got["old"][0]["top10"], got["new"][0]["top10"]))
        print(f"{view:5s} " + "; ".join(line) + f"; same top-10 {same}/{len(got['old'][0]['top10'])}", flush=True)
    print(f"load at end {os.getloadavg()}")


def measure_all(args: argparse.Namespace, d: Path) -> None:
    from qa.store.folder.bm25 import Postings

    spec = json.loads((d / "spec.json").read_text())
    n_bm25s = spec["bm25s_rows"]
    results = {e: measure(d, e) for e in ["one", "days", *(["x3"] if args.x3 else []), *(["bm25s"] if n_bm25s else [])]}
    for e, r in results.items():
        print(
            f"{e:6s} load {r['load_ms']:8.1f} ms  rss {r['rss_mb']:5d}->{r['rss_after_mb']:5d} MB  "
            f"plain p50/p95 {r['plain']['p50_ms']:.2f}/{r['plain']['p95_ms']:.2f} ms (cpu {r['plain']['cpu_ms']:.2f})  "
            f"10%-filter p50/p95 {r['filtered10%']['p50_ms']:.2f}/{r['filtered10%']['p95_ms']:.2f} ms "
            f"(cpu {r['filtered10%']['cpu_ms']:.2f})"
        )
    if n_bm25s == spec["rows"]:
        pairs = list(zip(results["one"]["top10"], results["bm25s"]["top10"]))
        same = sum([r for _, r, _ in a] == [r for _, r, _ in b] for a, b in pairs)
        close = sum(len(a) == len(b) and np.allclose([x[2] for x in a], [y[2] for y in b], atol=1e-4) for a, b in pairs)
        print(
            f"vs bm25s on the same rows: top-10 scores equal (1e-4) for {close}/{len(pairs)} queries, "
            f"same rows in the same order for {same}/{len(pairs)}"
        )
    t = time.perf_counter()
    names = spec[args.merge]
    segs = {n: Postings.load(d / n) for n in set(names["segments"])}
    merged = Postings.merge(
        [(segs[n], None if m is None else np.load(d / m)) for n, m in zip(names["segments"], names["masks"])]
    )
    print(f"merge {args.merge} into one segment of {merged.n_rows:,} rows: {time.perf_counter() - t:.1f} s")
    print(f"(files under {d}; remove with rm -r)")


if __name__ == "__main__":
    main()
