"""Column layout of PDF text layers: generated newspaper pages with known articles, and the rules
behind them on small hand-made pieces."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest import read_archive, read_page_file
from qa.ingest.layout import Piece, read_layout
from qa.ingest.segment import segment_page
from qa.types import Page

import pagegen

pytestmark = pytest.mark.skipif(
    not pagegen.FONT.exists() or not pagegen.NEWS.exists(),
    reason="需要 fonts-wqy-zenhei 字体和 ../shared/data/news_sample.jsonl",
)


def _page(tmp_path: Path, seed: int) -> tuple[pagegen.GenPage, Page]:
    gen = pagegen.make_page(seed)
    [path] = pagegen.write_issue(tmp_path, [(gen, ".pdf", gen.pdf)])
    [page] = read_archive([tmp_path]).pages
    return gen, page


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_generated_pdf_pages_come_out_whole(tmp_path, seed) -> None:
    """Every article whole, with its own headline, 引题/副题 and byline, on 4-6 column pages."""
    gen, page = _page(tmp_path, seed)
    assert (page.read_as, page.columns) == ("pdf", gen.columns)
    articles = segment_page(page)
    for truth in gen.articles:
        [art] = [a for a in articles if a.title == truth.title]
        assert pagegen.flat(art.body) == pagegen.flat(truth.body)
        assert (art.pre_title, art.subtitle) == (truth.pre_title, truth.subtitle)
        if truth.byline:
            assert pagegen.flat(truth.byline) in pagegen.flat(art.byline)
        if truth.caption:
            assert art.captions == [truth.caption]
    assert pagegen.score(gen, articles, page.text).cer == 0.0


def test_headline_is_read_before_its_columns_and_the_masthead_is_dropped(tmp_path) -> None:
    gen, page = _page(tmp_path, 1)
    lines = page.text.split("\n")
    lead = gen.articles[0]
    assert lines.index(lead.pre_title) < lines.index(lead.title) < lines.index(lead.subtitle)
    assert lines.index(lead.subtitle) < next(n for n, s in enumerate(lines) if s.startswith(lead.paras[0][:10]))
    assert [page.roles[lines.index(t)] for t in (lead.pre_title, lead.title, lead.subtitle)] == ["pre", "head", "sub"]
    assert all(a.title != gen.paper for a in segment_page(page))  # 「聊城日报」 masthead is furniture


def _chars(text: str, x: float, top: float, size: float = 10.0) -> list[Piece]:
    return [Piece(c, x + i * size, top, x + (i + 1) * size, top + size, size) for i, c in enumerate(text)]


def test_two_columns_are_read_one_after_the_other() -> None:
    """Lines side by side are two columns: the left one is read first, whole."""
    left = ["甲一甲一甲一甲一", "甲二甲二甲二甲二", "甲三甲三。"]
    right = ["乙一乙一乙一乙一", "乙二乙二乙二乙二", "乙三乙三。"]
    pieces = []
    for n, (a, b) in enumerate(zip(left, right)):
        pieces += _chars(a, 0, n * 15) + _chars(b, 100, n * 15)
    layout = read_layout(pieces)
    assert [p.text for p in layout.paras] == ["".join(left), "".join(right)]
    assert layout.columns == 2


def test_a_paragraph_continues_into_the_next_column_unless_indented() -> None:
    col1 = ["这是第一段的开头文字", "一直写到栏底没有结束"]
    col2 = ["接着写完第一段。", "  第二段另起一行。"]
    pieces = []
    for n, line in enumerate(col1):
        pieces += _chars(line, 0, n * 15)
    for n, line in enumerate(col2):
        indent = 20 if line.startswith("  ") else 0
        pieces += _chars(line.strip(), 120 + indent, n * 15)
    assert [p.text for p in read_layout(pieces).paras] == [
        "这是第一段的开头文字一直写到栏底没有结束接着写完第一段。",
        "第二段另起一行。",
    ]


def test_single_column_pdf_reads_as_before(tmp_path) -> None:
    """A plain one-column PDF: lines in order, no headline roles (the segmenter judges by words)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("zh", "", str(pagegen.FONT))
    pdf.set_font("zh", size=12)
    pdf.multi_cell(0, 8, "春意浓\n本报讯（记者 王培源）樱花开了，游人如织。")
    path = tmp_path / "1.pdf"
    pdf.output(str(path))
    got = read_page_file(path)
    assert got.text == "春意浓\n本报讯（记者 王培源）樱花开了，游人如织。" and got.roles == []
    [art] = segment_page(Page("p", "聊城日报", "2026-04-01", 1, got.text, "x"))
    assert (art.title, art.byline, art.body) == ("春意浓", "本报讯（记者 王培源）", "樱花开了，游人如织。")


def test_low_confidence_ocr_lines_are_kept_and_listed() -> None:
    pieces = [Piece("清楚的一行文字内容", 0, 0, 90, 10, 10, 0.99), Piece("模糊的一行", 0, 15, 50, 25, 10, 0.41)]
    layout = read_layout(pieces, low_conf=0.8, ocr=True)
    assert "模糊的一行" in "".join(p.text for p in layout.paras)
    assert layout.low_conf == [("模糊的一行", 0.41)]
