"""Positioned text -> paragraphs in reading order, for PDF text layers and OCR alike.

The input is *pieces*: characters from a PDF or text boxes from OCR, each with a box and a
size (font size, or box height for OCR). The steps:

1. pieces -> lines: pieces on one baseline, split where the horizontal gap is wider than about
   one character (a column gutter), or half an em between headline characters (two headlines
   side by side); regular gaps are letter-spacing (「中 国 海 油」) and part nothing;
2. lines -> blocks: lines stacked in one column with the same size and regular spacing;
   ``qa.ingest.masthead`` sets the masthead band apart (role "mast": furniture, not an article);
3. blocks -> reading order by recursive XY-cut (``qa.ingest.order``): a region is split at the
   widest vertical gutter that runs through it (columns, side-by-side articles), unless a much
   wider horizontal gap runs across it (bands, a masthead). A vertical cut that would leave body
   text on one side while its headline sits above it on the other side is refused, so a
   headline shorter than the columns it spans still comes before them; a horizontal cut that
   would leave two headlines side by side above their bodies (a row of photos under them) is
   passed over for the next widest;
4. blocks -> paragraphs (``qa.ingest.paragraphs``): a new paragraph at an indented line or after a line that stops short
   of the column's right edge; a paragraph that runs to the foot of one column continues at
   the head of the next. Lines set larger than the body text are headlines: within a stack
   of them the largest is the 主题, smaller ones above it 引题 and below it 副题.

Everything is in the input's own units; thresholds are multiples of the body text size.
"""

from __future__ import annotations

import statistics
from itertools import pairwise

from qa.ingest.geometry import (
    BYLINE_START,
    HEAD_RATIO,
    LINE_GAP,
    OCR_PITCH,
    OCR_SAME_SIZE,
    SAME_SIZE,
    Block,
    Layout,
    Line,
    Para,
    Piece,
    _same,
)
from qa.ingest.masthead import split_masthead
from qa.ingest.order import reading_order
from qa.ingest.paragraphs import paragraphs

__all__ = ["Block", "Layout", "Line", "Para", "Piece", "read_layout", "reading_order", "paragraphs"]


def to_lines(pieces: list[Piece], gap: float, max_width: float | None = None, tol: float = SAME_SIZE) -> list[Line]:
    """Pieces on one baseline, split where the gap exceeds ``gap`` x size (a gutter), or where
    joining would make a body-type line wider than ``max_width`` (two columns' lines)."""
    rows: list[list[Piece]] = []
    for p in sorted(pieces, key=lambda p: ((p.top + p.bottom) / 2, p.x0)):
        mid = (p.top + p.bottom) / 2
        for row in reversed(rows[-8:]):  # rows are few per band: look back a little
            r = row[-1]
            if abs(r.size - p.size) <= tol * max(r.size, p.size) and abs((r.top + r.bottom) / 2 - mid) <= 0.35 * min(
                r.size, p.size
            ):
                row.append(p)
                break
        else:
            rows.append([p])
    body = statistics.median(p.size for p in pieces) if pieces else 1.0
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda p: p.x0)
        cuts = _cuts(row, gap, body) if max_width is None else None
        run = [row[0]]
        for n, p in enumerate(row[1:]):
            too_wide = max_width is not None and p.x1 - run[0].x0 > max_width and p.size < HEAD_RATIO * body
            if (cuts[n] if cuts is not None else p.x0 - run[-1].x1 > gap * max(p.size, run[-1].size)) or too_wide:
                lines.append(_line(run, cuts is None))
                run = []
            run.append(p)
        lines.append(_line(run, cuts is None))
    return [ln for ln in lines if ln.text.strip()]


def _cuts(row: list[Piece], gap: float, body: float) -> list[bool]:
    """PDF characters of one baseline: where a gutter parts them (one flag per gap).

    A gap wider than ``gap`` ems is a gutter, or half an em in headline type (two headlines side
    by side stand closer, in their own ems, than body columns do). Letter-spacing is not: a gap
    within 0.15 em of the gap beside it, between characters of one size, is the regular spacing
    of one line (「中 国 海 油」)."""
    gaps = [b.x0 - a.x1 for a, b in pairwise(row)]
    out = []
    for n, (a, b) in enumerate(pairwise(row)):
        em = max(a.size, b.size)
        limit = 0.5 if min(a.size, b.size) >= HEAD_RATIO * body else gap
        regular = any(
            abs(gaps[n] - gaps[m]) <= 0.15 * em and _one_size(row[min(n, m) : max(n, m) + 2])
            for m in (n - 1, n + 1)
            if 0 <= m < len(gaps)
        )
        # a character set solid with the ideograph beyond it is not letter-spaced: the gap is
        # the one between two headlines on one baseline (「南京市场监　京 东 到 家」)
        solid = any(
            gaps[m] <= 0.15 * em and _cjk(row[m]) and _cjk(row[m + 1]) for m in (n - 1, n + 1) if 0 <= m < len(gaps)
        )
        out.append(gaps[n] > limit * em and not (regular and not solid and gaps[n] <= 3 * em))
    return out


def _cjk(p: Piece) -> bool:
    return "\u3400" <= p.text[:1] <= "\u9fff"


def _one_size(pieces: list[Piece]) -> bool:
    return max(p.size for p in pieces) - min(p.size for p in pieces) <= 0.02 * pieces[0].size


def _line(run: list[Piece], word_spaces: bool = True) -> Line:
    """One line's text; ``word_spaces``: a gap over half an em is a space (OCR boxes of one headline).
    In a PDF such a gap is letter-spacing, a space only between two Latin letters or digits."""
    text = ""
    for prev, p in zip([None, *run], run):
        latin = prev is not None and all(c.isascii() and c.isalnum() for c in prev.text[-1:] + p.text[:1])
        if prev is not None and p.x0 - prev.x1 > 0.5 * p.size and not text.endswith(" ") and (word_spaces or latin):
            text += " "  # OCR boxes of one headline: keep the word space between them
        text += p.text
    ink = [p for p in run if p.text.strip()] or run
    confs = [p.conf for p in run if p.conf is not None]
    return Line(
        text.strip(),
        min(p.x0 for p in ink),
        min(p.top for p in ink),
        max(p.x1 for p in ink),
        max(p.bottom for p in ink),
        statistics.median(p.size for p in ink),
        min(confs) if confs else None,
    )


def to_blocks(lines: list[Line], tol: float = SAME_SIZE, ocr: bool = False) -> list[Block]:
    """Stack lines into blocks: sizes within ``tol``, overlapping columns, at most ``LINE_GAP`` ems apart
    (OCR boxes are tight or loose by a few pixels, so there the baseline pitch counts: at most 1.9 ems).
    A line much wider than the block joins it only in a PDF and from the block's left edge (a full
    line under a paragraph's short last line), not from further left (a line of the column beside).

    A line of 1-3 characters (「语。」 ending a paragraph) has a less certain size: ±40% is the same."""
    blocks: list[Block] = []
    for ln in sorted(lines, key=lambda ln: (ln.top, ln.x0)):
        best, best_gap = None, None
        tolerance = 0.4 if len(ln.text) < 4 else tol
        for b in blocks:
            last, size = b.lines[-1], b.size
            gap = ln.top - last.bottom
            overlap = min(ln.x1, b.x1) - max(ln.x0, b.x0)
            em = max(size, ln.size)
            close = ln.top - last.top <= OCR_PITCH * em if ocr else gap <= LINE_GAP * em
            if (
                abs(size - ln.size) <= tolerance * em
                and gap >= -0.3 * ln.size
                and close
                and overlap >= 0.5 * min(ln.x1 - ln.x0, b.x1 - b.x0)
                and (ln.x1 <= b.x1 + 1.5 * ln.size or not ocr and abs(ln.x0 - b.x0) <= 2.5 * ln.size)
                and (best_gap is None or gap < best_gap)
            ):
                best, best_gap = b, gap
        if best is None:
            blocks.append(Block([ln]))
        else:
            best.lines.append(ln)
    return blocks


def body_size(blocks: list[Block]) -> float:
    """The type size most characters are set in."""
    weight: dict[float, int] = {}
    for b in blocks:
        for ln in b.lines:
            key = round(ln.size, 1)
            weight[key] = weight.get(key, 0) + len(ln.text)
    return max(weight, key=lambda k: weight[k]) if weight else 1.0


def count_columns(blocks: list[Block], body: float) -> int:
    """Distinct left edges of body-type blocks of 3+ lines: the page's column grid."""
    edges = sorted(b.x0 for b in blocks if _same(b.size, body) and len(b.lines) >= 3)
    cols = 0
    last = None
    for x in edges:
        if last is None or x - last > 1.5 * body:
            cols += 1
        last = x
    return max(cols, 1) if blocks else 0


def line_width(pieces: list[Piece]) -> float | None:
    """A column's width, from OCR boxes: 1.15 x the median width of line-long body boxes."""
    if not pieces:
        return None
    body = statistics.median(p.size for p in pieces)
    long = [p.x1 - p.x0 for p in pieces if _same(p.size, body) and p.x1 - p.x0 >= 5 * p.size]
    return 1.15 * statistics.median(long) if long else None


def _settle_ocr_sizes(blocks: list[Block], body: float) -> None:
    """OCR sizes are estimates (±15%): decide the doubtful ones before headlines are told apart.

    A lone 1-3 character box is body type (its size is only its height). A block measured at
    1.2x the body or more is headline type, and so is a one-line block at 1.08x or more that
    touches a headline block above or below it (a 引题 or 副题 the recogniser read without its
    「——」). Bylines are body type whatever their box says.
    """
    head = HEAD_RATIO * body
    for blk in blocks:
        line = blk.lines[0]
        if len(blk.lines) == 1 and (len(line.text) < 4 or BYLINE_START.match(line.text)):
            line.size = min(line.size, body)
        elif 1.2 * body <= blk.size < head:
            for ln in blk.lines:
                ln.size = head
    for blk in blocks:
        if (
            len(blk.lines) == 1
            and 1.08 * body <= blk.size < head
            and any(
                h.size >= head
                and min(h.x1, blk.x1) > max(h.x0, blk.x0)
                and min(abs(blk.top - h.bottom), abs(h.top - blk.bottom)) <= 0.8 * h.size
                for h in blocks
            )
        ):
            blk.lines[0].size = head


def read_layout(pieces: list[Piece], low_conf: float = 0.8, ocr: bool = False) -> Layout:
    """Pieces -> Layout: paragraphs in reading order, column count, low-confidence lines.

    PDF pieces are characters: those on one baseline less than 0.9 em apart are one line (a
    gutter is wider). OCR pieces are lines or parts of lines (the detector splits some at
    quotes or spaces), padded so a gutter may look narrow: parts up to one em apart are
    joined unless the line would come out wider than a column."""
    tol = OCR_SAME_SIZE if ocr else SAME_SIZE
    lines = to_lines(pieces, 1.6, line_width(pieces), tol) if ocr else to_lines(pieces, 0.9)
    if not lines:
        return Layout([], 0, [])
    blocks = to_blocks(lines, tol, ocr)
    body = body_size(blocks)
    if ocr:
        _settle_ocr_sizes(blocks, body)
    mast, rest = split_masthead(blocks, body)
    paras = [
        Para(ln.text, "mast", ln.conf, [(ln.x0, ln.top, ln.x1, ln.bottom)])
        for b in sorted(mast, key=lambda b: (b.top, b.x0))
        for ln in b.lines
    ]
    paras += paragraphs(reading_order(rest, body), body, ocr)
    if not any(p.role not in ("text", "mast") for p in paras):
        for p in paras:  # no headline type on the page: let the segmenter judge by the words
            p.role = "mast" if p.role == "mast" else ""
    low = [(ln.text, ln.conf) for ln in lines if ln.conf is not None and ln.conf < low_conf]
    return Layout(paras, count_columns(blocks, body), low)
