"""Caps on one page file (issue 24): a PDF or TIFF with too many pages, or a 版 with too much text,
is skipped and named with a Chinese reason, while the other files of the issue are indexed.

The PDFs are generated with fpdf2 (Latin text in a core font: no font file needed); the caps are
lowered through their environment variables so the files stay small, except in the test of the
default cap, which checks that the refusal parses no page at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest.archive import read_archive
from qa.ingest.limits import MAX_FILE_PAGES

TEXT = "问需于企 精准滴灌\n2025年，全市新增省级以上专精特新中小企业207家。"


def _issue(tmp_path: Path) -> Path:
    """An issue folder holding one good 版 (01_要闻.txt)."""
    day = tmp_path / "聊城日报" / "2026-04-01"
    day.mkdir(parents=True)
    (day / "01_要闻.txt").write_text(TEXT, encoding="utf-8")
    return day


def _pdf(path: Path, pages: int, chars_per_page: int = 40) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    for n in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, " ".join(f"p{n}w{i}" for i in range(chars_per_page // 6 + 1))[:chars_per_page])
    pdf.output(str(path))
    return path


def _reasons(report) -> dict[str, str]:
    return {Path(s.source).name: s.reason for s in report.skipped}


@pytest.fixture
def parsed_pages(monkeypatch) -> list[int]:
    """Counts PDF pages whose content pdfplumber parses (the expensive part of reading a PDF)."""
    import pdfplumber.page

    calls: list[int] = []
    original = pdfplumber.page.Page.parse_objects

    def counting(self):
        calls.append(self.page_number)
        return original(self)

    monkeypatch.setattr(pdfplumber.page.Page, "parse_objects", counting)
    return calls


def test_default_cap_refuses_a_many_page_pdf_before_parsing_any_page(tmp_path, parsed_pages):
    day = _issue(tmp_path)
    _pdf(day / "02_巨型.pdf", MAX_FILE_PAGES + 1)
    report = read_archive([tmp_path])
    assert [p.page for p in report.pages] == [1]  # the good 版 is still read
    reason = _reasons(report)["02_巨型.pdf"]
    assert f"PDF 有 {MAX_FILE_PAGES + 1} 页" in reason and f"{MAX_FILE_PAGES} 页的上限" in reason
    assert parsed_pages == []


def test_page_cap_is_configurable(tmp_path, monkeypatch, parsed_pages):
    monkeypatch.setenv("QA_MAX_FILE_PAGES", "2")
    day = _issue(tmp_path)
    _pdf(day / "02_两页.pdf", 2)
    _pdf(day / "03_三页.pdf", 3)
    report = read_archive([tmp_path])
    assert sorted(p.page for p in report.pages) == [1, 2]
    assert "PDF 有 3 页，超过单个版面文件 2 页的上限" in _reasons(report)["03_三页.pdf"]
    assert len(parsed_pages) == 2  # only the two pages of the accepted file


def test_text_cap_stops_reading_at_the_page_that_crosses_it(tmp_path, monkeypatch, parsed_pages):
    monkeypatch.setenv("QA_MAX_PAGE_CHARS", "300")
    day = _issue(tmp_path)
    _pdf(day / "02_长文.pdf", 10, chars_per_page=200)  # 2,000 characters in all
    report = read_archive([tmp_path])
    assert [p.page for p in report.pages] == [1]
    assert "文字过多" in _reasons(report)["02_长文.pdf"] and "上限 300 字" in _reasons(report)["02_长文.pdf"]
    assert len(parsed_pages) == 2  # the second page crossed the cap; pages 3-10 were never parsed


def test_multi_page_tiff_over_the_cap_is_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("QA_MAX_FILE_PAGES", "2")
    day = _issue(tmp_path)
    frames = [Image.new("L", (64, 64), 255) for _ in range(3)]
    frames[0].save(day / "02_扫描.tif", save_all=True, append_images=frames[1:])
    report = read_archive([tmp_path])
    assert [p.page for p in report.pages] == [1]
    assert "TIFF 有 3 页，超过单个版面文件 2 页的上限" in _reasons(report)["02_扫描.tif"]


def test_bad_cap_setting_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MAX_FILE_PAGES", "many")
    day = _issue(tmp_path)
    _pdf(day / "02_一页.pdf", 1)
    assert "QA_MAX_FILE_PAGES" in _reasons(read_archive([tmp_path]))["02_一页.pdf"]
