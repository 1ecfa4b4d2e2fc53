"""Families of layouts the column reader once got wrong, on generated PDF pages (tests/pagemix.py):
letter-spaced headlines, mastheads, headlines side by side, a lead over four columns with its
byline above the body and four articles under it, bylines under the body."""

from __future__ import annotations

from pathlib import Path

import pagemix
import pytest

from qa.ingest import read_archive
from qa.ingest.layout import Piece, read_layout
from qa.ingest.segment import furniture_chars, segment_page

import pagegen
from pagegen import flat

pytestmark = pytest.mark.skipif(
    not pagegen.FONT.exists() or not pagegen.NEWS.exists(),
    reason="需要 fonts-wqy-zenhei 字体和 ../shared/data/news_sample.jsonl",
)


def _read(tmp_path: Path, gen: pagegen.GenPage):
    pagegen.write_issue(tmp_path, [(gen, ".pdf", gen.pdf)])
    [page] = read_archive([tmp_path]).pages
    return page, segment_page(page)


def _assert_whole(gen: pagegen.GenPage, articles) -> None:
    """Every printed article comes out once, with its headline and its whole body in order, and
    nothing else: no untitled section (a body that lost its headline), no extra article."""
    for truth in gen.articles:
        got = [a for a in articles if flat(a.title) == flat(truth.title)]
        assert got, f"headline {truth.title!r} not found in {[a.title for a in articles]}"
        assert flat(got[0].body) == flat(truth.body), truth.title
    assert [a.body[:20] for a in articles if a.title is None] == []
    assert sorted(flat(a.title) for a in articles) == sorted(flat(t.title) for t in gen.articles)


@pytest.mark.parametrize("seed", [11, 12])
def test_letter_spaced_headlines_are_read_without_their_spaces(tmp_path, seed) -> None:
    gen = pagemix.make_mixed_page(seed, columns=4, bands=[[2, 2], [1, 3]], spaced=True)
    page, articles = _read(tmp_path, gen)
    for truth in gen.articles:
        assert truth.title in page.text.split("\n")
    _assert_whole(gen, articles)


def test_a_founder_style_letter_spaced_headline_keeps_its_digits_and_loses_its_spaces() -> None:
    """「中 国 海 油 党 组 召 开2024年…」: ideographs spaced 0.6 em apart (wider than a word space,
    at 1 em as wide as a gutter), digits and the rest set solid; body text under it."""
    pieces, x = [], 0.0
    for n, ch in enumerate("中国海油党组召开2024年下半年巡视动员部署会"):
        width = 10.0 if ord(ch) > 0x2000 else 5.5
        pieces.append(Piece(ch, x, 0, x + width, 20, 20))
        x += width + (12.0 if n < 7 else 0.0)
    for row in range(3):
        pieces += [
            Piece(c, i * 8.0, 40 + row * 12, i * 8.0 + 8, 48 + row * 12, 8) for i, c in enumerate("正文内容" * 5)
        ]
    paras = read_layout(pieces).paras
    assert (paras[0].text, paras[0].role) == ("中国海油党组召开2024年下半年巡视动员部署会", "head")


@pytest.mark.parametrize("seed", [21, 22])
def test_the_masthead_is_furniture_not_an_article(tmp_path, seed) -> None:
    gen = pagemix.make_mixed_page(seed, columns=5, bands=[[3, 2], [2, 3]], masthead=True)
    page, articles = _read(tmp_path, gen)
    assert "出版物号" in page.text or "今日" in page.text  # read, kept in the page text ...
    assert not any("出版物号" in (a.title or "") + a.body for a in articles)  # ... but in no article
    assert furniture_chars(page) >= len(gen.paper)
    _assert_whole(gen, articles)


def test_a_running_head_is_furniture_not_an_article(tmp_path) -> None:
    gen = pagemix.make_mixed_page(23, columns=3, bands=[[1, 2], [3]], masthead=False)
    _, articles = _read(tmp_path, gen)
    _assert_whole(gen, articles)


@pytest.mark.parametrize("seed,columns,band", [(31, 6, [2, 2, 2]), (32, 3, [1, 1, 1]), (33, 5, [2, 1, 2])])
def test_headlines_side_by_side_each_title_their_own_body(tmp_path, seed, columns, band) -> None:
    gen = pagemix.make_mixed_page(seed, columns=columns, bands=[band, band[::-1]], byline="above")
    _, articles = _read(tmp_path, gen)
    longest = max(len(flat(t.title)) for t in gen.articles)
    assert all(len(flat(a.title)) <= longest for a in articles)  # no two headlines merged into one
    _assert_whole(gen, articles)


@pytest.mark.parametrize("seed,byline", [(41, "bullet"), (42, "right"), (43, "right")])
def test_a_lead_over_four_columns_with_four_articles_under_it(tmp_path, seed, byline) -> None:
    """The lead's 「■ 本报记者 …」 byline, over its first column or its last, stays out of its
    sentences; the last lines of the four lower columns stay with their articles, not loose after
    the last one."""
    gen = pagemix.make_mixed_page(seed, columns=4, bands=[[4], [1, 1, 1, 1]], byline=byline)
    _, articles = _read(tmp_path, gen)
    assert not any("本报记者" in a.body for a in articles)
    _assert_whole(gen, articles)


@pytest.mark.parametrize("seed", [51, 52])
def test_bylines_under_the_body_are_not_body_text(tmp_path, seed) -> None:
    gen = pagemix.make_mixed_page(seed, columns=4, bands=[[2, 2], [1, 1, 2]], byline="below")
    _, articles = _read(tmp_path, gen)
    assert not any("记者" in a.body[-25:] for a in articles)
    _assert_whole(gen, articles)


def test_last_lines_set_apart_at_the_foot_of_the_columns_stay_with_their_columns() -> None:
    """A lead over four columns whose last lines sit a little apart at the foot: each last line is
    read after its own column, not all four as loose fragments after the last column."""

    def chars(text: str, x: float, top: float, size: float = 10.0) -> list[Piece]:
        return [Piece(c, x + i * size, top, x + (i + 1) * size, top + size, size) for i, c in enumerate(text)]

    pieces = chars("一篇跨四栏的文章标题", 60, 0, 24)
    for k in range(4):
        for n in range(4):
            pieces += chars(f"第{k}栏正文第{n}行内容", k * 110, 40 + n * 15)
        pieces += chars(f"第{k}栏末行文字内容。", k * 110, 120)
    paras = read_layout(pieces).paras
    text = "".join(p.text for p in paras[1:])
    # where each paragraph is printed is kept: one box per column it runs through
    assert [p.boxes for p in paras[1:3]] == [[(0, 40, 100, 95)], [(0, 120, 100, 130)]]
    assert text == "".join(
        f"第{k}栏正文第0行内容第{k}栏正文第1行内容第{k}栏正文第2行内容第{k}栏正文第3行内容第{k}栏末行文字内容。"
        for k in range(4)
    )
