"""Conversations over HTTP: ``history`` / ``conversation_id`` for ``POST /api/ask``, its server-sent
events variant ``POST /api/ask/stream``, and ``init_chat`` which sets up the chat state (the
conversation store, the optional LLM client).

Conversation ids: ``"conversation_id": "new"`` starts a server-kept conversation and the answer
returns its id; sending that id back continues it. Without either field a request is one question,
as before. ``history`` (earlier turns, oldest first, as the ``turn`` objects of earlier answers) lets
a client keep the conversation itself instead.

SSE events of ``/api/ask/stream``: ``sources`` (passages and citations, first), ``delta`` (each
checked sentence of the LLM answer as it is ready), ``done`` (the same JSON as ``/api/ask``),
or ``error`` (``{"error": {"code", "message"}}``) if something fails after the stream started.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Iterator

from flask import Blueprint, Flask, Response, current_app, request, stream_with_context

from qa.answer.conversations import ConversationStore
from qa.answer.llm import LLMClient, load_llm_config
from qa.answer.turns import chat_events
from qa.app.body import get_service, read_json_object
from qa.errors import BadInput, QAError
from qa.request import AskRequest, parse_ask
from qa.types import Turn

log = logging.getLogger("qa.answer")

CHAT_FIELDS = ("history", "conversation_id")
MAX_HISTORY = 20
MAX_TEXT = 2000  # characters per question/answer of a history turn
MAX_IDS = 20

bp = Blueprint("chat", __name__, url_prefix="/api")


@dataclass
class ChatState:
    store: ConversationStore
    llm: LLMClient | None


def _text(value, where: str, limit: int, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadInput(f"字段 {where} 应为{'非空' if required else ''}字符串。")
    if len(value) > limit:
        raise BadInput(f"字段 {where} 太长：最多 {limit} 个字。")
    return value


def parse_history(value) -> list[Turn]:
    """Earlier turns from a request: ``[{"question", "answer"?, "resolved_question"?, "article_ids"?,
    "filters"?}]``; BadInput naming the field otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput("字段 history 应为数组（之前各轮的问答，按时间先后）。")
    if len(value) > MAX_HISTORY:
        raise BadInput(f"字段 history 最多 {MAX_HISTORY} 轮，收到 {len(value)} 轮。")
    turns = []
    for i, item in enumerate(value):
        where = f"history[{i}]"
        if not isinstance(item, dict):
            raise BadInput(f'字段 {where} 应为对象，例如 {{"question": "…", "answer": "…"}}。')
        ids = item.get("article_ids") or []
        if not isinstance(ids, list) or len(ids) > MAX_IDS or not all(isinstance(a, str) and len(a) < 500 for a in ids):
            raise BadInput(f"字段 {where}.article_ids 应为字符串数组（最多 {MAX_IDS} 个）。")
        filters = item.get("filters") or {}
        if not isinstance(filters, dict):
            raise BadInput(f"字段 {where}.filters 应为对象。")
        dates = {k: _text(filters.get(k), f"{where}.filters.{k}", 10) for k in ("date_from", "date_to")}
        turns.append(
            Turn(
                question=_text(item.get("question"), f"{where}.question", MAX_TEXT, required=True),
                answer=_text(item.get("answer"), f"{where}.answer", MAX_TEXT) or "",
                resolved_question=_text(item.get("resolved_question"), f"{where}.resolved_question", MAX_TEXT),
                article_ids=list(ids),
                paper=_text(filters.get("paper"), f"{where}.filters.paper", 50),
                **dates,
            )
        )
    return turns


def chat_state() -> ChatState:
    return current_app.extensions["qa_chat"]


def marked_events(service, llm: LLMClient | None, req: AskRequest) -> Iterator[tuple[str, dict]]:
    """``chat_events`` with the citations of corrected articles marked 「已校对」 (every route that
    answers: ``/api/ask``, its stream, ``/v1/chat/completions``; see qa/app/corrections_api.py)."""
    mark = current_app.extensions.get("qa_mark_citations") or (lambda d: d)
    for event, data in chat_events(service, llm, req):
        yield event, mark(data)


def conversation_events(service, req: AskRequest, chat: dict) -> Iterator[tuple[str, dict]]:
    """``chat_events`` with the conversation kept: history from the store, the new turn saved to it."""
    state = chat_state()
    cid = chat.get("conversation_id")
    history = parse_history(chat.get("history"))
    if cid is not None:
        if not isinstance(cid, str) or not cid or len(cid) > 100:
            raise BadInput('字段 conversation_id 应为字符串："new" 开始新对话，或上一个回答中的 conversation_id。')
        if history:
            raise BadInput("history 与 conversation_id 只能给一个：服务器保存的对话不需要再发历史。")
        # the client's address (the real one behind a --trusted-proxies proxy) bounds its conversations
        cid = state.store.new(request.remote_addr or "-") if cid == "new" else cid
        history = state.store.turns(cid)  # 404 conversation_not_found when unknown or expired
    for event, data in marked_events(service, state.llm, replace(req, history=history)):
        data = data | {"conversation_id": cid}
        if event == "done" and cid is not None:
            t = data["turn"]
            state.store.append(
                cid, Turn(t["question"], t["answer"], t["resolved_question"], t["article_ids"], **t["filters"])
            )
        yield event, data


def ask_payload(service, req: AskRequest, chat: dict) -> dict:
    """The JSON answer of ``POST /api/ask`` (the ``done`` event)."""
    for event, data in conversation_events(service, req, chat):
        if event == "done":
            return data
    raise RuntimeError("chat_events ended without an answer")  # pragma: no cover


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@bp.post("/ask/stream")
def ask_stream():
    body = read_json_object()
    chat = {k: body.pop(k) for k in CHAT_FIELDS if k in body}
    events = conversation_events(get_service(), parse_ask(body), chat)
    first = next(events)  # bad input and unknown conversations still get a plain 4xx JSON answer

    def generate():
        yield sse(*first)
        try:
            for event, data in events:
                yield sse(event, data)
        except QAError as e:
            yield sse("error", {"error": {"code": e.code, "message": e.message}})
        except Exception:
            log.exception("chat stream failed")
            yield sse("error", {"error": {"code": "internal_error", "message": "服务器内部错误，请稍后再试。"}})

    resp = Response(stream_with_context(generate()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx in front: do not hold the stream back
    return resp


def init_chat(app: Flask, settings) -> None:
    """The chat state: server-kept conversations and the optional LLM client."""
    cfg = load_llm_config(
        getattr(settings, "llm_base_url", None),
        getattr(settings, "llm_model", None),
        getattr(settings, "llm_config", None),
    )
    app.extensions["qa_chat"] = ChatState(ConversationStore(), LLMClient(cfg) if cfg else None)
    if cfg:
        log.info("LLM answers from %s (model %s), timeout %.0f s", cfg.base_url, cfg.model, cfg.timeout_s)
