"""Merges apart from the daily add, and their memory: the same index, old code against new, in one run.

    python bench/bench_merge.py --prepare --chunks 113000            # base index (no merges), once
    python bench/bench_merge.py --chunks 113000 --old /work/main --merge 3,14     # old and new code on copies
    python bench/bench_merge.py --chunks 113000 --base /tmp/bench-merge-380000 --widen 3   # each segment 3 times
    python bench/bench_merge.py --chunks 380000 --base /tmp/bench-merge-380000 --old /work/main --merge 42

The base index is ``bench_scale``'s real news text (sentence-shuffled copies over 50 years) written in
batches of ``chunks / 10`` rows without merging, so its ten segments fill one size tier and the next
daily issue is a tier-fill day. Vectors are random unit vectors (a merge copies them: their values do
not matter, their bytes do). Each step runs in its own process; peak RSS is that process's ``ru_maxrss``:

- ``add``: one daily issue (120 pages) added with the code's default (the old code merges the full tier
  inside the add; the new one publishes at once and leaves the merge to ``qa merge`` / ``qa serve``);
- ``merge K``: the first K segments merged into one (``merge_segments``, as a build or ``qa merge`` does),
  for each K of ``--merge``: peak RSS against the rows merged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

STEP = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r}); sys.path.insert(0, {bench!r})
import numpy as np
from pathlib import Path

class RandomEmbedder:
    name, dim = "bench-random", 384
    def __init__(self): self.rng = np.random.default_rng(0)
    def encode_passages(self, texts):
        v = self.rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    encode_queries = encode_passages

step, index, arg = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
if step == "prepare":
    from bench_scale import scale_pages
    from qa.store import build_stream
    r = build_stream(scale_pages(int(arg)), ["/scale"], index, embedder=RandomEmbedder(), progress=False,
                     log=lambda m: None, merge=False, batch_rows=int(arg) // 10)
    out = {{"chunks": r.chunks}}
elif step == "add":
    from qa.store import build_stream, IndexReader  # before bench_scale, which puts this checkout first on sys.path
    from bench_scale import one_issue
    r = build_stream(one_issue(arg), ["/daily/" + arg], index, embedder=RandomEmbedder(), progress=False,
                     log=lambda m: None)
    with IndexReader.open(index) as rd:
        out = {{"chunks": r.chunks, "segments": len(rd.segments)}}
else:  # merge the first ``arg`` segments of the live version into one (the old and the new signature)
    from qa.store import current_version
    from qa.store.folder import merge
    from qa.store.folder.segment import Segment
    meta = json.loads((index / current_version(index) / "meta.json").read_text())
    segs = [Segment(index / "segments" / s["name"]) for s in meta["segments"][: int(arg)]]
    try:
        info = merge.merge_segments(index / "segments" / "s999999", segs)
    except TypeError:
        info = merge.merge_segments(index, segs, set())
    out = {{"segments": len(segs), "rows": info["rows"], "dense": info["dense"]["type"]}}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
out.update(seconds=round(time.perf_counter() - t, 1), peak_rss_mb=peak)
print(json.dumps(out))
"""


def step(repo: Path, name: str, index: Path, arg: str) -> dict:
    code = STEP.format(repo=str(repo), bench=str(ROOT / "bench"))
    env = {**os.environ, "PYTHONPATH": str(repo), "QA_NO_PROGRESS": "1", "QA_INDEX_WORKERS": "1"}
    done = subprocess.run([sys.executable, "-c", code, name, str(index), arg], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} with {repo} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def widen(base: Path, dst: Path, copies: int) -> dict:
    """``dst``: ``base`` with each segment there ``copies`` times (hard links; each copy's SQLite file copied
    with its page ids suffixed, so the pages stay distinct): a bigger merge without another build."""
    import shutil
    import sqlite3

    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-al", str(base), str(dst)], check=True)
    shutil.rmtree(dst / "cache", ignore_errors=True)
    name = (dst / "CURRENT").read_text().strip()
    meta = json.loads((dst / name / "meta.json").read_text())
    originals, n = list(meta["segments"]), max(int(s["name"][1:]) for s in meta["segments"])
    for c in range(1, copies):
        for seg in originals:
            n += 1
            folder = dst / "segments" / f"s{n:06d}"
            subprocess.run(["cp", "-al", str(base / "segments" / seg["name"]), str(folder)], check=True)
            (folder / "meta.sqlite").unlink()  # a hard link to the base's: copied, then changed
            shutil.copy(base / "segments" / seg["name"] / "meta.sqlite", folder / "meta.sqlite")
            db = sqlite3.connect(folder / "meta.sqlite")
            for table in ("pages", "articles", "chunks", "regions", "page_images"):
                db.execute(f"UPDATE {table} SET page_id = page_id || '#copy{c}'")
            db.commit()
            db.close()
            meta["segments"].append({**seg, "name": folder.name})
    (dst / name / "meta.json").unlink()  # a hard link to the base's
    (dst / name / "meta.json").write_text(json.dumps(meta))
    return {"segments": len(meta["segments"]), "rows": sum(s["rows"] for s in meta["segments"])}


def cpu() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=113_000)
    ap.add_argument("--base", type=Path, default=None, help="where the base index is (default /tmp/bench-merge-N)")
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--old", type=Path, default=None, help="a checkout of the previous code")
    ap.add_argument(
        "--widen", type=int, default=0, help="with --base: make it from the --chunks base, each segment N times"
    )
    ap.add_argument("--merge", default="3,10", help="how many of the base's segments to merge, e.g. 3,10")
    args = ap.parse_args()
    base = args.base or Path(f"/tmp/bench-merge-{args.chunks}")
    if args.widen:
        print(json.dumps(widen(Path(f"/tmp/bench-merge-{args.chunks}"), base, args.widen)))
        return
    if args.prepare:
        print(json.dumps(step(ROOT, "prepare", base, str(args.chunks))))
        return
    figures: dict = {"chunks": args.chunks, "cpu": cpu(), "load_at_start": round(os.getloadavg()[0], 1)}
    for label, repo in (("old", args.old), ("new", ROOT)):
        if repo is not None:
            figures[f"{label}_code"] = subprocess.run(
                ["git", "-C", str(repo), "log", "-1", "--format=%h"], capture_output=True, text=True
            ).stdout.strip()
    for label, repo in (("old", args.old), ("new", ROOT)):
        steps = [("add", "2024-01-02")] + [(f"merge{k}", k) for k in args.merge.split(",") if k]
        for what, arg in steps:  # each on its own copy of the base
            if repo is None:
                continue
            copy = base.with_name(base.name + "-" + label)
            subprocess.run(["rm", "-rf", str(copy)], check=True)
            subprocess.run(["cp", "-al", str(base), str(copy)], check=True)
            subprocess.run(["rm", "-rf", str(copy / "cache")], check=True)  # appended to in place: not shared
            try:
                figures[f"{label}_{what}"] = step(repo, what.rstrip("0123456789"), copy, arg)
            finally:
                subprocess.run(["rm", "-rf", str(copy)], check=True)
    figures["load_at_end"] = round(os.getloadavg()[0], 1)
    if args.old:
        for what in ["add"] + [f"merge{k}" for k in args.merge.split(",") if k]:
            for k in ("seconds", "peak_rss_mb"):
                figures[f"{what}_{k} new/old"] = round(figures[f"new_{what}"][k] / max(figures[f"old_{what}"][k], 1), 2)
    print(json.dumps(figures, ensure_ascii=False))
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "merge.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(figures, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
