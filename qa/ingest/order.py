"""Reading order of a page's blocks by recursive XY-cut, keeping every body column with its headline."""

from __future__ import annotations

from qa.ingest.geometry import BAND_RATIO, HEAD_RATIO, Block


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
