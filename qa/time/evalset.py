"""Temporal questions with known answers, generated from a dated news archive (for evaluation).

From a sentence holding a figure (「全市新增专精特新企业207家」) the generator writes a cloze
question (「…全市新增专精特新企业多少家？」) whose gold article and answer string (「207家」)
are known, and puts time in front of it in five ways:

* ``undated``      — no time words (control);
* ``absolute``     — the issue's month: 「2023年3月，…」;
* ``last_year``    — the same month said relatively, asked as of 2024-06-01: 「去年3月，…」;
* ``last_month``   — 「上个月，…」 asked as of the 15th of the month after the issue;
* ``text_relative`` — the period the sentence itself speaks of, said relatively, when it is
  not the issue's («今年上半年» printed in August -> 「2023年上半年，…」; 「昨天」「上月」「一季度」):
  only time resolved inside the text finds these;
* ``text_dated``   — the same for a date written without its year (「8月3日」 printed on
  2023-08-11 -> 「2023年8月3日，…」), which a literal search for 「8月3日」 can also find.

>>> import datetime as dt
>>> arts = [{"id": "a", "date": "2023-08-11", "text": "今年上半年，全市新增专精特新企业207家。"},
...         {"id": "b", "date": "2023-08-11", "text": "全市当天接待游客人数达到3.5万人次。"}]
>>> for q in generate(arts, kinds=("absolute", "text_relative")):
...     print(q.kind, q.question, q.answers, q.date_from, q.date_to)
text_relative 2023年上半年，全市新增专精特新企业多少家？ ['207家'] 2023-01-01 2023-06-30
absolute 2023年8月，全市当天接待游客人数达到多少万人次？ ['3.5万人次'] 2023-08-01 2023-08-31
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from qa.time.mentions import extract_periods
from qa.time.question import period_label

KINDS = ("undated", "absolute", "last_year", "last_month", "text_relative", "text_dated")
AS_OF_LAST_YEAR = dt.date(2024, 6, 1)
# A figure with its unit; the unit stays in the question (「多少家」), the figure is the answer.
FIGURE = re.compile(
    r"(?<![\d.])\d+(?:\.\d+)?(?:万|亿|千)?(?:元|美元|%|家|人次|人|个|吨|公里|户|项|件|辆|台|所|座|名|亩|公顷|平方米|场|起|倍)"
)
_SENTENCE = re.compile(r"[^。！？!?\n]+")
_CLAUSE = re.compile(r"[，；,;：:]")
_PAIRS = ("()", "（）", "【】", "[]", "“”", "《》", "「」")


@dataclass
class TemporalQuestion:
    question: str
    answers: list[str]
    article_id: str
    kind: str
    as_of: str | None = None  # the day relative words are resolved against (None: the newest issue)
    date_from: str | None = None  # the period the question means
    date_to: str | None = None


def _body(sentence: str, start: int, end: int, cut: list[tuple[int, int]]) -> str | None:
    """The clause around the figure (with the clause before it), figure -> 多少, time words removed."""
    figure = sentence[start:end]
    unit = re.sub(r"^[\d.]+(?:万|亿|千)?", "", figure)
    keep = "多少" + ("" if unit == "%" else re.sub(r"^[\d.]+", "", figure))
    masked = list(sentence)
    for a, b in cut:
        masked[a:b] = [""] * (b - a)
    masked[start:end] = [keep] + [""] * (end - start - 1)
    text = "".join(masked)
    clauses = [c.strip() for c in _CLAUSE.split(text) if c.strip()]
    at = next((i for i, c in enumerate(clauses) if keep in c), None)
    if at is None:
        return None
    own = clauses[at].split(keep)[0]  # the figure's clause, up to the figure
    body = "，".join(clauses[max(0, at - 1) : at] + [own]).lstrip("”’」』】)）·-—") + keep
    cjk = re.compile(r"[\u4e00-\u9fff]")
    if len(cjk.findall(own)) < 6 or len(cjk.findall(body)) < 12 or len(body) > 60:
        return None  # too little said to be answerable
    if re.search(r"\d\s*[~～\-—至到]$", own) or any(body.count(a) != body.count(b) for a, b in _PAIRS):
        return None  # a range's second figure or an unclosed bracket
    return body


def _facts(text: str, issue: dt.date) -> Iterable[tuple[str, str, list]]:
    """(question body, answer, precise periods of the sentence) for sentences holding one figure."""
    for s in _SENTENCE.finditer(text):
        sentence = s.group(0)
        periods = extract_periods(sentence, issue)
        spans = [(p.offset, p.offset + len(p.phrase)) for p in periods]
        figures = [m for m in FIGURE.finditer(sentence) if not any(a < m.end() and m.start() < b for a, b in spans)]
        if len(figures) != 1:
            continue  # several figures: the answer would be ambiguous
        m = figures[0]
        body = _body(sentence, m.start(), m.end(), spans)
        if body:
            yield body, m.group(0), [p for p in periods if not p.vague]


def _month_after(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 15)


def _month_span(day: dt.date) -> tuple[str, str]:
    nxt = _month_after(day).replace(day=1)
    return day.replace(day=1).isoformat(), (nxt - dt.timedelta(days=1)).isoformat()


def generate(articles: Iterable[dict], kinds: Iterable[str] = KINDS, per_article: int = 1) -> list[TemporalQuestion]:
    """Questions from articles ``{"id", "date", "text"}``; at most ``per_article`` facts each."""
    kinds = tuple(kinds)
    out: list[TemporalQuestion] = []
    for art in articles:
        issue = dt.date.fromisoformat(art["date"])
        for body, answer, periods in list(_facts(art["text"], issue))[:per_article]:
            out.extend(_questions(body, answer, periods, art["id"], issue, kinds))
    return out


def _questions(body: str, answer: str, periods: list, aid: str, issue: dt.date, kinds: tuple) -> list[TemporalQuestion]:
    month_from, month_to = _month_span(issue)
    speaks_elsewhere = [p for p in periods if not p.start <= issue <= p.end]
    q = []
    # Issue-time questions only where the sentence is not about another period.
    if not speaks_elsewhere:
        if "undated" in kinds:
            q.append(TemporalQuestion(f"{body}？", [answer], aid, "undated"))
        if "absolute" in kinds:
            q.append(
                TemporalQuestion(
                    f"{issue.year}年{issue.month}月，{body}？", [answer], aid, "absolute", None, month_from, month_to
                )
            )
        if "last_year" in kinds and issue.year == AS_OF_LAST_YEAR.year - 1:
            q.append(
                TemporalQuestion(
                    f"去年{issue.month}月，{body}？",
                    [answer],
                    aid,
                    "last_year",
                    AS_OF_LAST_YEAR.isoformat(),
                    month_from,
                    month_to,
                )
            )
        if "last_month" in kinds:
            q.append(
                TemporalQuestion(
                    f"上个月，{body}？",
                    [answer],
                    aid,
                    "last_month",
                    _month_after(issue).isoformat(),
                    month_from,
                    month_to,
                )
            )
    elif len(speaks_elsewhere) == 1:
        p = speaks_elsewhere[0]
        # Said with its year (「2022年」): a literal search finds it already, not a test of text time.
        kind = (
            None if str(p.start.year) in p.phrase else "text_dated" if re.search(r"\d", p.phrase) else "text_relative"
        )
        if kind in kinds:
            label = period_label(p.start, p.end)
            q.append(TemporalQuestion(f"{label}，{body}？", [answer], aid, kind, None, p.date_from, p.date_to))
    return q
