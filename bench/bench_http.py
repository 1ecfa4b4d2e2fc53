"""HTTP latency of POST /api/ask under concurrent clients, against a `qa serve`-equivalent server.

Starts the app under waitress in a **separate process** (same code path as ``qa serve``, rate
limit off, access log off) on a free loopback port over ``--index DIR``, then runs
``--concurrency`` client threads (keep-alive connections) that send ``--requests`` questions in
total, and prints p50/p95/p99 latency, errors and requests/s. ``--url`` benches a server that is
already running instead.

    python bench/bench_http.py --index index --requests 400
    python bench/bench_http.py --index index --requests 400 --threads 8 --json bench/out/http.json
    python bench/bench_http.py --url http://127.0.0.1:8000 --requests 200
    python bench/bench_http.py --index index --requests 2000 --health   # web layer only: GET /api/health
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "2025年聊城新增省级以上专精特新中小企业多少家？",
    "聊城怎样服务中小企业？",
    "7月28日的报纸讲了防汛的什么要求？",
    "高新区课堂改革有什么变化？",
    "莘县工业园的检测实验室怎么共享？",
    "聊城的蚂蚁雄兵指什么？",
    "防汛救灾工作有哪些部署？",
    "2010年聊城发生了什么？",
]

SERVER_CODE = """
import logging, sys
from pathlib import Path
from qa.config import Settings
from qa.app.serve import create_server
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
settings = Settings(index=Path(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), threads=int(sys.argv[3]),
                    rate_limit=None)
server, app = create_server(settings, access_log_enabled=False)
print("READY", flush=True)
server.run()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index: str, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE, index, str(port), str(threads)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if "READY" not in line:
        proc.kill()
        raise SystemExit(f"server did not start (exit {proc.wait()})")
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):  # wait for the port
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    return proc, base


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def run(base: str, n_requests: int, concurrency: int, warmup: int, top_k: int, health: bool = False) -> dict:
    u = urlsplit(base)
    host, port = u.hostname, u.port or 80

    def one(conn, q):
        if health:
            conn.request("GET", "/api/health")
            resp = conn.getresponse()
            return resp.status, resp.read()
        body = json.dumps({"question": q, "top_k": top_k})
        conn.request("POST", "/api/ask", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, data

    conn = http.client.HTTPConnection(host, port, timeout=60)
    for i in range(warmup):
        one(conn, QUESTIONS[i % len(QUESTIONS)])
    conn.close()

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(n_requests))
    counter_lock = threading.Lock()

    def worker():
        c = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with counter_lock:
                i = next(counter, None)
            if i is None:
                break
            t0 = time.perf_counter()
            try:
                status, data = one(c, QUESTIONS[i % len(QUESTIONS)])
                ok = status == 200 and ("status" if health else "answer") in json.loads(data)
                err = None if ok else f"HTTP {status}: {data[:200]!r}"
            except Exception as e:  # noqa: BLE001
                err = f"{type(e).__name__}: {e}"
                c.close()
                c = http.client.HTTPConnection(host, port, timeout=60)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(dt)
                if err:
                    errors.append(err)
        c.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    return {
        "requests": len(lat),
        "concurrency": concurrency,
        "errors": len(errors),
        "error_samples": errors[:3],
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(lat) / wall, 1) if wall else None,
        "p50_ms": round(percentile(lat, 50), 1),
        "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(lat[-1], 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", help="index folder (with CURRENT) to serve")
    ap.add_argument("--url", help="bench this running server instead of starting one")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads of the started server")
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--health", action="store_true", help="GET /api/health instead of asking (HTTP layer only)")
    ap.add_argument("--json", dest="json_out", help="also write the result as JSON to this file")
    args = ap.parse_args()
    if not args.index and not args.url:
        ap.error("give --index DIR or --url URL")

    proc = None
    base = args.url
    if base is None:
        proc, base = start_server(args.index, args.threads)
    try:
        result = run(base, args.requests, args.concurrency, args.warmup, args.top_k, args.health)
        result["endpoint"] = "GET /api/health" if args.health else "POST /api/ask"
        health = json.loads(_get(base, "/api/health"))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    result["index_version"] = health.get("index_version")
    result["counts"] = health.get("counts")
    result["server_threads"] = args.threads if proc is not None else None
    print(f"index {result['index_version']} {result['counts']}")
    print(
        f"{result['endpoint']}: {result['requests']} requests, {result['concurrency']} concurrent clients, "
        f"{result['errors']} errors, {result['requests_per_s']} req/s"
    )
    print(f"latency ms: p50 {result['p50_ms']}  p95 {result['p95_ms']}  p99 {result['p99_ms']}  max {result['max_ms']}")
    if result["error_samples"]:
        print("errors, e.g.:", *result["error_samples"], sep="\n  ")
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    sys.exit(1 if result["errors"] else 0)


def _get(base: str, path: str) -> bytes:
    u = urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
    c.request("GET", path)
    data = c.getresponse().read()
    c.close()
    return data


if __name__ == "__main__":
    main()
