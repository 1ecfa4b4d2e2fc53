"""Who is asking: API tokens, browser sessions, roles and CSRF for the web app.

* ``Authorization: Bearer <token>`` (``qa token create``): scripts. Exempt from CSRF (a browser
  never adds this header by itself). A wrong token is 401 wherever an account is needed, never
  silently anonymous there; on open reads it is ignored, since OpenAI-compatible chat clients
  always send some key to ``/v1`` (often a placeholder such as ``sk-none``).
* ``qa_session`` cookie (``POST /api/login``): the browser. HttpOnly, SameSite=Strict, Path=/,
  Secure when the request came over https (directly or ``X-Forwarded-Proto: https``). Every
  state-changing request made with it must carry the session's CSRF token in ``X-CSRF-Token``
  (the page gets it from the login answer or ``GET /api/session``); without it → 403.
* Nobody: reading is open unless ``Settings.read_requires_login``; changes need ``editor``.
"""

from __future__ import annotations

import hmac
import logging
from functools import wraps

from flask import Blueprint, Flask, current_app, g, jsonify, request

from qa.admin.accounts import SESSION_SECONDS, Accounts, User, role_at_least
from qa.errors import BadInput, Forbidden, Unauthorized

log = logging.getLogger("qa.app")
COOKIE = "qa_session"
# reachable without an account even when reading needs one: logging in, and load-balancer probes
OPEN_ENDPOINTS = {
    "auth.login",
    "auth.session",
    "api.health",
    "index_page",
    "static_file",
    "favicon",
    "admin_page.upload_page",
}  # /upload holds the login form
bp = Blueprint("auth", __name__, url_prefix="/api")


def accounts() -> Accounts:
    return current_app.extensions["qa_accounts"]


def _identify() -> None:
    """Set ``g.user`` (User or None), ``g.via`` ("token", "session" or None) and ``g.csrf``."""
    g.user, g.via, g.csrf = None, None, None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = accounts().token_user(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        g.user, g.via, g.bad_token = user, "token" if user else None, user is None
        if user is not None:
            return
    sid = request.cookies.get(COOKIE)
    found = accounts().session(sid) if sid else None
    if found:
        g.user, g.csrf = found
        g.via = "session"


def require(role: str):
    """Decorator: the request needs an account of ``role`` or above; a session also needs its CSRF token."""

    def wrap(view):
        @wraps(view)
        def inner(*a, **kw):
            check_role(role)
            return view(*a, **kw)

        return inner

    return wrap


BAD_TOKEN = "令牌无效或已被删除：请用 qa token create 生成新的令牌。"


def check_role(role: str) -> User:
    if g.get("user") is None:
        if g.get("bad_token"):
            raise Unauthorized(BAD_TOKEN)
        raise Unauthorized("需要登录：请先登录，或在请求头中带上 Authorization: Bearer <令牌>。")
    if not role_at_least(g.user.role, role):
        raise Forbidden(f"账户 {g.user.name} 的角色是 {g.user.role}，这个操作需要 {role} 或更高的角色。")
    check_csrf()
    return g.user


def check_csrf() -> None:
    """For a cookie session, a state-changing request must repeat the session's CSRF token."""
    if g.get("via") == "session" and request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get("X-CSRF-Token") or ""  # a header only: never parse a body first
        if not hmac.compare_digest(sent.encode(), (g.csrf or "").encode()):
            raise Forbidden("缺少或错误的 CSRF 令牌：请刷新页面后重试。")


def actor() -> str:
    """The audit log's "who": the account name, or ``anonymous``."""
    return g.user.name if g.get("user") else "anonymous"


def register_auth(app: Flask, settings) -> Accounts:
    """Open the accounts DB in ``settings.data_dir``, identify every request, add the login routes."""
    store = Accounts(settings.data_dir)
    app.extensions["qa_accounts"] = store
    read_needs_login = bool(getattr(settings, "read_requires_login", False))

    @app.before_request
    def _who():
        _identify()
        if read_needs_login and g.user is None and request.endpoint not in OPEN_ENDPOINTS:
            raise Unauthorized(BAD_TOKEN if g.get("bad_token") else "这个档案需要登录后才能查阅：请先登录。")

    limiter = app.extensions.get("qa_limiter")
    if limiter is not None:  # password guessing is rate-limited like the rest of /api
        limiter.shared_limit(settings.rate_limit, scope="api")(bp)
    app.register_blueprint(bp)
    return store


def _session_json(user: User | None, csrf: str | None) -> dict:
    return {"user": user.name if user else None, "role": user.role if user else None, "csrf_token": csrf}


@bp.post("/login")
def login():
    body = request.get_json(silent=True)  # JSON only: a cross-site HTML form cannot send it
    if not request.is_json or not isinstance(body, dict):
        raise BadInput('请以 JSON 发送 {"name": …, "password": …}。')
    user = accounts().check_password(str(body.get("name") or ""), str(body.get("password") or ""))
    if user is None:
        accounts().audit(str(body.get("name") or "")[:40] or "?", "login.failed", None, {"ip": request.remote_addr})
        raise Unauthorized("用户名或密码不正确。")
    sid, csrf = accounts().open_session(user)
    resp = jsonify(_session_json(user, csrf))
    secure = request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    resp.set_cookie(COOKIE, sid, max_age=SESSION_SECONDS, httponly=True, samesite="Strict", secure=secure, path="/")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/logout")
def logout():
    if g.via == "session":
        check_csrf()
        accounts().close_session(request.cookies.get(COOKIE, ""))
    resp = jsonify(_session_json(None, None))
    resp.delete_cookie(COOKIE, path="/", samesite="Strict", httponly=True)
    return resp


@bp.get("/session")
def session():
    resp = jsonify(_session_json(g.user, g.csrf))
    resp.headers["Cache-Control"] = "no-store"
    return resp
