"""Regions and page images of chunk records, read from a segment's ``regions`` and ``page_images``
tables (written by ``qa.store.plan.chunk_rows`` from ``qa.ingest.regions``). Segments written
before those tables existed have neither: their records get no image and no regions."""

from __future__ import annotations

from qa.store.folder.segment import Segment


def add_regions(seg: Segment, recs: list[dict]) -> None:
    """Give each chunk record its page's ``image_key`` and ``regions`` (the chunk's boxes first, then its
    article's, ``passage_regions`` of them the chunk's); both None for a page without an image."""
    for rec in recs:
        rec["image_key"], rec["regions"], rec["passage_regions"] = None, None, 0
    if not recs or not seg.has_images:
        return
    keys = {r["page_id"]: r["image_key"] for r in seg.query_in(
        "SELECT page_id, image_key FROM page_images WHERE page_id IN ({})", sorted({r["page_id"] for r in recs}))}
    boxes: dict[tuple, list[list[float]]] = {}
    for r in seg.query_in("SELECT article_id, page_id, chunk_id, x0, y0, x1, y1 FROM regions WHERE article_id IN ({})"
                          " ORDER BY rowid", sorted({r["article_id"] for r in recs if r["page_id"] in keys})):
        key = (r["article_id"], r["page_id"], r["chunk_id"])
        boxes.setdefault(key, []).append([r["x0"], r["y0"], r["x1"], r["y1"]])
    for rec in recs:
        if rec["page_id"] in keys:
            own = boxes.get((rec["article_id"], rec["page_id"], rec["chunk_id"]), [])
            rec["image_key"] = keys[rec["page_id"]]
            rec["regions"] = own + boxes.get((rec["article_id"], rec["page_id"], None), [])
            rec["passage_regions"] = len(own)
