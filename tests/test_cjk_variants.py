"""PDF text layers that name Kangxi radicals, radical-supplement forms and compatibility ideographs
instead of ordinary ideographs (issue 25.1): folded at ingest, so answers, headlines, BM25 tokens
and vectors are those of the plain text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.ingest import read_archive
from qa.ingest.segment import segment_page
from qa.service import Service
from qa.store import IndexReader, build_from_pages
from qa.text.normalize import fold_cjk_variants, normalize_paragraphs, normalize_text
from qa.text.tokens import tokenize

from fakes import FakeEmbedder
from pagegen import FONT

# As a born-digital page's text layer gives them: ⻓ U+2ED3 ⻔ U+2ED4 ⻅ U+2EC5 (radicals supplement),
# ⾥ U+2FA5 ⼀ U+2F00 ⽡ U+2F61 ⾕ U+2F95 ⼝ U+2F1D ⽇ U+2F47 ⼯ U+2F2F ⼈ U+2F08 (Kangxi radicals),
# 不 U+F967 (a compatibility ideograph).
TITLE_V = "阳\u2f95县景阳冈酒业出\u2f1d突破千万元"
BODY_V = (
    "东昌湖环湖绿道全\u2ed327.6公\u2fa5，产业园\u2f00期年产能达到12吉\u2f61时。"
    "市\u2ed4\u2ec5面会上，\u2f47前\u2f2f\u2f08表示进度\uf967变。"
)
TITLE = "阳谷县景阳冈酒业出口突破千万元"
BODY = "东昌湖环湖绿道全长27.6公里，产业园一期年产能达到12吉瓦时。市门见面会上，日前工人表示进度不变。"


def test_fold_maps_each_block_and_keeps_punctuation() -> None:
    assert fold_cjk_variants(TITLE_V) == TITLE and fold_cjk_variants(BODY_V) == BODY
    assert fold_cjk_variants("，。、；：！？“”《》（）【】…—·") == "，。、；：！？“”《》（）【】…—·"
    assert fold_cjk_variants("\u2ef3\u2e9f\u2ee2\u2ee5\u2ecb\u2ec9\u2ed0") == "龟母马鱼车贝钅"
    assert normalize_text(BODY_V) == BODY and normalize_paragraphs([TITLE_V]) == [TITLE]


def _pdf(path: Path, title: str, body: str) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("zh", "", str(FONT), collection_font_number=0)
    pdf.set_font("zh", size=20)
    pdf.multi_cell(0, 12, title)
    pdf.ln(4)
    pdf.set_font("zh", size=10)
    pdf.multi_cell(0, 6, body + "\n" + body)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))


@pytest.fixture(scope="module")
def two_archives(tmp_path_factory):
    if not FONT.is_file():
        pytest.skip(f"缺少字体 {FONT}（apt-get install fonts-wqy-zenhei）")
    out = {}
    for name, title, body in (("variant", TITLE_V, BODY_V), ("plain", TITLE, BODY)):
        top = tmp_path_factory.mktemp(name)
        _pdf(top / "聊城日报" / "2025-07-29" / "01_要闻.pdf", title, body)
        (top / "cms.jsonl").write_text(
            json.dumps({"id": "j1", "date": "2025-07-30", "title": title, "text": body}, ensure_ascii=False),
            encoding="utf-8",
        )
        (top / "聊城日报" / "2025-07-31").mkdir()
        (top / "聊城日报" / "2025-07-31" / "01.txt").write_text(title + "\n" + body, encoding="utf-8")
        report = read_archive([top])
        assert report.skipped == []
        ix = top / "ix"
        build_from_pages(report.pages, [str(top)], ix, embedder=FakeEmbedder(), progress=False, log=lambda m: None)
        out[name] = (report, ix)
    return out


def test_the_pdf_really_carries_the_variant_code_points(two_archives) -> None:
    import pdfplumber

    report, _ = two_archives["variant"]
    pdf = next(p for p in report.pages if p.read_as == "pdf")
    with pdfplumber.open(pdf.page_id) as doc:
        raw = "".join(c["text"] for c in doc.pages[0].chars)
    assert "\u2ed3" in raw and "\u2fa5" in raw and "\uf967" in raw


def test_pages_headlines_and_tokens_equal_the_plain_text(two_archives) -> None:
    variant, plain = two_archives["variant"][0], two_archives["plain"][0]
    assert [(p.read_as, p.text) for p in variant.pages] == [(p.read_as, p.text) for p in plain.pages]
    for v, p in zip(variant.pages, plain.pages):
        v_titles = [a.title for a in (v.articles or segment_page(v))]
        assert v_titles == [a.title for a in (p.articles or segment_page(p))] and TITLE in v_titles
        assert tokenize(v.text) == tokenize(p.text) and "公里" in tokenize(v.text)


def test_index_chunks_vectors_and_answers_equal_the_plain_text(two_archives) -> None:
    (_, vix), (_, pix) = two_archives["variant"], two_archives["plain"]
    with IndexReader.open(vix) as v, IndexReader.open(pix) as p:
        rows = list(range(v.counts()["chunks"]))
        v_texts, p_texts = [r["text"] for r in v.chunk_records(rows)], [r["text"] for r in p.chunk_records(rows)]
        assert v_texts == p_texts
    fake = FakeEmbedder()
    assert (fake.encode_passages(v_texts) == fake.encode_passages(p_texts)).all()
    for question in ("东昌湖环湖绿道全长多少公里？", "产业园一期年产能达到多少？"):
        a, b = Service(vix, embedder=fake).ask(question), Service(pix, embedder=fake).ask(question)
        assert a.answer == b.answer and ("27.6公里" in a.answer or "12吉瓦时" in a.answer)
