"""Reading order of a page's blocks by recursive XY-cut, keeping every body column with its headline."""

from __future__ import annotations

from qa.ingest.geometry import BAND_RATIO, HEAD_RATIO, Block
from qa.ingest.geometry import _same as _same_size


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


def _headline_between(h: Block, b: Block, heads: list[Block]) -> bool:
    """Another headline stands between headline ``h`` and ``b``, beside ``b`` (within a column's
    width) or level with its top (within 5 ems above it): ``b`` is in a later band, under a
    shorter headline that does not reach over its column."""
    width = b.x1 - b.x0
    return any(
        o is not h
        and o.top >= h.bottom
        and (max(0.0, o.x0 - b.x1, b.x0 - o.x1) <= width or b.top - o.bottom <= 5 * b.size)
        for o in heads
    )


def _owners(bodies: list[Block], heads: list[Block]) -> dict[int, Block | None]:
    """The headline each body block belongs to (by ``id``).

    1. the nearest headline above that overlaps it horizontally, unless another headline stands
       between them beside ``b`` or just above its top (a short headline of the band ``b`` is in);
    2. else the owner of a column beside it that starts at the same height (the columns of one
       article start together under its headline, even where a short headline covers only some),
       or of the block just above or below it in the same column (the column goes on; a
       byline stands atop its column);
    3. else the nearest headline above by vertical plus horizontal distance.

    A one-line block (a byline, a caption line) is not owned by being level with a column (that
    says nothing about a line that short), and by 3 only when one headline is clearly the nearest.
    """
    above = {id(b): [h for h in heads if h.bottom <= b.top + 0.25 * b.size] for b in bodies}
    owners: dict[int, Block | None] = {}
    for b in bodies:
        over = [h for h in above[id(b)] if min(h.x1, b.x1) > max(h.x0, b.x0)]
        if over and not _headline_between(h := max(over, key=lambda h: h.bottom), b, above[id(b)]):
            owners[id(b)] = h
    changed = True
    while changed:  # spread owners sideways along rows of columns that start together
        changed = False
        for b in bodies:
            if id(b) not in owners and (side := _beside_owners(b, bodies, owners)):
                owners[id(b)] = min(side, key=lambda c: c[0])[1]
                changed = True
    for b in bodies:
        if id(b) not in owners:
            near = sorted(above[id(b)], key=lambda h: _distance(h, b))
            if len(b.lines) == 1 and len(near) > 1 and _distance(near[1], b) < 1.5 * _distance(near[0], b):
                near = []  # a byline between two headlines: whose, its place does not tell
            owners[id(b)] = near[0] if near else None
    return owners


def _beside_owners(b: Block, bodies: list[Block], owners: dict) -> list[tuple[tuple, Block]]:
    """(preference, owner) of the columns level with ``b`` and of the blocks just above and below
    it in its column. Columns of one article start at one height and are set in one size, and
    text runs on from the column on the left: the closest match in that order is preferred."""
    out = []
    for n in bodies:
        if owners.get(id(n)) is None:
            continue
        gap = min(abs(n.x0 - b.x1), abs(b.x0 - n.x1))
        level = abs(n.top - b.top) <= 0.5 * b.size and gap <= 2.5 * b.size and len(b.lines) > 1
        above = 0 <= b.top - n.bottom <= 1.5 * b.size and abs(n.x0 - b.x0) <= 2.5 * b.size
        under = 0 <= n.top - b.bottom <= 1.5 * b.size and min(n.x1, b.x1) > max(n.x0, b.x0)  # a byline atop it
        if level or above or under:
            rank = (
                0 if above or under else 1,
                round(abs(n.top - b.top) / (0.1 * b.size)) if level else 0,
                abs(n.size - b.size) > 0.02 * b.size,
                n.x1 > b.x0 + b.size,
            )
            out.append(((*rank, _distance(owners[id(n)], b)), owners[id(n)]))
    return out


def _splits_article(left: list[Block], right: list[Block], head: float) -> bool:
    """True when some body block's headline would end up on the other side of the cut."""
    heads = [b for b in left + right if b.size >= head]
    owners = _owners([b for b in left + right if b.size < head], heads)
    sides = {id(b): n for n, side in enumerate((left, right)) for b in side}
    return any(h is not None and sides[id(h)] != sides[bid] for bid, h in owners.items())


def _parts_headlines(above: list[Block], below: list[Block], head: float) -> bool:
    """True when a horizontal cut would leave two headlines above it whose bodies lie below it:
    articles side by side, their headlines on one row, must be cut apart vertically first."""
    heads = [b for b in above + below if b.size >= head]
    owners = _owners([b for b in below if b.size < head], heads)
    return len({id(h) for h in owners.values() if h is not None and any(h is a for a in above)}) >= 2


def _parts_columns(above: list[Block], below: list[Block], head: float) -> bool:
    """True when a horizontal cut would part two or more columns from their last lines (set a
    little apart at the foot of the columns): those must be read with their columns."""
    tails = [
        b
        for b in below
        if b.size < head
        and any(
            a.size < head
            and _same_size(a.size, b.size)
            and 0 <= b.top - a.bottom <= 2.5 * b.size
            and min(a.x1, b.x1) - max(a.x0, b.x0) >= 0.5 * (b.x1 - b.x0)
            for a in above
        )
    ]
    return len(tails) >= 2


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
    gaps = sorted(_gaps([(b.top, b.bottom) for b in blocks], 0.0), reverse=True)
    # a band gap is also wider than the space between lines, which OCR boxes make look wide
    band = max(BAND_RATIO * vertical[0], 1.2 * body) if vertical is not None else 0.0
    # the widest gap that leaves neither headlines side by side above their bodies (a row of
    # photos under them) nor columns above their last lines; with no vertical cut either, the widest
    ys = [y for width, y in gaps if width >= band]
    y = next(
        (
            y
            for y in ys
            if not _parts_headlines(*_halves(blocks, y), head) and not _parts_columns(*_halves(blocks, y), head)
        ),
        None,
    )
    if y is None and vertical is None and gaps:
        y = gaps[0][1]
    if y is not None:
        above, below = _halves(blocks, y)
        return reading_order(above, body) + reading_order(below, body)
    if vertical is not None:
        return reading_order(vertical[1], body) + reading_order(vertical[2], body)
    return sorted(blocks, key=lambda b: (b.top, b.x0))


def _halves(blocks: list[Block], y: float) -> tuple[list[Block], list[Block]]:
    return [b for b in blocks if b.bottom <= y], [b for b in blocks if b.bottom > y]
