"""Page reading on generated newspaper pages with known ground truth (tests/pagegen.py).

Three ways in, each in its own process (so peak memory is its own): the PDF text layer, OCR of
clean renders at ``--dpi``, OCR of noisy renders (rotated ~0.6°, grain, blur, JPEG 70). Prints,
per way: articles recovered whole with their headline, headline-body pairing accuracy, OCR
character error rate, pages/s and peak resident memory. OCR is not cached here (every page is
recognised); renders are kept in ``--work`` so a rerun skips generating them.

    python bench/bench_pages.py --pages 6            # about 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from qa.ingest import read_page_file  # noqa: E402
from qa.ingest.segment import segment_page  # noqa: E402
from qa.types import Page  # noqa: E402

import pagegen  # noqa: E402

WAYS = {"pdf": ".pdf", "ocr-clean": ".png", "ocr-noisy": ".jpg"}


def prepare(work: Path, pages: int, dpi: int) -> None:
    """Write page N as N.pdf, N.png (clean render) and N.jpg (noisy render) unless present."""
    work.mkdir(parents=True, exist_ok=True)
    for seed in range(1, pages + 1):
        if (work / f"{seed}.jpg").exists():
            continue
        page = pagegen.make_page(seed)
        png = pagegen.render_png(page.pdf, dpi)
        (work / f"{seed}.pdf").write_bytes(page.pdf)
        (work / f"{seed}.png").write_bytes(png)
        (work / f"{seed}.jpg").write_bytes(pagegen.noisy_scan(png, seed))


def child(way: str, work: Path, pages: int) -> None:
    """Read every page one way; print one JSON line of totals."""
    total, seconds = pagegen.Score(), 0.0
    for seed in range(1, pages + 1):
        truth = pagegen.make_page(seed)
        start = time.perf_counter()
        got = read_page_file(work / f"{seed}{WAYS[way]}")
        seconds += time.perf_counter() - start
        page = Page("p", truth.paper, truth.date, 1, got.text, f"{seed}", roles=got.roles)
        total = total.add(pagegen.score(truth, segment_page(page), got.text))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**total.__dict__, "seconds": seconds, "peak_mb": peak_mb}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=6)
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--ways", default=",".join(WAYS), help="comma-separated: " + ", ".join(WAYS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-bench-pages"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = args.work / f"{args.dpi}dpi"
    if args.child:
        return child(args.child, work, args.pages)
    prepare(work, args.pages, args.dpi)
    print(
        f"{args.pages} generated pages (4-6 columns, 4 articles each), renders at {args.dpi} dpi, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'way':<10} {'whole':>8} {'paired':>8} {'CER':>7} {'pages/s':>8} {'s/page':>7} {'peak MB':>8}")
    for way in args.ways.split(","):
        out = (
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    way,
                    "--pages",
                    str(args.pages),
                    "--dpi",
                    str(args.dpi),
                    "--work",
                    str(args.work),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        n, s = args.pages, r["seconds"]
        cer = r["errors"] / r["chars"] if r["chars"] else 0.0
        print(
            f"{way:<10} {r['whole'] / r['articles']:>8.1%} {r['paired'] / r['articles']:>8.1%} {cer:>7.2%} "
            f"{n / s:>8.2f} {s / n:>7.2f} {r['peak_mb']:>8.0f}"
        )


if __name__ == "__main__":
    main()
