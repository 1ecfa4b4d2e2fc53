"""What every blueprint needs from a request: its JSON body as an object (415 / 400 / 413 otherwise),
the app's one ``Service``, and ``no_store`` for answers that must not be cached."""

from __future__ import annotations

import json

from flask import current_app, request

from qa.errors import BadJSON, IndexMissing, UnsupportedMediaType
from qa.request import NO_INDEX


def get_service():
    """The app's one Service; raises IndexMissing (503) while no index has been published yet."""
    svc = current_app.extensions.get("qa_service")
    if svc is None:
        raise IndexMissing(NO_INDEX)
    return svc


def read_json_object() -> dict:
    """The request body as a JSON object (415 / 400 / 413 otherwise)."""
    if not request.is_json:
        raise UnsupportedMediaType("请求体必须是 JSON，并带有 Content-Type: application/json。")
    raw = request.get_data(cache=False)  # raises 413 past MAX_CONTENT_LENGTH

    def _no_constants(name):
        raise ValueError(name)

    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadJSON("请求体不是有效的 JSON（须为 UTF-8 编码）。") from None
    try:  # "\ud800" escapes decode to lone surrogates, which no UTF-8 response can echo back
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError, ValueError):
        raise BadJSON("请求体包含无效的 Unicode 字符或嵌套过深。") from None
    if not isinstance(body, dict):
        raise BadJSON('请求体应为 JSON 对象，例如 {"question": "…"}。')
    return body


def no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp
