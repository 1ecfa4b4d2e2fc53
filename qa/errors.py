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


class NotFound(BadInput):
    """A page, issue or other named thing that the index does not hold."""

    code = "not_found"
    http_status = 404


class ConversationNotFound(QAError):
    """A ``conversation_id`` the server does not know, or that has expired."""

    code = "conversation_not_found"
    http_status = 404


class ModelNotFound(BadInput):
    """``/v1/chat/completions`` asked for a model other than this service's."""

    code = "model_not_found"
    http_status = 404


class UnsupportedMediaType(BadInput):
    """A request body that is not ``application/json``."""

    code = "unsupported_media_type"
    http_status = 415


class BadJSON(BadInput):
    """A request body that is not valid UTF-8 JSON, or not an object."""

    code = "bad_json"
    http_status = 400


class PageMissing(QAError):
    """The chat page files are not where the package should have put them (broken install)."""

    code = "page_missing"
    http_status = 503


class ServeError(QAError):
    """The server cannot listen where it was asked to (port taken, out of range, not allowed)."""

    code = "serve_error"


class HostNotAllowed(BadInput):
    """A request whose Host header is not one of ``--allowed-hosts`` (DNS rebinding)."""

    code = "host_not_allowed"
    http_status = 400


class LLMError(Exception):
    """The LLM gave no usable answer; ``code`` is stable, ``reason`` is for the user (Chinese).

    Not a QAError: it never reaches the user as an error, the extractive answer is shown instead."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


class ImageUnavailable(NotFound):
    """A page of the index whose image cannot be shown: its original file is gone or unreadable."""

    code = "page_image_unavailable"
    http_status = 404
