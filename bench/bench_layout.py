"""Article-level accuracy of the layout reader on varied generated pages (tests/pagemix.py).

Each page (2-6 columns, mastheads, side-by-side and letter-spaced headlines, bylines above and
below, photos, jump lines, boxes) is written as a PDF and read through its text layer exactly as
``qa index`` reads it (``read_page_file`` then ``segment_page``). An article counts as *whole*
when some segmented article has its headline (whitespace ignored) and its body, all of it and
in order (whitespace ignored, bylines, captions and jump lines excluded). Also printed: articles
whose headline was found at all, *extra* titled articles that are no article (a masthead, a
merged headline) and untitled sections (body text left without its headline).

    python bench/bench_layout.py --pages 40 --seed 1000     # the pages the reader was debugged on
    python bench/bench_layout.py --pages 40 --seed 5000     # held-out pages
    python bench/bench_layout.py --pages 40 --seed 1000 --show   # every miss, page by page

Pages are cached in ``--work`` (generating one takes ~3 s; reading one ~0.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pagemix  # noqa: E402

from qa.ingest import read_page_file  # noqa: E402
from qa.ingest.segment import segment_page  # noqa: E402
from qa.types import Page  # noqa: E402

from pagegen import flat  # noqa: E402


def page_files(work: Path, seed: int) -> tuple[Path, dict]:
    """The page PDF and its truth ({paper, date, columns, articles: [{title, body}]}), cached."""
    pdf, truth = work / f"{seed}.pdf", work / f"{seed}.json"
    if not truth.exists():
        work.mkdir(parents=True, exist_ok=True)
        page = pagemix.make_mixed_page(seed)
        pdf.write_bytes(page.pdf)
        arts = [{"title": a.title, "body": a.body} for a in page.articles]
        truth.write_text(
            json.dumps(
                {"paper": page.paper, "date": page.date, "columns": page.columns, "articles": arts}, ensure_ascii=False
            ),
            encoding="utf-8",
        )
    return pdf, json.loads(truth.read_text(encoding="utf-8"))


def _diff(got: str, want: str) -> str:
    """Where the read body first departs from the printed one, with some context."""
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    got_at, want_at = got[max(0, n - 15) : n + 30], want[max(0, n - 15) : n + 30]
    return f"body differs at {n}/{len(want)}: read …{got_at}… printed …{want_at}…"


def judge(truth: dict, articles: list) -> dict:
    """Counts for one page, and the misses (title, why) for ``--show``."""
    out = {"articles": len(truth["articles"]), "whole": 0, "titled": 0, "extra": 0, "untitled": 0, "misses": []}
    titles = {flat(t["title"]) for t in truth["articles"]}
    for gt in truth["articles"]:
        got = [a for a in articles if flat(a.title) == flat(gt["title"])]
        if not got:
            out["misses"].append((gt["title"], "headline not found"))
            continue
        out["titled"] += 1
        if any(flat(a.body) == flat(gt["body"]) for a in got):
            out["whole"] += 1
        else:
            out["misses"].append((gt["title"], _diff(flat(got[0].body), flat(gt["body"]))))
    for a in articles:
        if a.title is None:
            out["untitled"] += 1
            out["misses"].append(("(untitled)", flat(a.body)[:80]))
        elif flat(a.title) not in titles:
            out["extra"] += 1
            out["misses"].append(("(extra)", f"{a.title} | {flat(a.body)[:60]}"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1000, help="first page's seed; pages use seed..seed+pages-1")
    ap.add_argument("--work", type=Path, default=Path("/tmp/qa-bench-layout"))
    ap.add_argument("--show", action="store_true", help="print every miss")
    args = ap.parse_args()
    total = {"articles": 0, "whole": 0, "titled": 0, "extra": 0, "untitled": 0}
    pages_whole, seconds = 0, 0.0
    for seed in range(args.seed, args.seed + args.pages):
        pdf, truth = page_files(args.work, seed)
        start = time.perf_counter()
        got = read_page_file(pdf)
        page = Page("p", truth["paper"], truth["date"], 1, got.text, f"{seed}", roles=got.roles)
        result = judge(truth, segment_page(page))
        seconds += time.perf_counter() - start
        for k in total:
            total[k] += result[k]
        pages_whole += result["whole"] == result["articles"] and not result["extra"] and not result["untitled"]
        if args.show and result["misses"]:
            print(f"-- page {seed} ({truth['columns']} columns): {result['whole']}/{result['articles']} whole")
            for title, why in result["misses"]:
                print(f"   {title}: {why}")
    n = total["articles"]
    load = os.getloadavg()[0]
    print(
        f"{args.pages} pages (seeds {args.seed}-{args.seed + args.pages - 1}), {n} articles; "
        f"{os.cpu_count()} cores, load {load:.1f}"
    )
    print(
        f"whole {total['whole'] / n:.1%} ({total['whole']}/{n})  headline found {total['titled'] / n:.1%}  "
        f"extra titled {total['extra']}  untitled sections {total['untitled']}  "
        f"pages all right {pages_whole}/{args.pages}  {seconds / args.pages:.2f} s/page"
    )


if __name__ == "__main__":
    main()
