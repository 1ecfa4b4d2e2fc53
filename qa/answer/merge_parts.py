"""One reply from the answers to the parts of a multi-part question (``qa.retrieve.question_parts``).

Each part was asked on its own (its own date scope, search and extractive answer); here the parts'
cited passages become one numbered list of source cards (one card per article, so two parts quoting
one report share its number), the markers are renumbered into it, and the text says each part in
turn, with 「未找到：…」 for a part that has no answer:

    2021年香港的GDP增长率：香港2021年本地生产总值实质增长6.4%。[1]
    2021年澳门的GDP增长率：澳门2021年本地生产总值实质增长18%。[2]

Passages that no part cited follow as leads, taken from the parts in turn, so that every part keeps
its best leads in view.
"""

from __future__ import annotations

import re
from dataclasses import asdict, replace

from qa.types import Answer, Filters, Hit

NOT_FOUND_PART = "未找到：{question}"
_MARKER = re.compile(r"\[(\d+)\]")


class _Cards:
    """The merged passages: one card per article, numbered from 1 in the order first met."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.number: dict[str, int] = {}

    def add(self, hit: Hit) -> int:
        key = hit.citation.article_id
        if key not in self.number:
            self.hits.append(hit)
            self.number[key] = len(self.hits)
        else:  # another part quotes another chunk of the same article: keep both texts on the card
            n = self.number[key]
            card = self.hits[n - 1]
            if hit.text not in card.text:
                self.hits[n - 1] = replace(card, text=card.text + "\n" + hit.text)
        return self.number[key]


def merge_answers(question: str, answers: list[Answer], top_k: int, filters: Filters, took_ms: float) -> Answer:
    """The reply to ``question`` from its parts' answers (in the parts' order)."""
    cards = _Cards()
    lines, parts = [], []
    for a in answers:
        renumber = {n: cards.add(a.passages[n - 1]) for n in _cited(a)}
        text = _MARKER.sub(lambda m: f"[{renumber.get(int(m[1]), int(m[1]))}]", a.answer) if a.found else a.answer
        lines.append(f"{a.question}：{text}" if a.found else _not_found(a))
        parts.append(
            {
                "question": a.question,
                "answer": text if a.found else _not_found(a),
                "found": a.found,
                "refusal": a.refusal_kind(),
                "filters": asdict(a.filters),
                "passages": sorted(set(renumber.values())),
                **({"items": a.parts[0]["items"]} if a.parts else {}),
            }
        )
    _add_leads(cards, answers, top_k)
    found = any(a.found for a in answers)
    refusal = None if found else ("out_of_archive" if all(a.refusal == "out_of_archive" for a in answers) else None)
    version = answers[0].index_version if answers else ""
    return Answer(
        question,
        "\n".join(lines),
        found,
        _shared_filters(answers, filters),
        cards.hits,
        took_ms,
        version,
        refusal=refusal,
        parts=parts,
    )


def _cited(answer: Answer) -> list[int]:
    """The passage numbers the answer's markers point at, first mention first."""
    if not answer.found:
        return []
    numbers = [int(n) for n in _MARKER.findall(answer.answer)]
    return [n for n in dict.fromkeys(numbers) if 1 <= n <= len(answer.passages)]


def _not_found(answer: Answer) -> str:
    """「未找到：2021年澳门的GDP增长率」, with the reason when the period is not in the archive."""
    line = NOT_FOUND_PART.format(question=answer.question)
    return line + f"（{answer.answer}）" if answer.refusal == "out_of_archive" else line


def _add_leads(cards: _Cards, answers: list[Answer], top_k: int) -> None:
    """Uncited passages as leads, one from each part in turn, until ``top_k`` cards (cited ones always stay)."""
    queues = [[h for h in a.passages if h.citation.article_id not in cards.number] for a in answers]
    while len(cards.hits) < top_k and any(queues):
        for q in queues:
            while q and q[0].citation.article_id in cards.number:
                q.pop(0)
            if q and len(cards.hits) < top_k:
                cards.add(q.pop(0))


def _shared_filters(answers: list[Answer], asked: Filters) -> Filters:
    """The parts' filters when they agree (「2021年香港和澳门…」: all of 2021), else the ones asked for."""
    distinct = {tuple(asdict(a.filters).values()) for a in answers}
    return answers[0].filters if len(distinct) == 1 else asked
