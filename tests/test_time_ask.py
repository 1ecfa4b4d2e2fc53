"""Time inside article text through the real ask path: 「昨天」 in a 2025-07-29 issue speaks of
2025-07-28; as_of moves 「去年」; the period index, not a text scan, decides."""

from __future__ import annotations

import pytest

from qa.service import Service
from qa.store import build_from_pages
from qa.types import Article, Page

from fakes import FakeEmbedder


def page(date: str, n: int, title: str, body: str) -> Page:
    pid = f"/arch/{date}/{n:02d}.txt"
    return Page(pid, "聊城日报", date, n, body, pid, "/arch", articles=[Article(f"{pid}#a1", title, body)])


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    ix = tmp_path_factory.mktemp("time-ask")
    pages = [
        page("2025-07-28", 1, "城区道路改造", "城区道路改造工程进展顺利，预计年底完工。"),
        page("2025-07-29", 1, "防汛指挥部召开会议", "昨天，市防汛指挥部召开紧急会议，部署强降雨应对工作。"),
        page("2025-07-29", 2, "夏粮收购", "今年上半年，全市收购夏粮12万吨。"),
        page("2026-04-01", 1, "春耕生产", "去年全市粮食总产再创新高。"),
    ]
    build_from_pages(pages, ["/arch"], ix, embedder=FakeEmbedder(), progress=False, log=lambda m: None)
    return Service(ix, embedder=FakeEmbedder())


def test_yesterday_in_the_0729_issue_matches_0728(service):
    answer = service.ask("2025年7月28日防汛指挥部召开了什么会议？")
    assert answer.found and "紧急会议" in answer.answer
    hit = answer.passages[0]
    assert hit.citation.date == "2025-07-29"
    assert hit.period_match == {"kind": "speaks_of", "phrase": "昨天"}


def test_a_printed_passage_says_printed(service):
    answer = service.ask("2025年7月28日城区道路改造进展如何？")
    hit = answer.passages[0]
    assert hit.citation.date == "2025-07-28" and hit.period_match == {"kind": "printed", "phrase": None}


@pytest.mark.parametrize("as_of, found", [("2026-04-01", True), ("2029-04-01", False)])
def test_as_of_moves_last_year(service, as_of, found):
    answer = service.ask("去年上半年全市收购夏粮多少吨？", as_of=as_of)
    assert answer.found is found
    if found:
        assert "12万吨" in answer.answer and answer.passages[0].period_match["phrase"] == "今年上半年"
    else:
        assert answer.refusal == "out_of_archive"


def test_rows_printed_in_or_speaking_of_a_period_are_one_sorted_set():
    """A dated question searches the rows printed in its period together with those speaking of it,
    each once, in row order (the allowed set the vector and BM25 searches are restricted to)."""
    import numpy as np

    from qa.retrieve.scope import union_sorted

    rng = np.random.default_rng(7)
    for _ in range(20):
        printed = np.arange(rng.integers(0, 50), rng.integers(50, 400), dtype=np.int64)
        speaks = np.sort(rng.choice(1_000, rng.integers(0, 300), replace=False)).astype(np.int64)
        got = union_sorted(printed, speaks)
        assert got.dtype == np.int64
        assert got.tolist() == sorted(set(printed.tolist()) | set(speaks.tolist()))
    assert union_sorted(np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []
