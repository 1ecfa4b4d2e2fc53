"""The few named exceptions the library raises.

The CLI turns each into one plain Chinese sentence on stderr; the web layer turns
each into the one JSON error shape ``{"error": {"code": ..., "message": ...}}``.
``message`` is written for the user (Chinese); ``code`` is stable for programs.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class: ``code`` is a stable machine-readable string, ``str(e)`` the user message."""

    code = "error"
    http_status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadInput(QAError):
    """A file, manifest row, JSONL line or request that cannot be used as given."""

    code = "bad_request"
    http_status = 400


class IndexMissing(QAError):
    """No built index where one was expected (no CURRENT, or the version folder is gone)."""

    code = "index_missing"
    http_status = 503


class IndexFormatError(QAError):
    """The index on disk has another format version or is damaged."""

    code = "index_format"
    http_status = 503


class EmbedderMismatch(QAError):
    """The index was built with another embedder than the one asked to query or extend it."""

    code = "embedder_mismatch"
    http_status = 409


class IndexLocked(QAError):
    """Another build holds ``index/.lock``."""

    code = "index_locked"
    http_status = 409


class Unauthorized(QAError):
    """A change (or, when reading needs a login, a read) without a valid account, session or token."""

    code = "unauthorized"
    http_status = 401


class Forbidden(QAError):
    """An account whose role does not allow this request, or a browser form without its CSRF token."""

    code = "forbidden"
    http_status = 403


class PayloadTooLarge(QAError):
    """An upload over the size limit of one file or of the whole request."""

    code = "payload_too_large"
    http_status = 413
