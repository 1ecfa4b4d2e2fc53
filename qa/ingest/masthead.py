"""The masthead band at the top of a page: the paper's name with its issue data, or an inner
page's running head (date, page name, editor). It is newspaper furniture, not an article.

Told apart from a headline at the top of a page by its arrangement: the band above the first
gap that runs across the whole page holds items *side by side* (the name and the issue data
beside it), some in body type, none with a headline above it (a byline sits under its headline,
issue data beside the name), and no sentence. A lead headline over its columns, or two
headlines side by side, have no body-type text beside them, so they stay articles.
"""

from __future__ import annotations

from qa.ingest.geometry import HEAD_RATIO, Block

TOP_SHARE = 0.25  # the band lies within the top quarter of the page's text
BAND_GAP = 0.8  # ems of body type between the band and what follows


def _beside(a: Block, b: Block) -> bool:
    return min(a.bottom, b.bottom) > max(a.top, b.top) and min(a.x1, b.x1) <= max(a.x0, b.x0)


def split_masthead(blocks: list[Block], body: float) -> tuple[list[Block], list[Block]]:
    """(masthead blocks, the other blocks); no masthead: ([], blocks)."""
    if len(blocks) < 3:
        return [], blocks
    spans = sorted((b.top, b.bottom) for b in blocks)
    page_top, page_bottom = spans[0][0], max(b for _, b in spans)
    end, cut = spans[0][1], None
    for top, bottom in spans[1:]:
        if top - end >= BAND_GAP * body:
            cut = end
            break
        end = max(end, bottom)
    if cut is None or cut - page_top > TOP_SHARE * (page_bottom - page_top):
        return [], blocks
    band = [b for b in blocks if b.bottom <= cut]
    rest = [b for b in blocks if b.bottom > cut]
    head = HEAD_RATIO * body
    small = [b for b in band if b.size < head]
    side = any(_beside(a, b) for a in band for b in band if a is not b)
    under_head = any(
        h.size >= head and h.bottom <= s.top and min(h.x1, s.x1) > max(h.x0, s.x0) for s in small for h in band
    )
    sentence = any(c in ln.text for b in band for ln in b.lines for c in "。！？")
    if small and side and not under_head and not sentence:
        return band, rest
    return [], blocks
