"""Multi-part questions on news_sample.jsonl: both (all) gold reports cited and both (all) parts answered,
before (the question asked as one) and after (``qa.retrieve.question_parts`` split, each part searched and answered).

    python bench/eval_multipart.py [--distractors 300] [--out bench/out/multipart]

The development set is built by template from the archive's own text: ``FACTS`` are sentences of
news_sample.jsonl that state one figure of one company, country or region (found by a pattern
over 营收/营业收入/净利润/GDP/地区生产总值/工业增加值 sentences, then read and kept by hand), and
``PAIRS`` join two or three facts on the same measure into one question, 「{A}和{B}的{measure}」.
A question counts as *retrieved* when every gold report is among the passages its answer cites
([n] markers), and as *answered* when every gold figure is in the answer text.

The index holds the gold reports and the first ``--distractors`` other articles of the sample; it
is built once under ``--out`` (its vector cache makes a re-run embed nothing) and asked with
the bundled model. "before" asks the whole question through the single-question path
(``qa.service._answer_one``), "after" through ``answer_question``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news_sample.jsonl"

# name: (article id, subject as the question names it, the gold figure as printed)
FACTS = {
    "pfizer": ("crud-00125", "辉瑞", "127.3亿美元"),
    "intel": ("crud-00776", "英特尔", "115亿美元"),
    "alibaba": ("crud-01298", "阿里", "2341.6亿元"),
    "wells": ("crud-01304", "富国银行", "205.33亿美元"),
    "tesla": ("crud-01699", "特斯拉", "482.56亿美元"),
    "chevron": ("crud-02730", "雪佛龙", "489亿美元"),
    "sda": ("crud-00576", "山东航空", "105.45亿元"),
    "pzh": ("crud-04610", "片仔癀", "504528.54万元"),
    "ght": ("crud-04284", "世纪华通", "107.86亿元"),
    "spdb": ("crud-00795", "浦发银行", "912.3亿元"),
    "evergrande": ("crud-00979", "恒大物业", "131.94亿元"),
    "mengshang": ("crud-02097", "蒙商银行", "53.52亿元"),
    "cscec": ("crud-04286", "中建智地", "113.24亿元"),
    "huya": ("crud-00135", "虎牙", "8550万元"),
    "jd": ("crud-01166", "京东", "86亿元"),
    "oct": ("crud-00165", "华侨城", "12亿元"),
    "mcd": ("crud-03332", "麦当劳", "94%"),
    "vietnam": ("crud-00915", "越南", "3.32%"),
    "france": ("crud-04648", "法国", "0.5%"),
    "usa": ("crud-04176", "美国", "2.4%"),
    "nantong": ("crud-03624", "南通", "6000亿元"),
    "kunshan": ("crud-04626", "昆山", "5006.7亿元"),
    "nanshan": ("crud-01933", "南山区", "8035.9亿元"),
    "jilin": ("crud-00881", "吉林省", "7.7%"),
    "hainan": ("crud-00905", "海南省", "18.1%"),
    "hebei": ("crud-01813", "河北", "7.2%"),
    "shaanxi": ("crud-02171", "陕西省", "2.9%"),
    "hangzhou": ("crud-04028", "杭州", "2108亿元"),
}
# (facts, measure as the question words it)
PAIRS = [
    (("pfizer", "intel"), "的营收"),
    (("alibaba", "wells"), "的营收"),
    (("tesla", "chevron"), "的营收"),
    (("sda", "pzh"), "的营收"),
    (("ght", "pfizer"), "的营收"),
    (("intel", "chevron"), "的营收分别是多少"),
    (("pzh", "ght"), "的营收"),
    (("wells", "tesla"), "的营收各是多少"),
    (("spdb", "mengshang"), "的营业收入"),
    (("evergrande", "cscec"), "的营业收入"),
    (("spdb", "evergrande"), "的营业收入"),
    (("mengshang", "cscec"), "的营业收入分别是多少"),
    (("huya", "jd"), "的净利润"),
    (("oct", "huya"), "的净利润"),
    (("jd", "mcd"), "的净利润"),
    (("vietnam", "france"), "的GDP增长率"),
    (("usa", "france"), "的GDP增长率"),
    (("vietnam", "usa"), "的GDP增长率"),
    (("nantong", "kunshan"), "的GDP"),
    (("nanshan", "kunshan"), "的地区生产总值"),
    (("jilin", "nantong"), "的地区生产总值"),
    (("hainan", "hebei"), "的规模以上工业增加值增速"),
    (("shaanxi", "hainan"), "的规模以上工业增加值"),
    (("hangzhou", "hebei"), "的规上工业增加值"),
    (("shaanxi", "hangzhou"), "的工业增加值"),
    (("pfizer", "intel", "chevron"), "的营收"),
    (("hainan", "hebei", "shaanxi"), "的工业增加值增速"),
    (("nantong", "kunshan", "nanshan"), "的地区生产总值"),
]


def question(names: tuple[str, ...], measure: str) -> str:
    """「辉瑞和英特尔的营收」, 「辉瑞、英特尔和雪佛龙的营收」."""
    subjects = [FACTS[n][1] for n in names]
    return "、".join(subjects[:-1]) + "和" + subjects[-1] + measure


def write_archive(path: Path, distractors: int) -> int:
    gold = {f[0] for f in FACTS.values()}
    rows, others = [], 0
    with open(NEWS, encoding="utf-8") as f:
        for line in f:
            n = json.loads(line)
            if n["id"] in gold or others < distractors:
                others += n["id"] not in gold
                rows.append({"id": n["id"], "text": n["text"], "date": n["date"], "paper": "新闻样本"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def score(answer, names: tuple[str, ...]) -> tuple[bool, bool, int]:
    """(every gold report cited, every gold figure in the answer, parts answered)."""
    cited = {
        answer.passages[int(n) - 1].citation.article_id
        for n in re.findall(r"\[(\d+)\]", answer.answer)
        if 0 < int(n) <= len(answer.passages)
    }
    figures = [re.sub(r"[^\d.]", "", FACTS[n][2]) for n in names]
    answered = [f in answer.answer for f in figures]
    return all(FACTS[n][0] in cited for n in names), all(answered), sum(answered)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distractors", type=int, default=300)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "multipart")
    args = ap.parse_args()
    if not NEWS.exists():
        sys.exit(f"missing {NEWS}")
    from qa.retrieve.question_parts import split_question
    from qa.service import Engine, _answer_one, answer_question
    from qa.store import build_index

    args.out.mkdir(parents=True, exist_ok=True)
    archive, index = args.out / "archive.jsonl", args.out / "index"
    articles = write_archive(archive, args.distractors)
    started = time.perf_counter()
    build_index([str(archive)], index, progress=False)  # unchanged archive: reuses the published version
    print(f"index: {articles} articles, {time.perf_counter() - started:.0f} s", flush=True)
    engine = Engine.open(index)
    answer_question(engine, "预热")
    results = {"before": [], "after": []}
    for names, measure in PAIRS:
        q = question(names, measure)
        for mode in ("before", "after"):
            t0 = time.perf_counter()
            a = _answer_one(engine, q, 5, None, None, t0) if mode == "before" else answer_question(engine, q)
            ms = (time.perf_counter() - t0) * 1000
            retrieved, answered, parts = score(a, names)
            results[mode].append(
                {
                    "q": q,
                    "retrieved": retrieved,
                    "answered": answered,
                    "parts_answered": parts,
                    "parts": len(names),
                    "ms": ms,
                    "answer": a.answer,
                }
            )
        after = results["after"][-1]
        print(
            f"{q} -> {split_question(q)}: before {results['before'][-1]['retrieved']:d}/"
            f"{results['before'][-1]['answered']:d}, after {after['retrieved']:d}/{after['answered']:d}",
            flush=True,
        )
    summary = {}
    for mode, rows in results.items():
        summary[mode] = {
            "questions": len(rows),
            "all_gold_cited": round(sum(r["retrieved"] for r in rows) / len(rows), 3),
            "all_parts_answered": round(sum(r["answered"] for r in rows) / len(rows), 3),
            "parts_answered": round(sum(r["parts_answered"] for r in rows) / sum(r["parts"] for r in rows), 3),
            "p50_ms": round(statistics.median(r["ms"] for r in rows), 1),
        }
    summary["load_average"] = os.getloadavg()
    (args.out / "results.json").write_text(
        json.dumps({"summary": summary, **results}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
