"""Newspaper-like test pages with known ground truth, as PDF (CJK text layer) and as scans.

One generator for the tests and ``bench/bench_pages.py``. A page has a masthead, then two bands
of articles over 4–6 columns: a lead article with 引题/主题/副题 and a byline spanning several
columns, a second headline article beside it, an article with a photo and its caption, and a
boxed item. Article text comes from the shared news sample (real 2023 Chinese news), so the
character mix is what OCR meets in practice. Everything is seeded: the same seed gives the
same page, byte for byte in its text. ``tests/pagemix.py`` builds on it: a new page plan per seed
(2-6 columns, mastheads, letter-spaced and side-by-side headlines…) for ``bench/bench_layout.py``.

    page = make_page(seed=1)                  # GenPage: articles (ground truth) + PDF bytes
    png = render_png(page.pdf, dpi=200)       # clean scan
    jpg = noisy_scan(png, seed=1)             # rotated ~0.6°, grain, blur, JPEG
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fakes import SHARED

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
NEWS = SHARED / "data" / "news_sample.jsonl"
PAGE_W, PAGE_H, MARGIN, GUTTER = 210.0, 297.0, 10.0, 4.5  # mm
BODY_PT, LEAD = 8.0, 1.5  # body font size (pt) and line height as a multiple of it
PT = 25.4 / 72  # mm per point
_OK = re.compile(r"^[\u4e00-\u9fff0-9A-Za-z，。、；：！？“”（）《》%.\-]+$")
_NO_LINE_START = "，。、；：！？）》”’"
_DATELINE = re.compile(r"记者|通讯员|\d+日(?:电|讯)|^.{0,12}讯")
NAMES = ["王培源", "赵宗锋", "刘志耀", "姬翔", "朱玉东", "于伯平", "焦阳", "陈清林", "张丽媛", "吴兆旭"]


@dataclass
class GenArticle:
    """Ground truth of one printed article; ``body`` paragraphs as printed (possibly cut to fit)."""

    title: str
    paras: list[str]
    pre_title: str | None = None
    subtitle: str | None = None  # printed with a leading 「——」
    byline: str | None = None
    caption: str | None = None
    boxed: bool = False
    box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, top, x1, bottom in mm

    @property
    def body(self) -> str:
        return "\n".join(self.paras)


@dataclass
class GenPage:
    paper: str
    date: str
    columns: int
    articles: list[GenArticle] = field(default_factory=list)
    pdf: bytes = b""


@lru_cache(maxsize=1)
def _stories() -> list[tuple[str, list[str]]]:
    """(headline, paragraphs) from the news sample: articles without 「原标题」, printable by the font."""
    out = []
    for line in NEWS.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        if text.startswith("原标题") or "原标题" in text[:200]:
            continue
        paras = [p for p in re.split(r"\s{2,}", text) if p]
        paras = [re.sub(r"\s+", "", p) for p in paras]
        paras = [p for p in paras if len(p) >= 20 and _OK.match(p)]
        if len(paras) < 2 or sum(map(len, paras)) < 500 or _DATELINE.search(paras[0][:40]):
            continue  # a story that opens with its own dateline would have two bylines
        clauses = [
            c
            for c in re.split(r"[，。！？；：、“”（）《》]", paras[0])
            if 6 <= len(c) <= 14 and len(re.findall(r"[\u4e00-\u9fff]", c)) >= 5 and not re.search(r"\d日$", c)
        ]
        if len(clauses) >= 3:
            out.append((clauses[0], paras))
    return out


class _Writer:
    """fpdf2 page with the CJK font; ``lines`` wraps text to a width by glyph widths."""

    def __init__(self) -> None:
        from fpdf import FPDF

        logging.getLogger("fontTools").setLevel(logging.ERROR)  # "BDF NOT subset" chatter
        self.pdf = FPDF(unit="mm", format=(PAGE_W, PAGE_H))
        self.pdf.set_auto_page_break(False)
        self.pdf.add_page()
        self.pdf.add_font("wqy", "", str(FONT))

    def size(self, pt: float) -> None:
        self.pdf.set_font("wqy", size=pt)

    def wrap(self, text: str, width: float, indent: float = 0.0) -> list[str]:
        """Lines of at most ``width``; closing punctuation never opens a line (Chinese typesetting
        rules): it stays on the line before, which is then squeezed to the width."""
        lines, cur, w = [], "", indent
        for ch in text:
            cw = self.pdf.get_string_width(ch)
            if cur and w + cw > width and ch not in _NO_LINE_START:
                lines.append(cur)
                cur, w = "", 0.0
            cur, w = cur + ch, w + cw
        return lines + ([cur] if cur else [])

    def text(self, x: float, top: float, pt: float, line: str, justify: float | None = None) -> None:
        """``line`` at ``top`` (fpdf places text by its baseline); spread to width ``justify`` if given."""
        self.size(pt)
        spacing = 0.0
        if justify and len(line) > 1:
            spacing = (justify - self.pdf.get_string_width(line)) / (len(line) - 1) / PT  # < 0: squeezed
        self.pdf.set_char_spacing(spacing)
        self.pdf.text(x, top + pt * PT * 0.88, line)
        self.pdf.set_char_spacing(0)


class _Flow:
    """Body text flowing down columns ``cols`` (x, width) between ``top`` and ``bottom``."""

    def __init__(self, w: _Writer, cols: list[tuple[float, float]], top: float, bottom: float) -> None:
        self.w, self.cols, self.top, self.bottom = w, cols, top, bottom
        self.col, self.y = 0, top
        self.step = BODY_PT * PT * LEAD

    def para(self, text: str, pt: float = BODY_PT, indent: bool = True) -> str:
        """Print as much of ``text`` as fits (whole sentences when cut); returns what was printed."""
        self.w.size(pt)
        x, width = self.cols[self.col]
        em = pt * PT
        lines = self.w.wrap(text, width, 2 * em if indent else 0)
        room = self._room()
        if len(lines) > room:  # cut at the last sentence end that fits
            fit = "".join(lines[:room])
            cut = max(fit.rfind("。"), fit.rfind("！"), fit.rfind("？"))
            if cut < 0:
                return ""
            text = fit[: cut + 1]
            lines = self.w.wrap(text, width, 2 * em if indent else 0)
        for n, line in enumerate(lines):
            if self.y + self.step > self.bottom + 0.01:
                self.col, self.y = self.col + 1, self.top
            x, width = self.cols[self.col]
            dx = 2 * em if indent and n == 0 else 0
            # justified like a newspaper column: every line but a paragraph's last fills the width
            last = n == len(lines) - 1 and self.w.pdf.get_string_width(line) <= width - dx
            self.w.text(x + dx, self.y, pt, line, None if last else width - dx)
            self.y += self.step
        return text

    def _room(self) -> int:
        per_col = int((self.bottom - self.top + 0.01) // self.step)
        return int((self.bottom - self.y + 0.01) // self.step) + per_col * (len(self.cols) - self.col - 1)


def _grid(n: int) -> list[tuple[float, float]]:
    width = (PAGE_W - 2 * MARGIN - (n - 1) * GUTTER) / n
    return [(MARGIN + i * (width + GUTTER), width) for i in range(n)]


def _span(cols: list[tuple[float, float]]) -> tuple[float, float]:
    return cols[0][0], cols[-1][0] + cols[-1][1] - cols[0][0]


def _centered(w: _Writer, cols, top: float, pt: float, text: str) -> float:
    """Headline text centred over ``cols`` (wrapped if too wide); returns the y below it."""
    x, width = _span(cols)
    w.size(pt)
    for line in w.wrap(text, width):
        w.text(x + (width - w.pdf.get_string_width(line)) / 2, top, pt, line)
        top += pt * PT * 1.25
    return top


def _article(w: _Writer, rng: random.Random, story, cols, top: float, bottom: float, *, kind: str) -> GenArticle:
    """Print one article of ``kind`` lead/plain/photo/box into the rectangle; returns its ground truth."""
    title, paras = story
    clauses = [c for c in re.split(r"[，。！？；：、“”（）《》]", "".join(paras)) if 6 <= len(c) <= 14]
    art = GenArticle(title=title, paras=[], box=(_span(cols)[0], top, sum(_span(cols)), bottom))
    if kind == "box":
        x, width = _span(cols)
        w.pdf.set_line_width(0.4)
        w.pdf.rect(x - 1.5, top, width + 3, bottom - top)
        top, bottom, cols = (
            top + 3,
            bottom - 2.5,
            [(c[0] + (1.5 if i == 0 else 0), c[1] - 1.5) for i, c in enumerate(cols)],
        )
        art.boxed = True
    if kind == "lead":
        art.pre_title = clauses[1]
        top = _centered(w, cols, top, 11, art.pre_title) + 1
    top = _centered(w, cols, top, {"lead": 20, "plain": 16, "photo": 16, "box": 13}[kind], title) + 1
    if kind == "lead":
        art.subtitle = "——" + clauses[2]
        top = _centered(w, cols, top, 11, art.subtitle) + 1.5
    top += 1.5
    name = rng.sample(NAMES, 2)
    if kind in ("lead", "photo"):
        art.byline = f"本报记者 {name[0]} {name[1]}" if kind == "lead" else f"■ 本报记者 {name[0]}"
        w.text(cols[0][0], top, BODY_PT, art.byline)
        top += BODY_PT * PT * LEAD * 1.3
    if kind == "photo":
        x, width = _span(cols)
        height = (bottom - top) * 0.45
        w.pdf.set_fill_color(150, 150, 150)
        w.pdf.rect(x, top, width, height, style="F")
        w.pdf.set_fill_color(200, 200, 200)
        w.pdf.ellipse(x + width * 0.3, top + height * 0.2, width * 0.4, height * 0.6, style="F")
        art.caption = f"图为{clauses[1]}。本报记者 {name[1]} 摄"
        cap = _Flow(w, [(x, width)], top + height + 1.2, bottom)
        cap.para(art.caption, pt=7, indent=False)
        top = cap.y + 2.5
    flow = _Flow(w, cols, top, bottom)
    if kind == "plain":  # dateline style: 本报讯（记者 …） opens the first paragraph
        art.byline = f"本报讯（记者 {name[0]}）"
        paras = [art.byline + paras[0], *paras[1:]]
    for n, para in enumerate(paras):
        printed = flow.para(para)
        cut = printed != para
        if n == 0 and kind == "plain":
            printed = printed[len(art.byline) :]
        if printed:
            art.paras.append(printed)
        if cut or flow._room() < 2:
            break
    return art


def make_page(
    seed: int,
    columns: int | None = None,
    paper: str = "聊城日报",
    date: str = "2023-05-06",
    lead: tuple[str, list[str]] | None = None,
) -> GenPage:
    """One generated page (see module docstring); ``columns`` 4–6, chosen by the seed when None;
    ``lead`` (headline, paragraphs) replaces the lead story."""
    rng = random.Random(seed)
    n = columns or rng.choice([4, 5, 6])
    stories = rng.sample(_stories(), 4)
    if lead is not None:
        stories[0] = lead
    w = _Writer()
    y, m, d = (int(p) for p in date.split("-"))
    w.text(MARGIN, MARGIN, 22, paper)
    w.text(PAGE_W - MARGIN - 40, MARGIN + 3, 9, f"{y}年{m}月{d}日 星期六")
    w.pdf.set_line_width(0.6)
    w.pdf.line(MARGIN, MARGIN + 11, PAGE_W - MARGIN, MARGIN + 11)
    grid, top = _grid(n), MARGIN + 15
    split = rng.randint(n // 2 + 1, n - 1) if n > 4 else 3  # lead article's columns
    band = top + (PAGE_H - MARGIN - top) * rng.uniform(0.5, 0.56)
    lower = rng.randint(2, n - 2)
    page = GenPage(paper, date, n)
    page.articles.append(_article(w, rng, stories[0], grid[:split], top, band, kind="lead"))
    page.articles.append(_article(w, rng, stories[1], grid[split:], top, band, kind="plain"))
    page.articles.append(_article(w, rng, stories[2], grid[:lower], band + 6, PAGE_H - MARGIN, kind="photo"))
    page.articles.append(_article(w, rng, stories[3], grid[lower:], band + 6, PAGE_H - MARGIN, kind="box"))
    page.pdf = bytes(w.pdf.output())
    return page


def render_png(pdf: bytes, dpi: int = 200, page: int = 0) -> bytes:
    """The PDF page as a grayscale PNG scan at ``dpi`` (pypdfium2, which pdfplumber already needs)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[page].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        doc.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def crop_png(png: bytes, box: tuple[float, float, float, float], margin: float = 2.0) -> bytes:
    """The part of a render inside ``box`` (mm, as ``GenArticle.box``), ``margin`` mm around it."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    scale = image.width / PAGE_W
    x0, top, x1, bottom = box
    part = image.crop(tuple(round(v * scale) for v in (x0 - margin, top - margin, x1 + margin, bottom + margin)))
    buf = io.BytesIO()
    part.save(buf, format="PNG", dpi=image.info.get("dpi", (200, 200)))
    return buf.getvalue()


def noisy_scan(png: bytes, seed: int, angle: float = 0.6) -> bytes:
    """A worse scan of ``png``: rotated by ±``angle``°, grain, slight blur, JPEG quality 70."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    image = Image.open(io.BytesIO(png)).convert("L")
    image = image.rotate(angle if seed % 2 else -angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(0.7))
    pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 14, (image.height, image.width))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def write_issue(folder: Path, pages: list[tuple[GenPage, str, bytes]]) -> list[Path]:
    """Write ``(page, suffix, data)`` as ``folder/<paper>/<date>/<NN>_要闻<suffix>``; returns the paths."""
    out = []
    for number, (page, suffix, data) in enumerate(pages, start=1):
        path = folder / page.paper / page.date / f"{number:02d}_要闻{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append(path)
    return out


_FOLD = str.maketrans({"“": '"', "”": '"', "＂": '"', "‘": "'", "’": "'", "—": "-", "─": "-"})


def flat(text: str | None) -> str:
    """Text without whitespace, quote styles folded (OCR reads 「“」 as 「"」 at times)."""
    return "".join((text or "").split()).translate(_FOLD)


def _sim(a: str, b: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.normalized_similarity(flat(a), flat(b))


@dataclass
class Score:
    """Per-page figures: articles whole with their headline, headline-body pairs right, OCR errors."""

    articles: int = 0
    whole: int = 0
    paired: int = 0
    chars: int = 0
    errors: int = 0

    def add(self, other: Score) -> Score:
        return Score(
            *(getattr(self, k) + getattr(other, k) for k in ("articles", "whole", "paired", "chars", "errors"))
        )

    @property
    def cer(self) -> float:
        return self.errors / self.chars if self.chars else 0.0


def score(page: GenPage, articles: list, text: str, min_sim: float = 0.95) -> Score:
    """Compare segmented ``articles`` and page ``text`` with the ground truth.

    An article is *whole* when the article whose body matches its body best has a title within
    90% (edit similarity) of the printed title and a body within ``min_sim`` of the printed body;
    *paired* when that article's title matches, whatever its body. The character error rate
    aligns each printed article (headings, byline, caption, body) with its best-matching stretch
    of the page text, so it measures recognition, not reading order.
    """

    out = Score(articles=len(page.articles))
    page_flat = flat(text)
    for gt in page.articles:
        best = max(articles, key=lambda a: _sim(a.body, gt.body), default=None)
        if best is not None and _sim(best.title or "", gt.title) >= 0.9:
            out.paired += 1
            out.whole += _sim(best.body, gt.body) >= min_sim
        truth = flat("".join(p or "" for p in (gt.pre_title, gt.title, gt.subtitle, gt.byline, gt.caption, gt.body)))
        out.chars += len(truth)
        out.errors += _substring_distance(truth, page_flat)
    return out


def _substring_distance(needle: str, hay: str) -> int:
    """Edit distance from ``needle`` to the stretch of ``hay`` it matches best: semi-global
    alignment (free start and end in ``hay``), one numpy row per needle character."""
    import numpy as np

    if not hay:
        return len(needle)
    h = np.frombuffer(hay.encode("utf-32-le"), dtype=np.uint32)
    idx = np.arange(len(h) + 1)
    row = np.zeros(len(h) + 1)  # any start in hay is free
    for ch in needle:
        best = np.empty_like(row)
        best[0] = row[0] + 1
        best[1:] = np.minimum(row[:-1] + (h != ord(ch)), row[1:] + 1)  # substitute / delete
        row = np.minimum.accumulate(best - idx) + idx  # then any run of insertions
    return int(row.min())  # any end in hay is free
