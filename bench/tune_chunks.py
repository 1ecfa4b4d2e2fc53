"""Choose chunk size/overlap (and the jieba cut for BM25) by retrieval recall on CMRC 2018 trial.

Every CMRC paragraph becomes an article (title = its CMRC title); each setting chunks them all,
embeds the chunks with the bundled e5-small (title + "\\n" + chunk, as the index does) and asks
every question. A hit at rank r is a chunk from the question's own paragraph that contains the
answer text. Reported: recall@1/@5 for dense, BM25 (lcut and lcut_for_search) and RRF hybrid.

Run::

    python bench/tune_chunks.py                       # the 3 default settings, ~8 min on 2 cores
    python bench/tune_chunks.py --settings 250:1 --questions 300

Result that chose ``qa.ingest.chunk.DEFAULT`` (2 shared cores, 2026-11-22; R = hybrid recall, BM25 = lcut_for_search)::

    max_chars overlap chunks dense@1 dense@5 bm25@5 hybrid@1 hybrid@5 (lcut: bm25@5 hybrid@5)
    150       1       1418   0.803   0.956   0.958  0.830    0.967    (0.957 0.967)
    250       1        794   0.819   0.968   0.976  0.854    0.980    (0.973 0.980)
    350       0        517   0.824   0.968   0.977  0.873    0.981    (0.975 0.982)

lcut_for_search beat plain lcut for BM25 at every size (R@1 0.893 vs 0.885 at 350), so
qa.text.tokens uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import bm25s
import jieba
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.embed import embed_passages, load_embedder  # noqa: E402
from qa.ingest.chunk import ChunkSettings, chunk_article, embedding_text  # noqa: E402
from qa.text import tokens as tok  # noqa: E402
from qa.types import Article  # noqa: E402

CMRC = ROOT.parent / "shared" / "data" / "cmrc2018_trial.json"


def load_cmrc(limit: int | None):
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    arts, qs = [], []
    for doc in data["data"]:
        for p in doc["paragraphs"]:
            arts.append(Article(article_id=p["id"], title=doc.get("title") or None, body=p["context"]))
            for q in p["qas"]:
                qs.append((q["question"], p["id"], [a["text"] for a in q["answers"]]))
    return arts, qs[:limit] if limit else qs


def cut_tokens(text: str, mode: str) -> list[str]:
    tok.tokenize("")  # make sure the user dictionary and stopwords are loaded
    t = tok._tokenizer
    words = t.lcut_for_search(text) if mode == "search" else t.lcut(text)
    return [
        w.strip().lower()
        for w in words
        if w.strip() and w.strip().lower() not in tok._stopwords and not tok._is_noise(w.strip())
    ]


def ranks(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def recall(top: np.ndarray, gold: list[set[int]], k: int) -> float:
    return float(np.mean([bool(set(top[i, :k].tolist()) & g) for i, g in enumerate(gold)]))


def rrf(*tops: np.ndarray, k: int = 60) -> np.ndarray:
    out = []
    for i in range(tops[0].shape[0]):
        s: dict[int, float] = {}
        for t in tops:
            for r, row in enumerate(t[i]):
                s[int(row)] = s.get(int(row), 0.0) + 1.0 / (k + r + 1)
        out.append(sorted(s, key=lambda x: -s[x])[:5])
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", nargs="*", default=["150:1", "250:1", "350:0"], help="max_chars:overlap")
    ap.add_argument("--questions", type=int, default=None)
    args = ap.parse_args()
    arts, qs = load_cmrc(args.questions)
    emb = load_embedder()
    t0 = time.time()
    qv = emb.encode_queries([q for q, _, _ in qs])
    print(f"{len(qs)} questions embedded in {time.time() - t0:.1f}s", flush=True)
    results = []
    for spec in args.settings:
        mc, ov = (int(x) for x in spec.split(":"))
        settings = ChunkSettings(mc, ov)
        chunks = [c for a in arts for c in chunk_article(a, a.article_id, settings)]
        texts = [embedding_text(c) for c in chunks]
        gold = [
            {i for i, c in enumerate(chunks) if c.article_id == pid and any(ans in c.text for ans in answers)}
            for _, pid, answers in qs
        ]
        cache = ROOT / "bench" / "out" / f"tune_vectors_{mc}_{ov}.npy"  # re-runs skip the slow part
        t0 = time.time()
        if cache.exists() and len(np.load(cache)) == len(texts):
            pv = np.load(cache)
        else:
            pv = embed_passages(emb, texts, progress=False)
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, pv, allow_pickle=False)
        secs = time.time() - t0
        dense = ranks(qv @ pv.T, 20)
        row = {
            "max_chars": mc,
            "overlap": ov,
            "chunks": len(chunks),
            "chars": sum(map(len, texts)),
            "embed_s": round(secs, 1),
            "chars_per_s": round(sum(map(len, texts)) / secs),
            "dense@1": recall(dense, gold, 1),
            "dense@5": recall(dense, gold, 5),
        }
        for mode in ("search", "plain"):
            bm = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
            bm.index([cut_tokens(t, mode) for t in texts], show_progress=False)
            ids = [bm.get_tokens_ids(cut_tokens(q, mode)) for q, _, _ in qs]  # unknown words dropped
            sc = np.stack([bm.get_scores_from_ids(i) if i else np.zeros(len(texts)) for i in ids])
            top = ranks(sc, 20)
            row[f"bm25_{mode}@1"] = recall(top, gold, 1)
            row[f"bm25_{mode}@5"] = recall(top, gold, 5)
            hyb = rrf(dense, top)
            row[f"hybrid_{mode}@1"] = recall(hyb, gold, 1)
            row[f"hybrid_{mode}@5"] = recall(hyb, gold, 5)
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tune_chunks.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    keys = [
        "max_chars",
        "overlap",
        "chunks",
        "chars_per_s",
        "dense@1",
        "dense@5",
        "bm25_search@5",
        "bm25_plain@5",
        "hybrid_search@1",
        "hybrid_search@5",
        "hybrid_plain@5",
    ]
    print("\t".join(keys))
    for r in results:
        print("\t".join(f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in keys))


if __name__ == "__main__":
    jieba.setLogLevel(60)
    main()
