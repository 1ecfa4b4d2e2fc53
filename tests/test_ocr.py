"""Scanned pages through OCR: images, multi-page TIFF, image-only PDF, the OCR cache, bad input.

The scans are parts of generated pages (tests/pagegen.py) rendered at 200 dpi, so the printed
text is known; a part rather than a whole page keeps OCR to seconds on two cores.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.ingest import ocr as ocr_module
from qa.ingest import read_archive
from qa.ingest.report import format_inspect
from qa.ingest.segment import segment_page

import pagegen

pytestmark = pytest.mark.skipif(
    not pagegen.FONT.exists() or not pagegen.NEWS.exists(),
    reason="需要 fonts-wqy-zenhei 字体和 ../shared/data/news_sample.jsonl",
)
DAY = "2023-05-06"


def sim(a: str | None, b: str | None) -> float:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.normalized_similarity(pagegen.flat(a), pagegen.flat(b))


@pytest.fixture(scope="session")
def scans(tmp_path_factory) -> SimpleNamespace:
    """A one-column article (headline, 本报讯 dateline, body) cut from a 200 dpi render, clean and noisy."""
    gen = pagegen.make_page(3)
    png = pagegen.render_png(gen.pdf, 200)
    article = gen.articles[1]
    clean = pagegen.crop_png(png, article.box)
    return SimpleNamespace(
        article=article,
        clean=clean,
        noisy=pagegen.noisy_scan(clean, seed=1),
        cache=tmp_path_factory.mktemp("ocr-cache"),
    )


def _issue(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / "聊城日报" / DAY
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return root


def _check_article(page, truth, body_sim: float) -> None:
    [art] = [a for a in segment_page(page) if a.body]
    assert sim(art.title, truth.title) >= 0.9
    assert "吴兆旭" in pagegen.flat(art.byline)
    assert sim(art.body, truth.body) >= body_sim


def test_scanned_page_is_read_through_ocr(scans, tmp_path) -> None:
    report = read_archive([_issue(tmp_path, {"02_要闻.png": scans.clean})], ocr_cache=scans.cache)
    assert report.skipped == []
    [page] = report.pages
    assert (page.read_as, page.page, page.date) == ("ocr", 2, DAY)
    assert page.ocr_confidence > 0.9 and page.seconds > 0
    _check_article(page, scans.article, 0.97)


def test_noisy_rotated_scan(scans, tmp_path) -> None:
    """Rotated 0.6°, grain, blur and JPEG: lines are straightened from the boxes' angle."""
    [page] = read_archive([_issue(tmp_path, {"02_要闻.jpg": scans.noisy})], ocr_cache=scans.cache).pages
    _check_article(page, scans.article, 0.93)


def test_unchanged_scans_are_not_read_twice(scans, tmp_path, monkeypatch) -> None:
    root = _issue(tmp_path, {"02_要闻.png": scans.clean})
    first = read_archive([root], ocr_cache=scans.cache).pages[0]
    calls = []
    real = ocr_module.recognise
    monkeypatch.setattr(ocr_module, "recognise", lambda image: calls.append(1) or real(image))
    monkeypatch.setattr("qa.ingest.image.recognise", ocr_module.recognise)
    again = read_archive([root], ocr_cache=scans.cache).pages[0]
    assert calls == [] and again.text == first.text and "缓存" in again.note
    _issue(tmp_path, {"03_新.png": _blank_png()})  # a new file is recognised, once
    read_archive([root], ocr_cache=scans.cache)
    read_archive([root], ocr_cache=scans.cache)
    assert calls == [1]


def test_multipage_tiff_and_image_only_pdf(scans, tmp_path) -> None:
    """A TIFF of two pages and a PDF whose page is only an image: both OCR'd, in page order."""
    from fpdf import FPDF
    from PIL import Image

    image = Image.open(io.BytesIO(scans.clean))
    half = image.height // 2
    top, bottom = image.crop((0, 0, image.width, half)), image.crop((0, half, image.width, image.height))
    tiff = io.BytesIO()
    top.save(tiff, format="TIFF", save_all=True, append_images=[bottom], compression="tiff_lzw")
    pdf = FPDF(unit="pt", format=(image.width * 0.36, image.height * 0.36))  # 200 dpi
    pdf.add_page()
    pdf.image(io.BytesIO(scans.clean), 0, 0, w=image.width * 0.36)
    report = read_archive(
        [_issue(tmp_path, {"04_双页.tif": tiff.getvalue(), "05_扫描.pdf": bytes(pdf.output())})], ocr_cache=scans.cache
    )
    assert report.skipped == []
    tif_page, pdf_page = report.pages
    assert (tif_page.read_as, pdf_page.read_as) == ("ocr", "ocr") and "扫描图像" in pdf_page.note
    truth = pagegen.flat(scans.article.title + scans.article.byline + scans.article.body)
    for page in (tif_page, pdf_page):
        assert sim(page.text, truth) >= 0.95


def _blank_png(width: int = 600, height: int = 400) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (width, height), 255).save(buf, format="PNG")
    return buf.getvalue()


def _huge_png(side: int = 30_000) -> bytes:
    """A real, valid 30,000 x 30,000 white PNG (~1 MB on disk, 900 megapixels decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * side
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    head = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _encrypted_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("zh", "", str(pagegen.FONT))
    pdf.set_font("zh", size=12)
    pdf.cell(text="加密的版面")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    return bytes(pdf.output())


def test_bad_scans_and_pdfs_are_reported_and_the_rest_is_read(scans, tmp_path) -> None:
    good = "防汛检查\n本报讯 各地开展防汛检查。"
    jpeg = scans.noisy
    files = {
        "01_要闻.txt": good.encode(),
        "02_坏图.png": b"\x89PNG\r\n\x1a\n" + b"\x13\x37" * 500,
        "03_半张.jpg": jpeg[: len(jpeg) // 3],
        "04_炸弹.png": _huge_png(),
        "05_空白.png": _blank_png(),
        "06_加密.pdf": _encrypted_pdf(),
        "07_截断.pdf": pagegen.make_page(1).pdf[:4000],
    }
    report = read_archive([_issue(tmp_path, files)], ocr_cache=scans.cache)
    assert [p.source.rsplit("/", 1)[-1] for p in report.pages] == ["01_要闻.txt"]
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert "图像文件已损坏" in reasons["02_坏图.png"]
    assert "图像文件已损坏或不完整" in reasons["03_半张.jpg"]
    assert "解压炸弹" in reasons["04_炸弹.png"] and "900 百万像素" in reasons["04_炸弹.png"]
    assert reasons["05_空白.png"] == "图像中没有识别到文字"
    assert "加密" in reasons["06_加密.pdf"]
    assert "PDF" in reasons["07_截断.pdf"] and ("损坏" in reasons["07_截断.pdf"] or "文字" in reasons["07_截断.pdf"])


def test_inspect_says_how_each_page_was_read(scans, tmp_path) -> None:
    root = _issue(tmp_path, {"01_要闻.txt": "春意浓\n本报讯 樱花开了。".encode(), "02_要闻.png": scans.clean})
    text = format_inspect(read_archive([root], ocr_cache=scans.cache))
    assert "读取：文本文件" in text
    ocr_line = next(line for line in text.splitlines() if line.strip().startswith("读取：OCR"))
    assert re.search(r"OCR · 1栏 · 平均置信度 (0\.9\d|1\.00) · [\d.]+秒", ocr_line)


FACT_STORY = (
    "东昌府区口袋公园建设提速",
    [
        "今年以来，东昌府区把口袋公园建设作为城市更新的民生实事，在老旧小区周边、街角空地和河道两侧见缝插绿。",
        "截至目前，全区已建成口袋公园37座，新增绿地面积12.6万平方米，居民出门三五百米就能走进一处小公园。",
        "区住建局负责人介绍，每座公园都配建了健身步道和休憩座椅，下一步还将结合群众意见优化夜间照明。",
    ],
)


@pytest.mark.slow
def test_fact_printed_only_on_a_scan_is_answered_with_its_date_and_page(tmp_path) -> None:
    """qa index reads a scanned page (OCR), and /api/ask answers from it, cited to its date and 版."""
    from qa.app import create_app
    from qa.config import Settings
    from qa.service import Service
    from qa.store import build_index

    from fakes import SEEDS

    gen = pagegen.make_page(5, lead=FACT_STORY)
    scan = pagegen.crop_png(pagegen.render_png(gen.pdf, 200), gen.articles[0].box)
    root = _issue(tmp_path / "archive", {"03_城建.png": scan})
    build_index([str(root), str(SEEDS)], tmp_path / "index", progress=False)
    assert any((tmp_path / "index" / "cache" / "ocr").iterdir())  # OCR kept for the next build
    app = create_app(Settings(index=tmp_path / "index", rate_limit=None), service=Service(tmp_path / "index"))
    reply = app.test_client().post("/api/ask", json={"question": "东昌府区已建成多少座口袋公园？"}).get_json()
    assert reply["found"] and "37座" in reply["answer"]
    top = reply["passages"][0]["citation"]
    assert (top["date"], top["page"], top["title"]) == (DAY, 3, FACT_STORY[0])
