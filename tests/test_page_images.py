"""Where cited articles sit on their page, and the page image route.

Generated newspaper pages (tests/pagegen.py: 4-6 columns, headlines over several columns) are
indexed as PDFs; each citation's regions must cover every character of its article, checked
against the PDF's own character positions (pdfplumber), not against the code that made them.
The image route is tried with the real Flask app, real renders (pypdfium2, Pillow) and real
files made missing or broken under it.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.app import create_app
from qa.config import Settings
from qa.types import Page, PageFrame

import pagegen
from fakes import FakeEmbedder

pytestmark = pytest.mark.skipif(not pagegen.FONT.exists() or not pagegen.NEWS.exists(),
                                reason="需要 fonts-wqy-zenhei 字体和 ../shared/data/news_sample.jsonl")
SEEDS = (1, 2, 4)


def _chars(pdf_path: Path) -> tuple[list[dict], float, float]:
    import pdfplumber

    with pdfplumber.open(pdf_path) as pdf:
        page = pdf.pages[0]
        return [c for c in page.chars if c["text"].strip()], float(page.width), float(page.height)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> SimpleNamespace:
    """Three generated PDF pages indexed with the fake embedder, served by the real app."""
    from qa.service import Service
    from qa.store import build_index

    root = tmp_path_factory.mktemp("page-images")
    gens = [pagegen.make_page(s, date=f"2023-05-0{n}") for n, s in enumerate(SEEDS, start=1)]
    paths = [pagegen.write_issue(root / "arch", [(g, ".pdf", g.pdf)])[0] for g in gens]
    build_index([str(root / "arch")], root / "index", embedder=FakeEmbedder(), progress=False)
    svc = Service(root / "index", embedder=FakeEmbedder())
    client = create_app(Settings(index=root / "index", rate_limit=None), service=svc).test_client()
    return SimpleNamespace(root=root, gens=gens, paths=paths, client=client, index=root / "index")


def _ask(client, question: str, day: str | None = None) -> dict:
    days = {"date_from": day, "date_to": day} if day else {}
    r = client.post("/api/ask", json={"question": question, "top_k": 8, **days})
    assert r.status_code == 200
    return r.get_json()


def _inside(c: dict, w: float, h: float, box: list[float]) -> bool:
    return box[0] <= c["x0"] / w and c["x1"] / w <= box[2] and box[1] <= c["top"] / h and c["bottom"] / h <= box[3]


def test_cited_regions_cover_every_character_of_the_article(archive) -> None:
    """Each cited article's boxes hold all of its printed characters (headline, byline, every column,
    caption) and little of any other article's; an article over several columns has several boxes."""
    checked = 0
    for gen, path in zip(archive.gens, archive.paths):
        chars, w, h = _chars(path)
        mm_x, mm_y = w / pagegen.PAGE_W, h / pagegen.PAGE_H
        for truth in gen.articles:
            body = _ask(archive.client, truth.title, gen.date)
            cits = [p["citation"] for p in body["passages"] if p["citation"]["title"] == truth.title
                    and p["citation"]["date"] == gen.date]
            assert cits, f"{truth.title} not cited"
            cit = cits[0]
            assert cit["page_image"].startswith("/api/pages/") and cit["page_image"].endswith("/image")
            boxes = cit["regions"][cit["passage_regions"]:]  # the article's own boxes
            x0, top, x1, bottom = truth.box
            mine = [c for c in chars if x0 * mm_x - 1 <= c["x0"] and c["x1"] <= x1 * mm_x + 1
                    and top * mm_y - 1 <= c["top"] and c["bottom"] <= bottom * mm_y + 1]
            others = [c for c in chars if c not in mine]
            assert len(mine) > 100
            missed = [c["text"] for c in mine if not any(_inside(c, w, h, b) for b in boxes)]
            assert not missed, f"{truth.title}: {''.join(missed)}"
            stray = [c for c in others if any(_inside(c, w, h, b) for b in boxes)]
            assert len(stray) <= 0.02 * len(mine), f"{truth.title}: {''.join(c['text'] for c in stray)}"
            assert len(boxes) >= 2
            assert all(0 <= v <= 1 for b in cit["regions"] for v in b)
            checked += 1
    assert checked == 4 * len(SEEDS)


def test_a_passage_s_own_lines_come_first_and_lie_in_its_article(archive) -> None:
    gen = archive.gens[0]
    lead = gen.articles[0]
    body = _ask(archive.client, lead.paras[-1][:30])
    cit = body["passages"][0]["citation"]
    own, article = cit["regions"][:cit["passage_regions"]], cit["regions"][cit["passage_regions"]:]
    assert own, "the passage's lines are known for a PDF page"
    for b in own:  # each passage box lies within one of the article's boxes
        assert any(a[0] <= b[0] and b[2] <= a[2] and a[1] <= b[1] and b[3] <= a[3] for a in article)


def test_page_image_has_etag_and_answers_304(archive) -> None:
    url = _ask(archive.client, archive.gens[0].articles[1].title)["passages"][0]["citation"]["page_image"]
    r = archive.client.get(url)
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert r.data[:3] == b"\xff\xd8\xff"
    assert r.headers["ETag"] and "max-age" in r.headers["Cache-Control"]
    from PIL import Image

    image = Image.open(io.BytesIO(r.data))
    assert max(image.size) == 2000 and image.height > image.width  # a portrait page at the render size
    again = archive.client.get(url, headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == r.headers["ETag"]
    assert archive.client.get(url).data == r.data  # from the cache: the same bytes
    small = archive.client.get(url + "?size=small")
    assert max(Image.open(io.BytesIO(small.data)).size) == 480 and small.headers["ETag"] != r.headers["ETag"]
    assert archive.client.get(url + "?size=huge").get_json()["error"]["code"] == "bad_request"
    assert list((archive.index / "cache" / "pages").glob("*.jpg"))


@pytest.mark.parametrize("url", [
    "/api/pages/0123456789abcdef0123/image",  # well formed, not in the index
    "/api/pages/..%2F..%2F..%2Fetc%2Fpasswd/image",
    "/api/pages/%2Fetc%2Fpasswd/image",
    "/api/pages/..%252F..%252Fetc%252Fpasswd/image",
    "/api/pages/../../../etc/passwd/image",
    "/api/pages/%2e%2e/image",
    "/api/pages/ABCDEF0123456789ABCD/image",
])
def test_unknown_keys_and_path_tricks_get_a_json_404(archive, url) -> None:
    r = archive.client.get(url)
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"
    assert b"root:" not in r.data


def test_the_text_page_route_is_not_shadowed(archive) -> None:
    r = archive.client.get("/api/pages/2023-05-01/1")
    assert r.status_code == 200 and r.get_json()["paper"] == "聊城日报"


def _copy_archive(archive, tmp_path: Path, seed_index: int = 0):
    """A private index of one page (its file may be broken by the test), and its client."""
    from qa.service import Service
    from qa.store import build_index

    gen = archive.gens[seed_index]
    [path] = pagegen.write_issue(tmp_path / "arch", [(gen, ".pdf", gen.pdf)])
    build_index([str(tmp_path / "arch")], tmp_path / "index", embedder=FakeEmbedder(), progress=False)
    svc = Service(tmp_path / "index", embedder=FakeEmbedder())
    client = create_app(Settings(index=tmp_path / "index", rate_limit=None), service=svc).test_client()
    cit = _ask(client, gen.articles[0].title)["passages"][0]["citation"]
    return client, path, cit


def test_missing_original_file_says_why_and_the_citation_still_works(archive, tmp_path) -> None:
    client, path, cit = _copy_archive(archive, tmp_path)
    path.unlink()
    r = client.get(cit["page_image"])
    assert r.status_code == 404
    err = r.get_json()["error"]
    assert err["code"] == "page_image_unavailable" and "原始文件" in err["message"]
    again = _ask(client, archive.gens[0].articles[0].title)["passages"][0]["citation"]
    assert again["title"] == cit["title"] and again["regions"] == cit["regions"]


def test_a_broken_pdf_gives_a_json_error_and_the_server_keeps_answering(archive, tmp_path) -> None:
    client, path, cit = _copy_archive(archive, tmp_path)
    path.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 500)  # same name, now unreadable
    r = client.get(cit["page_image"])
    assert r.status_code == 404
    err = r.get_json()["error"]
    assert err["code"] == "page_image_unavailable" and "无法读取" in err["message"]
    assert client.get("/api/health").status_code == 200
    assert _ask(client, archive.gens[0].articles[0].title)["found"] is True
    path.write_bytes(archive.gens[0].pdf)  # repaired: the image comes back (new ETag, new render)
    assert client.get(cit["page_image"]).status_code == 200


def test_a_scan_is_served_downscaled_and_text_pages_have_no_image(tmp_path) -> None:
    """A scan page (its text given, so no OCR here) is served from its original, downscaled; a text
    page's citation has no image and no regions."""
    from PIL import Image

    from qa.service import Service
    from qa.store import build_from_pages

    scan = tmp_path / "01.png"
    Image.new("L", (3000, 4200), 255).save(scan)
    frame = PageFrame("image", 3000, 4200, [("防汛工作会议召开部署各项任务", 0.1, 0.1, 0.5, 0.12)])
    pages = [Page(scan.resolve().as_posix(), "聊城日报", "2025-07-29", 1, "防汛工作会议召开部署各项任务", "01.png",
                  frame=frame, read_as="ocr"),
             Page("/x/02.txt", "聊城日报", "2025-07-29", 2, "秋粮收购工作有序推进各地粮库满仓", "02.txt")]
    build_from_pages(pages, [], tmp_path / "index", embedder=FakeEmbedder(), progress=False)
    client = create_app(Settings(index=tmp_path / "index", rate_limit=None),
                        service=Service(tmp_path / "index", embedder=FakeEmbedder())).test_client()
    cit = _ask(client, "防汛工作会议")["passages"][0]["citation"]
    assert cit["regions"] and cit["regions"][0] == pytest.approx([0.098, 0.098, 0.502, 0.122])
    image = Image.open(io.BytesIO(client.get(cit["page_image"]).data))
    assert image.size == (1429, 2000)
    text = _ask(client, "秋粮收购")["passages"][0]["citation"]
    assert (text["page_image"], text["regions"], text["passage_regions"]) == (None, None, 0)


def test_the_cache_stays_within_its_bound(archive, tmp_path) -> None:
    from qa.app.pagecache import PageImages
    from qa.store import IndexReader

    cache = PageImages(tmp_path / "pages", max_bytes=1)  # room for nothing but the newest
    with IndexReader.open(archive.index) as reader:
        rows = [reader.page_image(rec["image_key"]) for rec in reader.chunk_records([0, reader.n_chunks - 1])]
    assert rows[0]["file"] != rows[1]["file"]
    for row in rows:
        assert cache.image(row, cache.etag(row))[:3] == b"\xff\xd8\xff"
    assert len(list((tmp_path / "pages").glob("*.jpg"))) <= 1


def test_segments_without_the_tables_still_answer_and_merge(archive, tmp_path, monkeypatch) -> None:
    """An index written before regions existed: citations without image, and a merge with a new
    segment keeps the new one's regions."""
    from qa.store import IndexReader, build_index, merge_index
    from qa.store.folder import merge as merge_module

    index = tmp_path / "index"
    shutil.copytree(archive.index, index)
    shutil.rmtree(index / "cache", ignore_errors=True)
    [old] = list((index / "segments").iterdir())
    db = sqlite3.connect(old / "meta.sqlite")
    db.executescript("DROP TABLE regions; DROP TABLE page_images;")
    db.close()
    with IndexReader.open(index) as reader:
        [rec] = reader.chunk_records([0])
        assert (rec["image_key"], rec["regions"]) == (None, None)
    gen = pagegen.make_page(6, date="2023-06-01")
    pagegen.write_issue(tmp_path / "more", [(gen, ".pdf", gen.pdf)])
    build_index([str(tmp_path / "more")], index, embedder=FakeEmbedder(), progress=False, merge=False)
    monkeypatch.setattr(merge_module, "MERGE_FACTOR", 2)
    assert merge_index(index) is not None
    with IndexReader.open(index) as reader:
        assert len(reader.segments) == 1
        recs = reader.chunk_records(list(range(reader.n_chunks)))
    new = [r for r in recs if r["date"] == "2023-06-01"]
    assert new and all(r["regions"] and r["image_key"] for r in new)
    assert all(r["regions"] is None for r in recs if r["date"] != "2023-06-01")


def _image_only_pdf(png: bytes) -> bytes:
    """A PDF whose one page is the scan ``png`` at 200 dpi (no text layer)."""
    from fpdf import FPDF
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    pdf = FPDF(unit="pt", format=(image.width * 0.36, image.height * 0.36))
    pdf.add_page()
    pdf.image(io.BytesIO(png), 0, 0, w=image.width * 0.36)
    return bytes(pdf.output())


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_scan_regions_cover_the_article_text(tmp_path, suffix) -> None:
    """A scanned part of a page holding two articles side by side (OCR), as an image file and as an
    image-only PDF: each article's regions cover the centres of its printed characters, taken from
    the PDF the scan was rendered from."""
    from qa.ingest import read_archive
    from qa.ingest.regions import page_regions
    from qa.ingest.segment import segment_page

    gen = pagegen.make_page(2)
    photo, boxed = gen.articles[2], gen.articles[3]
    area = (min(photo.box[0], boxed.box[0]), min(photo.box[1], boxed.box[1]),
            max(photo.box[2], boxed.box[2]), max(photo.box[3], boxed.box[3]))
    png = pagegen.crop_png(pagegen.render_png(gen.pdf, 200), area, margin=2.0)
    pagegen.write_issue(tmp_path, [(gen, suffix, png if suffix == ".png" else _image_only_pdf(png))])
    [page] = read_archive([tmp_path]).pages
    assert page.read_as == "ocr" and page.frame.kind == suffix[1:].replace("png", "image")
    articles = segment_page(page)
    rows = page_regions(page.frame, page.page_id, articles, {})
    pdf = tmp_path / "page.pdf"
    pdf.write_bytes(gen.pdf)
    chars, w, h = _chars(pdf)
    mm_x, mm_y = w / pagegen.PAGE_W, h / pagegen.PAGE_H
    left, top = area[0] - 2.0, area[1] - 2.0
    span_x, span_y = area[2] + 2.0 - left, area[3] + 2.0 - top
    for truth in (photo, boxed):
        [art] = [a for a in articles if pagegen.flat(a.title) == pagegen.flat(truth.title)]
        boxes = [[r["x0"], r["y0"], r["x1"], r["y1"]] for r in rows if r["article_id"] == art.article_id]
        x0, y0, x1, y1 = truth.box
        mine = [c for c in chars if x0 * mm_x - 1 <= c["x0"] and c["x1"] <= x1 * mm_x + 1
                and y0 * mm_y - 1 <= c["top"] and c["bottom"] <= y1 * mm_y + 1]
        centres = [(((c["x0"] + c["x1"]) / 2 / mm_x - left) / span_x,
                    ((c["top"] + c["bottom"]) / 2 / mm_y - top) / span_y) for c in mine]
        missed = [c["text"] for c, (x, y) in zip(mine, centres)
                  if not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)]
        assert len(missed) <= 0.01 * len(mine), f"{truth.title}: {''.join(missed)}"


def test_milvus_backend_cites_pdf_pages_without_image(archive, tmp_path) -> None:
    """Milvus keeps no regions: citations of a PDF page say null (documented), and indexing the same
    folder again finds nothing changed."""
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    from qa.store import build_index
    from qa.store.location import parse_backend
    from qa.store.milvus.client import forget_client
    from qa.store.open import open_reader
    from qa.types import Citation

    gen = archive.gens[0]
    pagegen.write_issue(tmp_path / "arch", [(gen, ".pdf", gen.pdf)])
    target = parse_backend(str(tmp_path / "milvus.db"))
    try:
        build_index([str(tmp_path / "arch")], target, embedder=FakeEmbedder(), progress=False)
        again = build_index([str(tmp_path / "arch")], target, embedder=FakeEmbedder(), progress=False)
        assert again.published is False
        reader = open_reader(target)
        try:
            cit = Citation.from_record(reader.chunk_records([0])[0])
            assert (cit.page_image, cit.regions, cit.passage_regions) == (None, None, 0)
            assert reader.page_image("0123456789abcdef0123") is None
        finally:
            reader.close()
    finally:
        forget_client(target)


def test_rechunking_keeps_the_article_regions(archive, tmp_path) -> None:
    """New chunk settings re-chunk live pages from the index (not from their files): each article
    keeps its boxes, and chunks that came out the same keep theirs."""
    from qa.ingest.chunk import ChunkSettings
    from qa.store import IndexReader, build_index

    index = tmp_path / "index"
    shutil.copytree(archive.index, index)

    def article_boxes() -> dict[str, list]:
        with IndexReader.open(index) as reader:
            recs = reader.chunk_records(list(range(reader.n_chunks)))
        return {r["article_id"]: r["regions"][r["passage_regions"]:] for r in recs}

    before = article_boxes()
    report = build_index([str(archive.root / "arch")], index, embedder=FakeEmbedder(), progress=False,
                         settings=ChunkSettings(max_chars=120))
    assert report.full_reembed_reason  # every page re-chunked
    after = article_boxes()
    assert after == before and all(after.values())


@pytest.mark.parametrize("script, reason", [
    ("kill -SEGV $$", "异常退出"),  # the renderer crashes (a PDFium bug on a hostile file)
    ("sleep 30", "超时"),  # or hangs
])
def test_a_crashing_or_hanging_renderer_never_takes_the_server_down(archive, tmp_path, monkeypatch, script,
                                                                     reason) -> None:
    from qa.app import pagecache

    fake_python = tmp_path / "python"
    fake_python.write_text(f"#!/bin/sh\n{script}\n")
    fake_python.chmod(0o755)
    monkeypatch.setattr(pagecache.sys, "executable", str(fake_python))
    monkeypatch.setattr(pagecache, "RENDER_TIMEOUT", 2.0)
    monkeypatch.setattr(pagecache, "_caches", {})
    client, _, cit = _copy_archive(archive, tmp_path)
    r = client.get(cit["page_image"])
    assert r.status_code == 404
    err = r.get_json()["error"]
    assert err["code"] == "page_image_unavailable" and reason in err["message"]
    assert client.get("/api/health").status_code == 200
    assert _ask(client, archive.gens[0].articles[0].title)["passages"][0]["citation"]["regions"]


def test_short_and_shared_lines_go_with_their_column_and_a_headline_item_is_its_chunk() -> None:
    """「语。」 ending a column and a byline printed in two articles are placed by position; a
    headline-only item's one chunk is its headline."""
    from qa.ingest.chunk import chunk_article
    from qa.ingest.regions import page_regions
    from qa.types import Article

    lines = [("本报记者王培源", .05, .10, .20, .11), ("第一篇的正文写在左栏里面", .05, .12, .30, .13),
             ("语。", .05, .14, .08, .15),
             ("本报记者王培源", .55, .10, .70, .11), ("第二篇的正文写在右栏里面", .55, .12, .80, .13),
             ("语。", .55, .14, .58, .15),
             ("只有标题的一条消息", .05, .50, .40, .53)]
    arts = [Article("p#a1", None, "第一篇的正文写在左栏里面语。", byline="本报记者 王培源"),
            Article("p#a2", None, "第二篇的正文写在右栏里面语。", byline="本报记者 王培源"),
            Article("p#a3", "只有标题的一条消息", "")]
    rows = page_regions(PageFrame("pdf", 1, 1, lines), "p", arts, {a.article_id: chunk_article(a, "p") for a in arts})
    boxes = {(r["article_id"], r["chunk_id"] is None): (r["x0"], r["y0"], r["x1"], r["y1"]) for r in rows}
    assert boxes[("p#a1", True)] == (0.048, 0.098, 0.302, 0.152)  # byline, body and 「语。」 of the left column
    assert boxes[("p#a2", True)] == (0.548, 0.098, 0.802, 0.152)
    assert boxes[("p#a3", False)] == boxes[("p#a3", True)] == (0.048, 0.498, 0.402, 0.532)
