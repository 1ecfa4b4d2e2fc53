"""The web app: ``create_app(settings)`` builds the Flask app that serves the chat page at ``/``
(the top-level ``web/`` folder, installed as the package ``qa_web``: see ``page_dir``) and the JSON
API under ``/api`` (``qa.app.api``).

* The heavy ``Service`` (live index + embedder) is created **once per app** and kept in
  ``app.extensions["qa_service"]``; all request threads share it.
* Every error, including 404/405/413/429 and unexpected 500s, is answered with the one JSON shape
  of ``qa.app.responses``; tracebacks are logged, never sent.
* Every response carries a strict Content-Security-Policy (no inline or remote scripts/styles)
  and ``X-Content-Type-Options: nosniff``.
* Hot reload: ``qa.app.reload.Reloader`` (started from a request hook, off the request path).
* Rate limit: ``settings.rate_limit`` per client address on ``/api/*`` (``/api/health`` and
  ``/api/config`` exempt), in-memory storage; ``rate_limit=None``, ``""`` or ``"off"`` disables it.
* Host check (DNS rebinding) and ``X-Forwarded-For`` from trusted proxies only: ``qa.app.hosts``,
  ``qa.app.proxies``; the rate limit and the conversation quota key on the real client.
* Chat page files missing (a broken install): a warning at start-up, and ``/`` answers the JSON
  error ``page_missing`` (503) instead of a silent 404; the API keeps working.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, request, send_from_directory
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from qa.app.admin_api import register_admin
from qa.app.api import bp as api_bp
from qa.app.chat import bp as chat_bp
from qa.app.chat import init_chat
from qa.app.hosts import check_host, default_allowed_hosts, split_list
from qa.app.images import bp as images_bp
from qa.app.openai import bp as openai_bp
from qa.app.page import STATIC_DIR, missing_page_files
from qa.app.proxies import TrustedProxies, parse_networks
from qa.app.reload import Reloader
from qa.app.responses import SECURITY_HEADERS, error_body, error_for_status
from qa.config import Settings
from qa.errors import IndexMissing, PageMissing, QAError, outside_error

log = logging.getLogger("qa.app")

MAX_BODY_BYTES = 64 * 1024
# polled by load balancers / read once per page load / page images (cached; renders are limited in qa.app.pagecache)
RATE_LIMIT_EXEMPT = ("api.health", "api.config", "images.page_image")


def rate_limit_enabled(value) -> bool:
    """``None``, ``""``, ``"off"``, ``"none"``, ``"0"``, ``"false"`` disable the limit (tests, benches).

    >>> [rate_limit_enabled(v) for v in (None, "off", "60 per minute")]
    [False, False, True]
    """
    return bool(value) and str(value).strip().lower() not in ("", "off", "none", "0", "false")


def error_response(code: str, message: str, status: int) -> Response:
    resp = Response(error_body(code, message), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _default_service(settings: Settings):
    from qa.service import Service  # heavy: FAISS, embedder

    return Service(settings.location, as_of=settings.as_of, route_queries=True)


def create_app(settings: Settings | None = None, service=None, static_dir: Path | None = None) -> Flask:
    """The Flask app. ``service`` (anything with ``ask/health/reader/maybe_reload``) is created
    from ``settings.index`` when not given; a missing index is not fatal: the API answers 503
    ``index_missing`` until ``qa index`` publishes one, which the reloader then picks up.
    ``static_dir`` (tests only) replaces the packaged chat page folder."""
    settings = settings or Settings()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.ensure_ascii = False
    app.config["QA_SETTINGS"] = settings
    networks = parse_networks(split_list(settings.trusted_proxies))
    if networks:
        app.wsgi_app = TrustedProxies(app.wsgi_app, networks)
    allowed = split_list(settings.allowed_hosts) or default_allowed_hosts(settings.host)

    @app.before_request
    def _host_check():  # first hook: a rebinding page gets nothing, not even a rate-limit count
        check_host(request.environ, allowed)

    make_service = None
    missing = None
    if service is None:
        make_service = lambda: _default_service(settings)  # noqa: E731
        try:
            service = make_service()
        except IndexMissing as e:
            log.warning("no index yet (%s); serving 503 until one is published", e)
            service, missing = None, e.message
    app.extensions["qa_service"] = service
    reloader = Reloader(app, settings.reload_interval_s, make_service)
    reloader.problem = missing
    app.extensions["qa_reloader"] = reloader

    init_chat(app, settings)  # conversations and the optional LLM
    # /api/…, /api/ask/stream, /v1/chat/completions and /v1/models, /api/pages/<key>/image
    blueprints = (api_bp, chat_bp, openai_bp, images_bp)
    app.extensions["qa_limiter"] = _install_limiter(app, blueprints, settings.rate_limit)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    register_admin(app, settings)  # accounts, POST /api/issues, feedback, corrections (docs/operations-inbox.md)

    @app.before_request
    def _reload_hook():
        if hasattr(app.extensions.get("qa_service"), "maybe_reload") or make_service is not None:
            reloader.trigger()

    _register_page(app, Path(static_dir) if static_dir is not None else STATIC_DIR)
    _register_error_handlers(app)
    return app


def _install_limiter(app: Flask, blueprints, rate_limit) -> Limiter | None:
    if not rate_limit_enabled(rate_limit):
        return None
    limiter = Limiter(
        get_remote_address, app=app, storage_uri="memory://", headers_enabled=True, strategy="fixed-window"
    )
    shared = limiter.shared_limit(rate_limit, scope="api", exempt_when=lambda: request.endpoint in RATE_LIMIT_EXEMPT)
    for blueprint in blueprints:
        shared(blueprint)
    return limiter


def _register_page(app: Flask, static_dir: Path) -> None:
    """``/``, ``/static/<name>`` and ``/favicon.ico`` from ``static_dir``; a warning when files are missing."""
    missing = missing_page_files(static_dir)
    if missing:
        log.warning(
            "chat page files missing from %s: %s — / answers an error until the package is "
            "reinstalled; the JSON API still works",
            static_dir,
            ", ".join(missing),
        )

    @app.get("/")
    def index_page():
        if not (static_dir / "index.html").is_file():
            raise PageMissing("聊天页面文件缺失（安装不完整）：请重新安装 qa-newspaper。问答接口 /api/ask 仍可使用。")
        return send_from_directory(static_dir, "index.html", max_age=0)

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(static_dir, name, max_age=300)

    @app.get("/favicon.ico")
    def favicon():
        return send_from_directory(static_dir, "favicon.svg", mimetype="image/svg+xml", max_age=3600)

    @app.after_request
    def _security_headers(resp):
        resp.headers.update(SECURITY_HEADERS)
        return resp


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(QAError)
    def _qa_error(e: QAError):
        if e.http_status >= 500:
            log.warning("%s: %s", e.code, e.message)
        return error_response(e.code, e.message, e.http_status)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500
        code, message = error_for_status(status)
        if status == 405 and e.valid_methods:
            message = f"这个地址不支持该请求方法，请使用 {'、'.join(sorted(e.valid_methods))}。"
        resp = error_response(code, message, status)
        for h in ("Retry-After", "Allow"):
            v = e.get_response().headers.get(h)
            if v:
                resp.headers[h] = v
        return resp

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if (err := outside_error(e)) is not None:  # a full disk, a Milvus refusal: say which
            return _qa_error(err)
        log.exception("unexpected error while handling a request")
        return error_response(*error_for_status(500), 500)
