"""Where each article (and each chunk) sits on its page: boxes in fractions of the page image.

The page readers keep one box per printed line (``qa.types.PageFrame``): PDF characters on one
baseline (:func:`pdf_frame`), or the recogniser's line boxes of a scan (:func:`ocr_frame`). These
line boxes are built here, apart from the column layout (``qa.ingest.layout``), on purpose: they
only have to say where text is, not in which order it reads, so a change to the layout rules never
moves a region. After segmentation, :func:`page_regions` matches each line back to the article
whose text contains it (letters, digits and ideographs only, so punctuation and spacing that the
normaliser changed do not matter); a line too short to tell (「语。」 ending a paragraph) or found in
several articles goes with the line above or below it in its column. An article's lines are then
merged into one box per column block (a headline, each column of body text), so an article set
over three columns has at least three boxes. A chunk's boxes are the lines holding its sentences.

    >>> f = PageFrame("pdf", 100, 100, [("春意浓", .1, .1, .4, .15), ("樱花开了。", .1, .2, .5, .23)])
    >>> rows = page_regions(f, "p", [Article("p#a1", "春意浓", "樱花开了。")], {})
    >>> [(r["chunk_id"], r["x0"], r["y1"]) for r in rows]
    [(None, 0.098, 0.152), (None, 0.098, 0.232)]
"""

from __future__ import annotations

import re
from typing import Iterable

from qa.text.normalize import to_halfwidth
from qa.types import Article, Chunk, PageFrame

PAD = 0.002  # boxes grow by this fraction of the page on each side: glyph ink can overhang its box
SHORT = 4  # lines with fewer letters than this are placed by their neighbours, not by their text
_WORD = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")

Line = tuple[str, float, float, float, float]


def flat(text: str | None) -> str:
    """Letters, digits and ideographs only, full-width folded: ``flat("２０２５年，“小”") -> "2025年小"``."""
    return "".join(_WORD.findall(to_halfwidth(text or "")))


def pdf_frame(chars: list[dict], width: float, height: float) -> PageFrame:
    """Line boxes of one PDF page from pdfplumber's characters: same size and baseline, and less
    than 0.9 em apart (a column gutter is wider)."""
    rows: list[list[dict]] = []
    for c in sorted((c for c in chars if c["text"].strip()), key=lambda c: (c["top"] + c["bottom"], c["x0"])):
        mid = (c["top"] + c["bottom"]) / 2
        for row in reversed(rows[-8:]):
            r = row[-1]
            if (abs(r["size"] - c["size"]) <= 0.15 * max(r["size"], c["size"])
                    and abs((r["top"] + r["bottom"]) / 2 - mid) <= 0.35 * min(r["size"], c["size"])):
                row.append(c)
                break
        else:
            rows.append([c])
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda c: c["x0"])
        run = [row[0]]
        for c in row[1:]:
            if c["x0"] - run[-1]["x1"] > 0.9 * max(c["size"], run[-1]["size"]):
                lines.append(_char_line(run))
                run = []
            run.append(c)
        lines.append(_char_line(run))
    return PageFrame("pdf", float(width), float(height), [_scaled(ln, width, height) for ln in lines])


def ocr_frame(frame, width: float, height: float, kind: str = "image") -> PageFrame:
    """Line boxes of one OCR'd image (``qa.ingest.ocr.OcrFrame``, pixels of a ``width`` x ``height``
    image): a recogniser box split where its characters leave a gutter-wide gap (two columns' lines
    read as one)."""
    lines: list[Line] = []
    for box in frame.boxes:
        xs, ys = box.quad[0::2], box.quad[1::2]
        top, bottom = min(ys), max(ys)
        runs: list[list] = []
        for w in box.words:  # [text, x0, y0, x1, y1]
            if not runs or w[1] - runs[-1][-1][3] > 1.5 * (bottom - top):
                runs.append([])
            runs[-1].append(w)
        same = "".join(w[0] for run in runs for w in run).replace(" ", "") == box.text.replace(" ", "")
        if runs and same:
            lines += [_box("".join(w[0] for w in run), [(w[1], top, w[3], bottom) for w in run]) for run in runs]
        elif box.text.strip():
            lines.append(_box(box.text, [(min(xs), top, max(xs), bottom)]))
    return PageFrame(kind, float(width), float(height), [_scaled(ln, width, height) for ln in lines])


def _char_line(run: list[dict]) -> Line:
    return _box("".join(p["text"] for p in run), [(p["x0"], p["top"], p["x1"], p["bottom"]) for p in run])


def _box(text: str, boxes: list[tuple[float, float, float, float]]) -> Line:
    x0, y0, x1, y1 = zip(*boxes)
    return (text, min(x0), min(y0), max(x1), max(y1))


def _scaled(line: Line, width: float, height: float) -> Line:
    text, x0, y0, x1, y1 = line
    return (text, x0 / width, y0 / height, x1 / width, y1 / height)


def page_regions(frame: PageFrame | None, page_id: str, articles: list[Article],
                 chunks: dict[str, list[Chunk]]) -> list[dict]:
    """Rows of the ``regions`` table for one page: each article's boxes (``chunk_id`` None), then each
    of its chunks' boxes; ``chunks`` maps article id -> its chunks. No frame: no rows."""
    if frame is None or not frame.lines or not articles:
        return []
    owner = assign_lines(frame.lines, [_article_text(a) for a in articles])
    rows: list[dict] = []
    for k, art in enumerate(articles):
        mine = [n for n, o in enumerate(owner) if o == k]
        if not mine:
            continue
        rows += _rows(art.article_id, page_id, None, [frame.lines[n] for n in mine])
        for chunk_id, lines in _chunk_lines(art, chunks.get(art.article_id, []), frame.lines, mine, owner):
            rows += _rows(art.article_id, page_id, chunk_id, lines)
    return rows


def _article_text(a: Article) -> str:
    return "".join(flat(t) for t in (a.pre_title, a.title, a.subtitle, a.byline, a.body, *a.captions, *a.refs))


def assign_lines(lines: list[Line], texts: list[str]) -> list[int | None]:
    """For each line, the index of the text (article) it belongs to, or None (furniture, unknown)."""
    cands = []
    for line in lines:
        f = flat(line[0])
        cands.append([k for k, t in enumerate(texts) if f and f in t] if len(f) >= SHORT else None)
    owner: list[int | None] = [c[0] if c and len(c) == 1 else None for c in cands]
    for _ in range(3):  # short and shared lines take their column neighbour's article, which may be one of these
        changed = False
        for n, line in enumerate(lines):
            if owner[n] is not None or cands[n] == []:
                continue
            for m in _neighbours(lines, n):
                if owner[m] is not None and (cands[n] is None or owner[m] in cands[n]):
                    owner[n], changed = owner[m], True
                    break
        if not changed:
            break
    for n, c in enumerate(cands):  # still shared (a byline in two articles): the article printed nearest
        if owner[n] is None and c:
            owner[n] = min(c, key=lambda k: min((_distance(lines[n], lines[m]) for m, o in enumerate(owner) if o == k),
                                                default=9.0))
    return owner


def _distance(a: Line, b: Line) -> float:
    """Gap between two boxes (0 when they touch), in page fractions."""
    dx = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    dy = max(0.0, max(a[2], b[2]) - min(a[4], b[4]))
    return (dx * dx + dy * dy) ** 0.5


def _neighbours(lines: list[Line], n: int) -> list[int]:
    """Lines just above or below line ``n`` in its column (overlapping it across), nearest first."""
    _, x0, y0, x1, y1 = lines[n]
    h = y1 - y0
    near = []
    for m, (_, a0, b0, a1, b1) in enumerate(lines):
        if m == n or min(x1, a1) <= max(x0, a0):
            continue
        gap = max(b0 - y1, y0 - b1)
        if -0.5 * h <= gap <= 1.5 * max(h, b1 - b0):
            near.append((gap, m))
    return [m for _, m in sorted(near)]


def _chunk_lines(art: Article, chunks: list[Chunk], lines: list[Line], mine: list[int],
                 owner: list[int | None]) -> Iterable[tuple[str, list[Line]]]:
    """(chunk id, its lines) for each chunk: lines whose text lies in the chunk's span of the article's
    byline + body + captions (what ``qa.ingest.chunk`` cuts); a short line goes with the line above it."""
    space = flat(art.byline) + flat(art.body) + "".join(flat(c) for c in art.captions)
    if not space:  # a headline-only item: its one chunk is the headline
        yield from ((c.chunk_id, [lines[n] for n in mine]) for c in chunks)
        return
    spans, cursor = [], 0
    for c in chunks:
        f = flat(c.text)
        at = space.find(f, cursor) if f else -1
        spans.append((at, at + len(f)) if at >= 0 else None)
        if at >= 0:
            cursor = at + len(f)
    heading = flat(art.pre_title) + flat(art.title) + flat(art.subtitle)
    body_h = sorted(lines[n][4] - lines[n][2] for n in mine)[len(mine) // 2]
    where: dict[int, tuple[int, int]] = {}
    for n in mine:
        f = flat(lines[n][0])
        if f in heading and lines[n][4] - lines[n][2] > 1.15 * body_h:
            continue  # a headline line whose words the body repeats is not the passage's
        if len(f) >= SHORT and (at := space.find(f)) >= 0:
            where[n] = (at, at + len(f))
    for n in mine:
        if n not in where:
            above = [m for m in _neighbours(lines, n) if m in where and lines[m][2] < lines[n][2]]
            if above:
                where[n] = where[above[0]]
    for c, span in zip(chunks, spans):
        if span is not None:
            got = [lines[n] for n in mine if n in where and where[n][0] < span[1] and span[0] < where[n][1]]
            if got:
                yield c.chunk_id, got


def _rows(article_id: str, page_id: str, chunk_id: str | None, lines: list[Line]) -> list[dict]:
    return [{"article_id": article_id, "page_id": page_id, "chunk_id": chunk_id, "n": n,
             "x0": b[0], "y0": b[1], "x1": b[2], "y1": b[3]} for n, b in enumerate(merge_boxes(lines))]


def merge_boxes(lines: list[Line]) -> list[tuple[float, float, float, float]]:
    """Line boxes -> one box per column block: a line joins the box above it when it overlaps it
    across by half the narrower, starts within one line height of its foot, and is set in the same
    size (so a headline stays apart from the column under it). Padded by ``PAD``, rounded."""
    boxes: list[list[float]] = []  # x0, y0, x1, y1, height of the last line
    for _, x0, y0, x1, y1 in sorted(lines, key=lambda ln: (ln[2], ln[1])):
        h = y1 - y0
        for b in boxes:
            overlap = min(x1, b[2]) - max(x0, b[0])
            if (overlap >= 0.5 * min(x1 - x0, b[2] - b[0]) and -0.5 * h <= y0 - b[3] <= 1.0 * max(h, b[4])
                    and 0.75 <= h / max(b[4], 1e-9) <= 1.33):
                b[0], b[1], b[2], b[3], b[4] = min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1), h
                break
        else:
            boxes.append([x0, y0, x1, y1, h])
    return [(round(max(0.0, b[0] - PAD), 4), round(max(0.0, b[1] - PAD), 4),
             round(min(1.0, b[2] + PAD), 4), round(min(1.0, b[3] + PAD), 4)) for b in boxes]
