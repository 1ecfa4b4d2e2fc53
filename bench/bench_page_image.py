"""Latency of GET /api/pages/<key>/image: a cold render versus an image from the disk cache.

Builds a small index (fake embedder, text given, so no OCR) of two large pages: a generated
newspaper PDF page (tests/pagegen.py, 4-6 columns of CJK text with a photo) and a scan of it as a
JPEG at ``--dpi`` (480 dpi: ~22 megapixels, a broadsheet scan's order of size). The app is served
by waitress in a thread of this process on a loopback port and asked over real HTTP connections.
"cold" clears the cache before each request (child process: start, decode or render, downscale to
2000 px, JPEG, write); "cached" asks again for an image the disk cache holds, as the first request
after a restart would (a fresh cache object each round). Prints p50/p95 per page and the ratio.

    python bench/bench_page_image.py                     # about a minute on 2 cores
    python bench/bench_page_image.py --cold 5 --cached 50 --json bench/out/page_image.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from qa.app import create_app, pagecache  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.ingest.regions import pdf_frame  # noqa: E402
from qa.service import Service  # noqa: E402
from qa.store import IndexReader, build_from_pages  # noqa: E402
from qa.types import Page, PageFrame  # noqa: E402

import pagegen  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402


def make_pages(work: Path, dpi: int) -> list[Page]:
    """The PDF page and its scan as index pages (text and line boxes from the PDF itself)."""
    import io

    import pdfplumber
    from PIL import Image

    gen = pagegen.make_page(4, columns=6)
    pdf = work / "01.pdf"
    pdf.write_bytes(gen.pdf)
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[0]
        frame = pdf_frame(page.chars, page.width, page.height)
    scan = work / "02.jpg"
    image = Image.open(io.BytesIO(pagegen.render_png(gen.pdf, dpi)))
    image.save(scan, format="JPEG", quality=85)
    text = "\n".join(line[0] for line in frame.lines)
    scan_frame = PageFrame("image", image.width, image.height, frame.lines)
    return [Page(pdf.resolve().as_posix(), "聊城日报", "2023-05-06", 1, text, "01.pdf", frame=frame),
            Page(scan.resolve().as_posix(), "聊城日报", "2023-05-06", 2, text, "02.jpg", frame=scan_frame)]


def serve(app) -> tuple[int, object]:
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return server.effective_port, server


def get(port: int, url: str) -> tuple[float, int, int]:
    """(seconds, status, bytes) of one GET on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", url)
    resp = conn.getresponse()
    body = resp.read()
    took = time.perf_counter() - start
    conn.close()
    return took, resp.status, len(body)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cold", type=int, default=5, help="cold renders per page")
    ap.add_argument("--cached", type=int, default=30, help="cached requests per page")
    ap.add_argument("--dpi", type=int, default=480, help="resolution of the scan page")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-page-image-"))
    try:
        pages = make_pages(work, args.dpi)
        index = work / "index"
        build_from_pages(pages, [], index, embedder=FakeEmbedder(), progress=False, log=lambda s: None)
        with IndexReader.open(index) as reader:
            recs = reader.chunk_records(list(range(reader.n_chunks)))
        urls = {}
        for rec in recs:
            urls.setdefault(rec["source"], f"/api/pages/{rec['image_key']}/image")
        app = create_app(Settings(index=index, rate_limit=None, reload_interval_s=3600),
                         service=Service(index, embedder=FakeEmbedder()))
        port, _ = serve(app)  # a daemon thread: it ends with this process
        cache_dir = index / "cache" / "pages"
        results = {}
        for source, url in sorted(urls.items()):
            cold, cached = [], []
            for _ in range(args.cold):
                shutil.rmtree(cache_dir, ignore_errors=True)
                pagecache._caches.clear()
                took, status, size = get(port, url)
                assert status == 200, status
                cold.append(took)
            for _ in range(args.cached):
                pagecache._caches.clear()  # as after a restart: only the files on disk are left
                took, status, size = get(port, url)
                assert status == 200, status
                cached.append(took)
            results[source] = {"cold_p50_ms": 1000 * statistics.median(cold), "cold_p95_ms": 1000 * pct(cold, 0.95),
                               "cached_p50_ms": 1000 * statistics.median(cached),
                               "cached_p95_ms": 1000 * pct(cached, 0.95), "bytes": size,
                               "ratio_cold_cached": statistics.median(cold) / statistics.median(cached)}
        original = {p.source: os.path.getsize(p.page_id) for p in pages}
        load = os.getloadavg()
        print(f"cores {len(os.sched_getaffinity(0))}, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
              f"(shared machine), scan {args.dpi} dpi")
        for source, r in results.items():
            print(f"{source:8s} original {original[source] / 1e6:5.1f} MB -> {r['bytes'] / 1e3:4.0f} KB JPEG | "
                  f"cold p50 {r['cold_p50_ms']:6.0f} ms p95 {r['cold_p95_ms']:6.0f} ms | "
                  f"cached p50 {r['cached_p50_ms']:5.1f} ms p95 {r['cached_p95_ms']:5.1f} ms | "
                  f"cold/cached {r['ratio_cold_cached']:5.0f}x")
        worst = max(r["cached_p50_ms"] for r in results.values())
        print(f"first image from cache p50 {worst:.1f} ms (target <= 300 ms): {'ok' if worst <= 300 else 'MISSED'}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"load": load, "dpi": args.dpi, "pages": results}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
