"""Blocks in reading order -> paragraphs: headline stacks (引题/主题/副题) and body text that
runs on from one column into the next."""

from __future__ import annotations

import statistics

from qa.ingest.geometry import BYLINE_START, HEAD_RATIO, Block, Para, _glue, _mean, _same, add_box, unspace


def _stacks(blocks: list[Block], ocr: bool) -> list[list[Block]]:
    """Split consecutive headline blocks into stacks of one article: touching and overlapping.

    OCR may find one headline as two boxes on one row; a PDF line is never split inside a
    headline (``layout.to_lines``), so there two headlines on one row are two articles'."""
    stacks = [[blocks[0]]]
    for b in blocks[1:]:
        a = stacks[-1][-1]
        near = b.top - a.bottom <= 1.2 * max(a.size, b.size) and min(a.x1, b.x1) > max(a.x0, b.x0)
        if near or (ocr and _same_row(a, b)):
            stacks[-1].append(b)
        else:
            stacks.append([b])
    return stacks


def _head_paras(stack: list[Block], ocr: bool) -> list[Para]:
    """A run of headline blocks: the largest type is the 主题, smaller above 引题, below 副题."""
    main = max(range(len(stack)), key=lambda i: stack[i].size)
    out: list[Para] = []
    for i, b in enumerate(stack):
        text = ""
        for ln in b.lines:
            text = _glue(text, ln.text)
        text = unspace(text)
        if ocr and i and _same_row(stack[i - 1], b):  # one headline that OCR found as two boxes
            out[-1].text += " " + text
        else:
            out.append(
                Para(
                    text,
                    "head" if i == main or _same(b.size, stack[main].size) else ("pre" if i < main else "sub"),
                    _mean(ln.conf for ln in b.lines),
                )
            )
        for ln in b.lines:
            add_box(out[-1], ln, False)
    return out


def _same_row(a: Block, b: Block) -> bool:
    return len(a.lines) == len(b.lines) == 1 and min(a.bottom, b.bottom) - max(a.top, b.top) > 0.5 * a.size


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
                add_box(out[-1], ln, n == 0)
            else:
                out.append(Para(ln.text, "text"))
                add_box(out[-1], ln, True)
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


def _byline(b: Block, head: float) -> bool:
    return len(b.lines) == 1 and b.size < head and bool(BYLINE_START.match(b.lines[0].text))


def _bylines_first(ordered: list[Block], head: float) -> list[Block]:
    """A byline set between a headline and its columns but not over the first (right-aligned over
    the last, 「■ 本报记者 …」) is read with the headline, not between two columns of the body."""
    out = list(ordered)
    for b in [b for b in ordered if _byline(b, head)]:
        j = k = next(n for n, o in enumerate(out) if o is b)
        while k > 0 and out[k - 1].size < head and out[k - 1].top >= b.bottom and not _byline(out[k - 1], head):
            k -= 1
        if k < j and k > 0 and out[k - 1].size >= head:
            out.insert(k, out.pop(j))
    return out


def paragraphs(ordered: list[Block], body: float, ocr: bool = False) -> list[Para]:
    """Blocks in reading order -> paragraphs with roles (see module docstring)."""
    head = HEAD_RATIO * body
    ordered = _bylines_first(ordered, head)
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
            for stack in _stacks(ordered[k:j], ocr):
                out.extend(_head_paras(stack, ocr))
        else:
            _body_paras(ordered[k:j], column, out)
        k = j
    return out
