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


class StorageError(QAError):
    """Writing or reading a file failed for a reason outside the program: a full disk, no permission."""

    code = "storage_error"
    http_status = 507


_FULL = ("database or disk is full", "disk i/o error")


def storage_error(exc: BaseException) -> StorageError | None:
    """One Chinese sentence for an OSError or SQLite error met while reading or writing files; None
    for anything else. Builds write new version folders and publish with an atomic rename, so a
    failed write never changes the live index version.

    >>> storage_error(OSError(28, "No space left on device")).message[:6]
    '磁盘空间已满'
    """
    import errno
    import sqlite3

    full = "磁盘空间已满，写入没有完成；已发布的索引版本没有改动。请腾出空间后重试。"
    if isinstance(exc, sqlite3.Error):
        if any(s in str(exc).lower() for s in _FULL):
            return StorageError(full)
        return StorageError(
            f"索引数据库读写失败（{exc}）。已发布的索引版本没有改动；若一再出现，请运行 `qa index --rebuild 路径…`。"
        )
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StorageError(full)
        where = f"：{exc.filename}" if exc.filename else ""
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StorageError(f"没有读写权限{where}。请检查文件夹的权限，或改用 --index 指定另一个文件夹。")
        return StorageError(f"读写文件失败（{exc.strerror or exc}）{where}。")
    return None


class BackendRefused(QAError):
    """The Milvus server refused a request: an older server, a schema it cannot hold, its own failure."""

    code = "backend_refused"
    http_status = 502


def milvus_reason(exc: BaseException) -> str:
    """A pymilvus error's own message (its str() repeats the code and class), at most 200 characters."""
    return str(getattr(exc, "message", None) or exc)[:200]


def outside_error(exc: BaseException) -> QAError | None:
    """The named error for a failure outside the program (:func:`storage_error`, or a Milvus server
    refusing a request), so the CLI and the web say one sentence instead of a traceback or a bare 500;
    None for anything else (a bug, which should surface as one). Versions are published last, so
    neither kind changes the live index version."""
    if type(exc).__module__.startswith("pymilvus"):
        return BackendRefused(f"Milvus 服务拒绝了请求（{milvus_reason(exc)}）。已发布的索引版本没有改动。")
    return storage_error(exc)


class ImageUnavailable(NotFound):
    """A page of the index whose image cannot be shown: its original file is gone or unreadable."""

    code = "page_image_unavailable"
    http_status = 404


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


class NotCorrectable(QAError):
    """The article is not in a text page of the server's archive, or cannot be found in its page text."""

    code = "not_correctable"
    http_status = 409
