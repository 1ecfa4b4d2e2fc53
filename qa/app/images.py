"""``GET /api/pages/<key>/image``: the image of one page of the index, found by its key only.

The key is the opaque ``image_key`` a citation's ``page_image`` URL carries (a hash of the page
id); the file is looked up in the index (``page_images`` table), never taken from the request, so
no path a client sends can reach the disk. ``?size=small`` asks for a thumbnail (480 pixels on the
longer side, for source cards) instead of the full image (2000). Answers carry an ``ETag`` and ``Cache-Control``; a
matching ``If-None-Match`` gets 304 without reading the image. A page whose original file is gone
or cannot be rendered answers 404 ``page_image_unavailable`` with the reason in Chinese; its
citation and text stay as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, request

from qa.app.body import get_service
from qa.app.pagecache import page_images
from qa.errors import BadInput, NotFound
from qa.ingest.render import MAX_SIDE
from qa.store.folder.layout import CACHE

bp = Blueprint("images", __name__, url_prefix="/api")

KEY = re.compile(r"[0-9a-f]{20}")
CACHE_CONTROL = "private, max-age=3600"  # the URL is stable; a changed file changes the ETag
SIZES = {"full": MAX_SIDE, "small": 480}  # pixels on the longer side


@bp.get("/pages/<key>/image")
def page_image(key: str):
    size = request.args.get("size", "full")
    if size not in SIZES:
        raise BadInput("参数 size 只能是 full（默认，2000 像素）或 small（480 像素的缩略图）。")
    side = SIZES[size]
    reader = get_service().reader
    row = reader.page_image(key) if KEY.fullmatch(key) else None
    if row is None:
        raise NotFound("档案中没有这个版面图像（链接无效，或这一版来自文本文件，没有图像）。")
    cache = page_images(Path(reader.path).parent / CACHE / "pages")
    tag = cache.etag(row, side)
    if request.if_none_match.contains(tag):
        resp = Response(status=304)
    else:
        resp = Response(cache.image(row, tag, side), mimetype="image/jpeg")
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp
