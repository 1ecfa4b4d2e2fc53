"""The one error shape and the security headers, shared by the Flask app and the waitress hook.

Every error the server sends — from the API, from Flask/Werkzeug routing, from the rate limiter,
and from waitress itself before the app is reached (body over 1 MB, a malformed request line,
headers over 256 KB) — is ``{"error": {"code": "...", "message": "中文说明"}}`` with the headers
below, so a client needs one parser and the browser one policy.
"""

from __future__ import annotations

import json

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

# HTTP status -> (stable code, Chinese message), for errors not raised as a QAError
HTTP_ERRORS = {
    400: ("bad_request", "请求格式不正确。"),
    404: ("not_found", "找不到这个地址。"),
    405: ("method_not_allowed", "这个地址不支持该请求方法。"),
    413: ("payload_too_large", "请求体太大：最多 64 KB。"),
    415: ("unsupported_media_type", "请求体必须是 JSON，并带有 Content-Type: application/json。"),
    429: ("rate_limited", "请求过于频繁，请稍后再试。"),
    431: ("headers_too_large", "请求头太大。"),
    500: ("internal_error", "服务器内部错误，请稍后再试。"),
    501: ("not_implemented", "服务器不支持这种请求。"),
}
FALLBACK_ERROR = ("http_error", "请求无法处理。")


def error_for_status(status: int) -> tuple[str, str]:
    """(code, message) for an HTTP status.

    >>> error_for_status(431)
    ('headers_too_large', '请求头太大。')
    >>> error_for_status(418)[0]
    'http_error'
    """
    return HTTP_ERRORS.get(status, FALLBACK_ERROR)


def error_body(code: str, message: str) -> bytes:
    """The JSON error body as UTF-8 bytes (Chinese kept as is, not ``\\u`` escaped).

    >>> error_body("not_found", "找不到这个地址。").decode()
    '{"error": {"code": "not_found", "message": "找不到这个地址。"}}'
    """
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode("utf-8")
