"""The JSON API blueprint: ``/api/ask``, ``/api/health``, ``/api/config``, ``/api/issues``,
``/api/timeline``, ``/api/pages/<date>/<page>``, ``/api/openapi.json``.

Requests are checked by ``qa.request`` (the one ``AskRequest``) before the service is called:

* ``POST /api/ask`` takes JSON only. Another ``Content-Type`` (or none) -> **415**
  ``unsupported_media_type``; a body that is not valid UTF-8 JSON, or not an object -> **400**
  ``bad_json``; field errors -> **400** ``bad_request`` with the field named in the message.
* ``GET /api/config`` gives the chat page these limits and the sentences it shows for them, so the
  page holds no copy of a server fact (the page checks before sending; the server checks again).
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, request

from qa.app.body import get_service, no_store, read_json_object
from qa.app.chat import CHAT_FIELDS, ask_payload
from qa.config import DEFAULT_TOP_K, MAX_TOP_K
from qa.errors import BadInput, NotFound
from qa.request import (
    MAX_PAGE,
    MAX_PAPER_CHARS,
    MAX_QUESTION_CHARS,
    PAGE_MESSAGES,
    parse_as_of,
    parse_ask,
    parse_day,
    parse_page,
    parse_paper,
)

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.post("/ask")
def ask():
    body = read_json_object()
    chat = {k: body.pop(k) for k in CHAT_FIELDS if k in body}  # conversations: qa/app/chat.py
    return no_store(jsonify(ask_payload(get_service(), parse_ask(body), chat)))


@bp.get("/health")
def health():
    """``ok``; ``degraded`` (200: still answering from the loaded version) when the live version named
    by CURRENT cannot be loaded; ``no_index`` (503). ``problem`` says why, in Chinese."""
    svc = current_app.extensions.get("qa_service")
    reloader = current_app.extensions.get("qa_reloader")
    problem = getattr(reloader, "problem", None)
    if svc is None:
        body = {"status": "no_index", "index_version": None, "counts": {}, "embedder": None}
        return no_store(jsonify(body | ({"problem": problem} if problem else {}))), 503
    body = svc.health()
    if problem:
        body = {**body, "status": "degraded", "problem": problem}
    return no_store(jsonify(body))


@bp.get("/config")
def config():
    """Limits and messages for the chat page; static for the life of the process."""
    return jsonify(
        {
            "max_question_chars": MAX_QUESTION_CHARS,
            "top_k": {"min": 1, "max": MAX_TOP_K, "default": DEFAULT_TOP_K},
            "max_page": MAX_PAGE,
            "max_paper_chars": MAX_PAPER_CHARS,
            "messages": PAGE_MESSAGES,
        }
    )


@bp.get("/issues")
def issues():
    reader = get_service().reader  # one reader for the whole request, even if a reload swaps it
    return no_store(jsonify({"index_version": reader.version, "issues": reader.issues()}))


@bp.get("/timeline")
def timeline():
    """Articles covering ``q`` counted per month (or year), with the first and last report."""
    q = (request.args.get("q") or "").strip()
    if not q or len(q) > MAX_QUESTION_CHARS:
        raise BadInput(f"参数 q 应为 1 到 {MAX_QUESTION_CHARS} 个字的话题或问题，例如 /api/timeline?q=防汛。")
    paper = parse_paper(request.args.get("paper"))
    as_of = parse_as_of(request.args.get("as_of") or None)
    return no_store(jsonify(get_service().timeline(q, paper, as_of)))


@bp.get("/pages/<date>/<page>")
def page(date: str, page: str):
    date = parse_day(date, "date")
    if not re.fullmatch(r"[0-9]{1,3}", page):
        raise BadInput(f"版次应为 1 到 {MAX_PAGE} 之间的整数。")
    page_no = parse_page(int(page))
    paper = parse_paper(request.args.get("paper"))
    reader = get_service().reader
    found = reader.page(date, page_no, paper=paper)
    if found is None:
        who = f"{paper} " if paper else ""
        raise NotFound(f"档案中没有 {who}{date} 第{page_no}版。")
    mark = current_app.extensions.get("qa_mark_page") or (lambda f: f)  # corrected articles: corrections_api.py
    return no_store(jsonify({**mark(found), "index_version": reader.version}))


@bp.get("/openapi.json")
def openapi():
    from qa.app.openapi import openapi_document  # built on first request only

    return jsonify(openapi_document())
