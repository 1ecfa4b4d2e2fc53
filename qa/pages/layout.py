"""Positioned text -> paragraphs in reading order, for PDF text layers and OCR alike.

The input is *pieces*: characters from a PDF or text boxes from OCR, each with a box and a
size (font size, or box height for OCR). The steps:

1. pieces -> lines: pieces on one baseline, split where the horizontal gap is wider than about
   one character (a column gutter);
2. lines -> blocks: lines stacked in one column with the same size and regular spacing;
3. blocks -> reading order by recursive XY-cut: a region is split at the widest vertical gutter
   that runs through it (columns, side-by-side articles), else at the widest horizontal gap
   (bands, headline above body). A vertical cut that would leave body text on one side while
   its headline sits above it on the other side is refused, so a headline shorter than the
   columns it spans still comes before them;
4. blocks -> paragraphs: a new paragraph at an indented line or after a line that stops short
   of the column's right edge; a paragraph that runs to the foot of one column continues at
   the head of the next. Lines set larger than the body text are headlines: within a stack
   of them the largest is the 主题, smaller ones above it 引题 and below it 副题.

Everything is in the input's own units; thresholds are multiples of the body text size.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

HEAD_RATIO = 1.25  # set this much larger than body text: a headline
SAME_SIZE = 0.15  # sizes within ±15% are the same type size
OCR_SAME_SIZE = 0.25  # OCR box sizes of one type size vary ±15% line to line
BAND_RATIO = 1.3  # a horizontal gap this much wider than the widest gutter is cut first
LINE_GAP = 0.8  # lines further apart than this many ems start a new block
OCR_PITCH = 1.9  # OCR lines whose tops are further apart than this many ems start a new block


@dataclass
class Piece:
    """A character (PDF) or a recognised text box (OCR) with its box; ``conf`` only from OCR."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    conf: float | None = None


@dataclass
class Line:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    conf: float | None = None


@dataclass
class Block:
    lines: list[Line] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return min(ln.x0 for ln in self.lines)

    @property
    def x1(self) -> float:
        return max(ln.x1 for ln in self.lines)

    @property
    def left(self) -> float:
        """The column's left edge: a low quartile of line starts (one stray OCR box does not move it)."""
        xs = sorted(ln.x0 for ln in self.lines)
        return xs[(len(xs) - 1) // 4]

    @property
    def right(self) -> float:
        xs = sorted(ln.x1 for ln in self.lines)
        return xs[-1 - (len(xs) - 1) // 4]

    @property
    def top(self) -> float:
        return self.lines[0].top

    @property
    def bottom(self) -> float:
        return self.lines[-1].bottom

    @property
    def size(self) -> float:
        return statistics.median(ln.size for ln in self.lines)


@dataclass
class Para:
    """One paragraph: ``role`` is pre/head/sub for headline type, ``text`` for body type, "" unknown."""

    text: str
    role: str
    conf: float | None = None


@dataclass
class Layout:
    paras: list[Para]
    columns: int
    low_conf: list[tuple[str, float]]  # OCR lines below the confidence threshold, kept in the text


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_SIZE * max(a, b)


def to_lines(pieces: list[Piece], gap: float, max_width: float | None = None, tol: float = SAME_SIZE) -> list[Line]:
    """Pieces on one baseline, split where the gap exceeds ``gap`` x size (a gutter), or where
    joining would make a body-type line wider than ``max_width`` (two columns' lines)."""
    rows: list[list[Piece]] = []
    for p in sorted(pieces, key=lambda p: ((p.top + p.bottom) / 2, p.x0)):
        mid = (p.top + p.bottom) / 2
        for row in reversed(rows[-8:]):  # rows are few per band: look back a little
            r = row[-1]
            if abs(r.size - p.size) <= tol * max(r.size, p.size) and abs((r.top + r.bottom) / 2 - mid) <= 0.35 * min(r.size, p.size):
                row.append(p)
                break
        else:
            rows.append([p])
    body = statistics.median(p.size for p in pieces) if pieces else 1.0
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda p: p.x0)
        run = [row[0]]
        for p in row[1:]:
            too_wide = max_width is not None and p.x1 - run[0].x0 > max_width and p.size < HEAD_RATIO * body
            if p.x0 - run[-1].x1 > gap * max(p.size, run[-1].size) or too_wide:
                lines.append(_line(run))
                run = []
            run.append(p)
        lines.append(_line(run))
    return [ln for ln in lines if ln.text.strip()]


def _line(run: list[Piece]) -> Line:
    text = ""
    for prev, p in zip([None, *run], run):
        if prev is not None and p.x0 - prev.x1 > 0.5 * p.size and not text.endswith(" "):
            text += " "  # OCR boxes of one headline: keep the word space between them
        text += p.text
    ink = [p for p in run if p.text.strip()] or run
    confs = [p.conf for p in run if p.conf is not None]
    return Line(text.strip(), min(p.x0 for p in ink), min(p.top for p in ink), max(p.x1 for p in ink),
                max(p.bottom for p in ink), statistics.median(p.size for p in ink),
                min(confs) if confs else None)


def to_blocks(lines: list[Line], tol: float = SAME_SIZE, ocr: bool = False) -> list[Block]:
    """Stack lines into blocks: sizes within ``tol``, overlapping columns, at most ``LINE_GAP`` ems apart
    (OCR boxes are tight or loose by a few pixels, so there the baseline pitch counts: at most 1.9 ems).

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
            if (abs(size - ln.size) <= tolerance * em and gap >= -0.3 * ln.size and close
                    and overlap >= 0.5 * min(ln.x1 - ln.x0, b.x1 - b.x0) and ln.x1 <= b.x1 + 1.5 * ln.size
                    and (best_gap is None or gap < best_gap)):
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


def _gaps(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    """(width, position) of every gap of at least ``min_gap`` in the union of ``spans``."""
    spans = sorted(spans)
    out, end = [], spans[0][1]
    for a, b in spans[1:]:
        if a - end >= min_gap:
            out.append((a - end, (a + end) / 2))
        end = max(end, b)
    return out


def _distance(h: Block, b: Block) -> float:
    return (b.top - h.bottom) + max(0.0, h.x0 - b.x1, b.x0 - h.x1)


def _owners(bodies: list[Block], heads: list[Block]) -> dict[int, Block | None]:
    """The headline each body block belongs to (by ``id``).

    1. the nearest headline above that overlaps it horizontally;
    2. else the owner of a column beside it that starts at the same height (the columns of one
       article start together under its headline, even where a short headline covers only some);
    3. else the nearest headline above by vertical plus horizontal distance.
    """
    above = {id(b): [h for h in heads if h.bottom <= b.top + 0.25 * b.size] for b in bodies}
    owners: dict[int, Block | None] = {}
    for b in bodies:
        over = [h for h in above[id(b)] if min(h.x1, b.x1) > max(h.x0, b.x0)]
        if over:
            owners[id(b)] = max(over, key=lambda h: h.bottom)
    changed = True
    while changed:  # spread owners sideways along rows of columns that start together
        changed = False
        for b in bodies:
            if id(b) in owners:
                continue
            side = [owners[id(n)] for n in bodies if id(n) in owners and abs(n.top - b.top) <= 0.5 * b.size
                    and min(abs(n.x0 - b.x1), abs(b.x0 - n.x1)) <= 2.5 * b.size]
            if side := [h for h in side if h is not None]:
                owners[id(b)] = min(side, key=lambda h: _distance(h, b))
                changed = True
    for b in bodies:
        if id(b) not in owners:
            owners[id(b)] = min(above[id(b)], key=lambda h: _distance(h, b), default=None)
    return owners


def _splits_article(left: list[Block], right: list[Block], head: float) -> bool:
    """True when some body block's headline would end up on the other side of the cut."""
    heads = [b for b in left + right if b.size >= head]
    owners = _owners([b for b in left + right if b.size < head], heads)
    sides = {id(b): n for n, side in enumerate((left, right)) for b in side}
    return any(h is not None and sides[id(h)] != sides[bid] for bid, h in owners.items())


def reading_order(blocks: list[Block], body: float) -> list[Block]:
    """Recursive XY-cut (see module docstring).

    The widest vertical gutter that does not part a body from its headline is cut first, unless
    a horizontal gap ``BAND_RATIO`` times as wide runs across the region (a masthead's rule, the space
    between two bands of articles): bands are read before their columns.
    """
    if len(blocks) <= 1:
        return blocks
    head = HEAD_RATIO * body
    vertical = None
    # Column edges from each block's typical line, not its widest: a padded OCR box that pokes
    # into the gutter must not hide it.
    for width, x in sorted(_gaps([(b.left, b.right) for b in blocks], 0.3 * body), reverse=True):
        left = [b for b in blocks if (b.left + b.right) / 2 < x]
        right = [b for b in blocks if (b.left + b.right) / 2 >= x]
        if not _splits_article(left, right, head):
            vertical = (width, left, right)
            break
    gaps = _gaps([(b.top, b.bottom) for b in blocks], 0.0)
    # a band gap is also wider than the space between lines, which OCR boxes make look wide
    if gaps and (vertical is None or max(gaps)[0] >= max(BAND_RATIO * vertical[0], 1.2 * body)):
        _, y = max(gaps)
        return (reading_order([b for b in blocks if b.bottom <= y], body)
                + reading_order([b for b in blocks if b.bottom > y], body))
    if vertical is not None:
        return reading_order(vertical[1], body) + reading_order(vertical[2], body)
    return sorted(blocks, key=lambda b: (b.top, b.x0))


def _glue(a: str, b: str) -> str:
    """Join a wrapped line; Latin words split by the wrap keep a space."""
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    return a + b


def _stacks(blocks: list[Block]) -> list[list[Block]]:
    """Split consecutive headline blocks into stacks of one article: touching and overlapping."""
    stacks = [[blocks[0]]]
    for b in blocks[1:]:
        a = stacks[-1][-1]
        near = b.top - a.bottom <= 1.2 * max(a.size, b.size) and min(a.x1, b.x1) > max(a.x0, b.x0)
        if near or _same_row(a, b):
            stacks[-1].append(b)
        else:
            stacks.append([b])
    return stacks


def _head_paras(stack: list[Block]) -> list[Para]:
    """A run of headline blocks: the largest type is the 主题, smaller above 引题, below 副题."""
    main = max(range(len(stack)), key=lambda i: stack[i].size)
    out: list[Para] = []
    for i, b in enumerate(stack):
        text = ""
        for ln in b.lines:
            text = _glue(text, ln.text)
        if i and _same_row(stack[i - 1], b):  # one headline that OCR found as two boxes
            out[-1].text += " " + text
            continue
        out.append(Para(text, "head" if i == main or _same(b.size, stack[main].size) else
                        ("pre" if i < main else "sub"), _mean(ln.conf for ln in b.lines)))
    return out


def _same_row(a: Block, b: Block) -> bool:
    return len(a.lines) == len(b.lines) == 1 and min(a.bottom, b.bottom) - max(a.top, b.top) > 0.5 * a.size


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _body_paras(blocks: list[Block], column: float, out: list[Para]) -> None:
    """Lines of body-type blocks -> paragraphs appended to ``out``.

    A paragraph whose last line fills its column (``column`` wide when the block is one line)
    continues at the first line of the next block of the same size, unless that line is indented.
    """
    confs: list[list[float]] = []
    prev: Block | None = None
    full = False  # the previous line ran to the right edge of its column
    for b in blocks:
        left, em = b.left, b.size
        right = b.right if len(b.lines) > 1 else left + column
        for n, ln in enumerate(b.lines):
            indented = ln.x0 - left >= 0.8 * em and len(b.lines) > 1
            same_run = n > 0 or (prev is not None and bool(confs) and _continues(prev, b))
            if same_run and full and not indented:
                out[-1].text = _glue(out[-1].text, ln.text)
            else:
                out.append(Para(ln.text, "text"))
                confs.append([])
            if ln.conf is not None:
                confs[-1].append(ln.conf)
            out[-1].conf = _mean(confs[-1])
            full = ln.x1 >= right - 1.2 * em
        prev = b


def _continues(prev: Block, b: Block) -> bool:
    """Can a paragraph run on from ``prev`` into ``b``: same type size, and ``b`` is the next
    column of the same article (its top level with ``prev``'s) or the same column further down."""
    em = max(prev.size, b.size)
    level = abs(b.top - prev.top) <= 3 * em and b.x0 >= prev.x1 - em
    below = 0 <= b.top - prev.bottom <= 2 * em and min(b.x1, prev.x1) > max(b.x0, prev.x0)
    return _same(prev.size, b.size) and (level or below)


def paragraphs(ordered: list[Block], body: float) -> list[Para]:
    """Blocks in reading order -> paragraphs with roles (see module docstring)."""
    head = HEAD_RATIO * body
    widths = [b.x1 - b.x0 for b in ordered if _same(b.size, body) and len(b.lines) >= 3]
    column = statistics.median(widths) if widths else 40 * body
    out: list[Para] = []
    k = 0
    while k < len(ordered):
        j = k
        is_head = ordered[k].size >= head
        while j < len(ordered) and (ordered[j].size >= head) == is_head:
            j += 1
        if is_head:
            for stack in _stacks(ordered[k:j]):
                out.extend(_head_paras(stack))
        else:
            _body_paras(ordered[k:j], column, out)
        k = j
    return out


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
    if ocr:  # the size of a lone 1-3 character OCR box is its height, too uncertain to call it a headline
        for blk in blocks:
            if len(blk.lines) == 1 and len(blk.lines[0].text) < 4:
                blk.lines[0].size = min(blk.lines[0].size, body)
    ordered = reading_order(blocks, body)
    paras = paragraphs(ordered, body)
    if not any(p.role != "text" for p in paras):
        for p in paras:  # no headline type on the page: let the segmenter judge by the words
            p.role = ""
    low = [(ln.text, ln.conf) for ln in lines if ln.conf is not None and ln.conf < low_conf]
    return Layout(paras, count_columns(blocks, body), low)
