"""The JSON API blueprint: ``/api/ask``, ``/api/health``, ``/api/config``, ``/api/issues``,
``/api/pages/<date>/<page>``, ``/api/openapi.json``.

Request validation lives here (``validate_ask``), so that everything a client can get wrong is
answered with a 4xx and a Chinese message naming the field, before the service is called.

Choices (also in the OpenAPI document):

* ``POST /api/ask`` takes JSON only. Another ``Content-Type`` (or none) -> **415**
  ``unsupported_media_type``; a body that is not valid UTF-8 JSON, or not an object -> **400**
  ``bad_json``; field errors -> **400** ``bad_request`` with the field named in the message.
* Optional fields may be ``null`` (same as absent), so the ``filters`` object of an answer can be
  sent back as is.
* ``paper`` is stripped; an empty string means "no paper filter". ``page`` is 1–999.
* ``GET /api/config`` gives the chat page these limits and the sentences it shows for them, so the
  page holds no copy of a server fact (the page checks before sending; the server checks again).
"""

from __future__ import annotations

import json
from dataclasses import asdict
import re
from datetime import date as _date

from flask import Blueprint, current_app, jsonify, request

from qa.config import DEFAULT_TOP_K, MAX_TOP_K
from qa.errors import BadInput, IndexMissing
from qa.text.normalize import LAST_AS_OF, date_out_of_range

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_QUESTION_CHARS = 500
MAX_PAPER_CHARS = 50
MAX_PAGE = 999
ASK_FIELDS = ("question", "top_k", "date_from", "date_to", "paper", "page", "as_of")
NO_INDEX = "尚未建立档案索引：请先运行 qa index，服务会自动加载。"
# sentences the chat page shows for checks it makes itself (GET /api/config)
PAGE_MESSAGES = {
    "question_too_long": f"问题太长：最多 {MAX_QUESTION_CHARS} 个字。",
    "dates_reversed": "起始日期不能晚于结束日期。",
    "no_index": NO_INDEX,
}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class UnsupportedMediaType(BadInput):
    code = "unsupported_media_type"
    http_status = 415


class BadJSON(BadInput):
    code = "bad_json"
    http_status = 400


class NotFound(BadInput):
    code = "not_found"
    http_status = 404


def get_service():
    """The app's one Service; raises IndexMissing (503) while no index has been published yet."""
    svc = current_app.extensions.get("qa_service")
    if svc is None:
        raise IndexMissing(NO_INDEX)
    return svc


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_iso_date(value, field: str) -> str:
    """``YYYY-MM-DD`` and a real calendar date, else BadInput naming ``field``."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise BadInput(f"字段 {field} 应为 YYYY-MM-DD 格式的日期，例如 2026-04-01。")
    try:
        _date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"字段 {field} 不是有效的日期：{value}。") from None
    return value


def parse_as_of(value) -> str | None:
    """``as_of``: None, ``today``, or an ISO date inside the archive's plausible range (see qa.text.normalize)."""
    if value is None or value == "today":
        return value
    value = parse_iso_date(value, "as_of")
    if out := date_out_of_range(value, LAST_AS_OF):
        raise BadInput(f"字段 as_of 的{out}。")
    return value


def parse_page(value, field: str = "page") -> int:
    if not _is_int(value) or not 1 <= value <= MAX_PAGE:
        raise BadInput(f"字段 {field} 应为 1 到 {MAX_PAGE} 之间的整数（版次）。")
    return value


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
        raise BadJSON("请求体应为 JSON 对象，例如 {\"question\": \"…\"}。")
    return body


def validate_ask(body: dict) -> dict:
    """Checked keyword arguments for ``Service.ask`` from a decoded request body."""
    unknown = [k for k in body if k not in ASK_FIELDS]
    if unknown:
        names = "、".join(str(k)[:40] for k in unknown[:5])
        raise BadInput(f"未知字段：{names}。可用字段：{', '.join(ASK_FIELDS)}。")
    q = body.get("question")
    if q is None:
        raise BadInput("缺少字段 question（要提问的问题）。")
    if not isinstance(q, str):
        raise BadInput("字段 question 应为字符串。")
    q = q.strip()
    if not q:
        raise BadInput("问题不能为空。")
    if len(q) > MAX_QUESTION_CHARS:
        raise BadInput(f"{PAGE_MESSAGES['question_too_long']}现在是 {len(q)} 个字。")
    out: dict = {"question": q, "top_k": DEFAULT_TOP_K}
    top_k = body.get("top_k")
    if top_k is not None:
        if not _is_int(top_k) or not 1 <= top_k <= MAX_TOP_K:
            raise BadInput(f"字段 top_k 应为 1 到 {MAX_TOP_K} 之间的整数。")
        out["top_k"] = top_k
    for f in ("date_from", "date_to"):
        out[f] = None if body.get(f) is None else parse_iso_date(body[f], f)
    if out["date_from"] and out["date_to"] and out["date_from"] > out["date_to"]:
        raise BadInput("起始日期 date_from 不能晚于结束日期 date_to。")
    paper = body.get("paper")
    if paper is not None:
        if not isinstance(paper, str):
            raise BadInput("字段 paper 应为字符串（报纸名称）。")
        paper = paper.strip()
        if len(paper) > MAX_PAPER_CHARS:
            raise BadInput(f"字段 paper 太长：最多 {MAX_PAPER_CHARS} 个字。")
        paper = paper or None
    out["paper"] = paper
    out["page"] = None if body.get("page") is None else parse_page(body["page"])
    as_of = parse_as_of(body.get("as_of"))
    if as_of is not None:
        out["as_of"] = as_of  # the day 「去年」「上周」 are counted from; absent: the newest issue
    return out


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/ask")
def ask():
    from qa.app.chat import CHAT_FIELDS, ask_payload

    body = read_json_object()
    chat = {k: body.pop(k) for k in CHAT_FIELDS if k in body}  # conversations: qa/chat/web_chat.py
    return _no_store(jsonify(ask_payload(get_service(), validate_ask(body), chat)))


@bp.get("/health")
def health():
    """``ok``; ``degraded`` (200: still answering from the loaded version) when the live version named
    by CURRENT cannot be loaded; ``no_index`` (503). ``problem`` says why, in Chinese."""
    svc = current_app.extensions.get("qa_service")
    reloader = current_app.extensions.get("qa_reloader")
    problem = getattr(reloader, "problem", None)
    if svc is None:
        body = {"status": "no_index", "index_version": None, "counts": {}, "embedder": None}
        return _no_store(jsonify(body | ({"problem": problem} if problem else {}))), 503
    body = svc.health()
    if problem:
        body = {**body, "status": "degraded", "problem": problem}
    return _no_store(jsonify(body))


@bp.get("/config")
def config():
    """Limits and messages for the chat page; static for the life of the process."""
    return jsonify({
        "max_question_chars": MAX_QUESTION_CHARS,
        "top_k": {"min": 1, "max": MAX_TOP_K, "default": DEFAULT_TOP_K},
        "max_page": MAX_PAGE,
        "max_paper_chars": MAX_PAPER_CHARS,
        "messages": PAGE_MESSAGES,
    })


@bp.get("/issues")
def issues():
    reader = get_service().reader  # one reader for the whole request, even if a reload swaps it
    return _no_store(jsonify({"index_version": reader.version, "issues": reader.issues()}))


@bp.get("/timeline")
def timeline():
    """Articles covering ``q`` counted per month (or year), with the first and last report."""
    from qa.answer.coverage import timeline_of
    from qa.retrieve.scope import question_scope
    from qa.time.timeline import detect_timeline
    from qa.types import Filters

    q = (request.args.get("q") or "").strip()
    if not q or len(q) > MAX_QUESTION_CHARS:
        raise BadInput(f"参数 q 应为 1 到 {MAX_QUESTION_CHARS} 个字的话题或问题，例如 /api/timeline?q=防汛。")
    paper = request.args.get("paper") or None
    if paper is not None and len(paper) > MAX_PAPER_CHARS:
        raise BadInput(f"参数 paper 太长：最多 {MAX_PAPER_CHARS} 个字。")
    as_of = parse_as_of(request.args.get("as_of") or None)
    reader = get_service().reader
    scope = question_scope(reader, q, Filters(paper=paper), as_of)
    asked = detect_timeline(q)
    topic = (asked.topic if asked else "") or scope.query
    body = {"q": q, "topic": topic, "filters": asdict(scope.filters), "index_version": reader.version,
            "timeline": timeline_of(reader, topic, scope.allowed).to_json()}
    return _no_store(jsonify(body))


@bp.get("/pages/<date>/<page>")
def page(date: str, page: str):
    date = parse_iso_date(date, "date")
    if not re.fullmatch(r"[0-9]{1,3}", page):
        raise BadInput(f"版次应为 1 到 {MAX_PAGE} 之间的整数。")
    page_no = parse_page(int(page))
    paper = request.args.get("paper") or None
    if paper is not None and len(paper) > MAX_PAPER_CHARS:
        raise BadInput(f"参数 paper 太长：最多 {MAX_PAPER_CHARS} 个字。")
    reader = get_service().reader
    found = reader.page(date, page_no, paper=paper)
    if found is None:
        who = f"{paper} " if paper else ""
        raise NotFound(f"档案中没有 {who}{date} 第{page_no}版。")
    return _no_store(jsonify({**found, "index_version": reader.version}))


@bp.get("/openapi.json")
def openapi():
    from qa.app.openapi import openapi_document

    return jsonify(openapi_document())
