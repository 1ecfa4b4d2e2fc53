"""The web app: ``create_app(settings)`` builds the Flask app that serves the chat page at ``/``
(static files from ``web/``) and the JSON API under ``/api`` (``qa.web_api``).

* The heavy ``Service`` (live index + embedder) is created **once per app** and kept in
  ``app.extensions["qa_service"]``; all request threads share it.
* Every error, including 404/405/413/429 and unexpected 500s, is answered with the one JSON shape
  ``{"error": {"code": "...", "message": "中文说明"}}``; tracebacks are logged, never sent.
* Every response carries a strict Content-Security-Policy (no inline or remote scripts/styles)
  and ``X-Content-Type-Options: nosniff``.
* Hot reload: at most every ``settings.reload_interval_s`` a request kicks off
  ``service.maybe_reload()`` in a background thread (one at a time), so no request waits for a
  new index version to load; ``qa serve`` also runs a watcher thread so an idle server picks up a
  new ``CURRENT`` too. Requests in flight keep the reader they started with.
* Rate limit: ``settings.rate_limit`` per client address on ``/api/*`` (``/api/health`` exempt),
  in-memory storage; ``rate_limit=None``, ``""`` or ``"off"`` disables it (tests, benches).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from flask import Flask, jsonify, request, send_from_directory
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from qa.config import Settings
from qa.errors import IndexMissing, QAError

log = logging.getLogger("qa.web")

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
MAX_BODY_BYTES = 64 * 1024

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

# HTTP errors raised by Flask/Werkzeug/Flask-Limiter -> (code, Chinese message)
HTTP_ERRORS = {
    400: ("bad_request", "请求格式不正确。"),
    404: ("not_found", "找不到这个地址。"),
    405: ("method_not_allowed", "这个地址不支持该请求方法。"),
    413: ("payload_too_large", "请求体太大：最多 64 KB。"),
    415: ("unsupported_media_type", "请求体必须是 JSON，并带有 Content-Type: application/json。"),
    429: ("rate_limited", "请求过于频繁，请稍后再试。"),
}


def rate_limit_enabled(value) -> bool:
    """``None``, ``""``, ``"off"``, ``"none"``, ``"0"``, ``"false"`` disable the limit (tests, benches)."""
    return bool(value) and str(value).strip().lower() not in ("", "off", "none", "0", "false")


def error_response(code: str, message: str, status: int):
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


class Reloader:
    """Calls ``service.maybe_reload()`` at most every ``interval`` seconds, off the request path.

    ``trigger()`` is cheap (a clock read) and is called before each request; when the interval
    has passed it starts one background check. ``start_watcher()`` adds a daemon thread that
    checks on its own (used by ``qa serve`` so that an idle server also follows ``CURRENT``).
    While no index exists yet, the check tries to create the Service instead.
    """

    def __init__(self, app: Flask, interval: float, make_service):
        self.app = app
        self.interval = max(0.0, float(interval))
        self.make_service = make_service
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._stop = threading.Event()
        self.reloads = 0
        self.errors = 0

    def trigger(self) -> None:
        now = time.monotonic()
        if now - self._last < self.interval or self._lock.locked():
            return
        if not self._lock.acquire(blocking=False):
            return
        self._last = now
        try:
            threading.Thread(target=self._run_locked, name="qa-reload", daemon=True).start()
        except Exception:  # pragma: no cover - thread start failure: just try again later
            self._lock.release()

    def check_now(self) -> bool:
        """One synchronous check (tests, watcher); True when a new version was swapped in."""
        with self._lock:
            return self._check()

    def _run_locked(self) -> None:
        try:
            self._check()
        finally:
            self._lock.release()

    def _check(self) -> bool:
        self._last = time.monotonic()
        try:
            svc = self.app.extensions.get("qa_service")
            if svc is None:
                if self.make_service is None:
                    return False
                svc = self.make_service()
                self.app.extensions["qa_service"] = svc
                log.info("index loaded: %s", getattr(svc.reader, "version", "?"))
                self.reloads += 1
                return True
            if svc.maybe_reload():
                log.info("index reloaded: now %s", getattr(svc.reader, "version", "?"))
                self.reloads += 1
                return True
        except IndexMissing:
            pass
        except Exception:
            self.errors += 1
            log.exception("index reload failed; still serving the previous version")
        return False

    def start_watcher(self) -> threading.Thread:
        def loop():
            while not self._stop.wait(max(self.interval, 0.05)):
                if self._lock.acquire(blocking=False):
                    self._run_locked()

        t = threading.Thread(target=loop, name="qa-reload-watcher", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()


def _default_service(settings: Settings):
    from qa.service import Service  # heavy: FAISS, embedder

    return Service(settings.backend or Path(settings.index), reference_date=settings.reference_date)


def create_app(settings: Settings | None = None, service=None) -> Flask:
    """The Flask app. ``service`` (anything with ``ask/health/reader/maybe_reload``) is created
    from ``settings.index`` when not given; a missing index is not fatal: the API answers 503
    ``index_missing`` until ``qa index`` publishes one, which the reloader then picks up."""
    settings = settings or Settings()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False
    app.config["QA_SETTINGS"] = settings

    make_service = None
    if service is None:
        make_service = lambda: _default_service(settings)  # noqa: E731
        try:
            service = make_service()
        except IndexMissing as e:
            log.warning("no index yet (%s); serving 503 until one is published", e)
            service = None
    app.extensions["qa_service"] = service
    reloader = Reloader(app, settings.reload_interval_s, make_service)
    app.extensions["qa_reloader"] = reloader

    from qa.web_api import bp as api_bp

    limiter = None
    if rate_limit_enabled(settings.rate_limit):
        limiter = Limiter(
            get_remote_address,
            app=app,
            storage_uri="memory://",
            headers_enabled=True,
            strategy="fixed-window",
        )
        limiter.shared_limit(settings.rate_limit, scope="api", exempt_when=lambda: request.endpoint == "api.health")(api_bp)
    app.extensions["qa_limiter"] = limiter
    app.register_blueprint(api_bp)

    @app.before_request
    def _reload_hook():
        if hasattr(app.extensions.get("qa_service"), "maybe_reload") or make_service is not None:
            reloader.trigger()

    @app.get("/")
    def index_page():
        return send_from_directory(WEB_DIR, "index.html", max_age=0)

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(WEB_DIR, name, max_age=300)

    @app.get("/favicon.ico")
    def favicon():
        return send_from_directory(WEB_DIR, "favicon.svg", mimetype="image/svg+xml", max_age=3600)

    @app.after_request
    def _security_headers(resp):
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        return resp

    @app.errorhandler(QAError)
    def _qa_error(e: QAError):
        if e.http_status >= 500:
            log.warning("%s: %s", e.code, e.message)
        return error_response(e.code, e.message, e.http_status)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        code, message = HTTP_ERRORS.get(e.code or 500, ("http_error", "请求无法处理。"))
        if e.code == 405 and e.valid_methods:
            message = f"这个地址不支持该请求方法，请使用 {'、'.join(sorted(e.valid_methods))}。"
        resp = error_response(code, message, e.code or 500)
        for h in ("Retry-After", "Allow"):
            v = e.get_response().headers.get(h)
            if v:
                resp.headers[h] = v
        return resp

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error while handling a request")
        return error_response("internal_error", "服务器内部错误，请稍后再试。", 500)

    return app
