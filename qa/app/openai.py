"""The OpenAI-compatible endpoint: ``POST /v1/chat/completions`` (stream and not) and ``GET /v1/models``,
so that chat tools (Open WebUI, ChatBox, LobeChat, the ``openai`` SDK) can talk to the archive.

The last user message is the question; the earlier user/assistant messages are the conversation
(follow-ups are resolved from them: an assistant message's 「来源」 list tells which reports it
cited). ``model`` names the archive (:data:`MODEL_ID`). The reply text carries the ``[n]``
markers and a 「来源」 list; the structured citations travel in the extra field ``citations`` and
the rest of the answer (``answer_mode``, ``resolved_question``, filters) in ``qa``. The archive's
own filters may be sent as extra fields: ``top_k``, ``date_from``, ``date_to``, ``paper``, ``page``.
"""

from __future__ import annotations

import json
import re
import secrets
import time

from flask import Blueprint, Response, jsonify, stream_with_context

from qa.answer.verify import MARKER
from qa.app.body import get_service, read_json_object
from qa.app.chat import chat_state, marked_events
from qa.errors import BadInput, ModelNotFound, QAError
from qa.request import AskRequest, parse_ask
from qa.types import Turn

MODEL_ID = "newspaper-archive"
MAX_MESSAGES = 41  # 20 earlier question/answer pairs and the question
_SOURCES = re.compile(r"\n+来源[:：]\s*\n")
_SOURCE_LINE = re.compile(r"^\[(\d{1,2})\]\s*(.+)$", re.M)

bp = Blueprint("openai", __name__, url_prefix="/v1")


def _content(message: dict, i: int) -> str:
    """A message's text: a string, or the text parts of a content array."""
    content = message.get("content")
    if isinstance(content, list):
        parts = [p for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if not all(isinstance(p.get("text"), str) for p in parts):
            raise BadInput(f"字段 messages[{i}].content 中文本片段的 text 应为字符串。")
        content = "".join(p["text"] for p in parts)
    if not isinstance(content, str):
        raise BadInput(f"字段 messages[{i}].content 应为字符串或文本片段数组。")
    return content


def split_reply(text: str) -> tuple[str, list[str]]:
    """An assistant reply -> (answer, labels of the sources its markers cite, in citation order).

    >>> split_reply("新增14家。[2]\\n\\n来源：\\n[1] 甲报 2025-01-01\\n[2] 乙报 2026-04-01 第1版《题》")
    ('新增14家。[2]', ['乙报 2026-04-01 第1版《题》'])
    """
    parts = _SOURCES.split(text, maxsplit=1)
    answer = parts[0].strip()
    labels = {int(n): label.strip() for n, label in _SOURCE_LINE.findall(parts[1])} if len(parts) > 1 else {}
    cited = dict.fromkeys(int(n) for n in MARKER.findall(answer))
    return answer, [labels[n] for n in cited if n in labels]


def parse_messages(messages) -> tuple[str, list[Turn]]:
    """(question, earlier turns) from OpenAI chat messages; system messages are ignored."""
    if not isinstance(messages, list) or not messages:
        raise BadInput("字段 messages 应为非空数组，最后一条是用户的问题。")
    if len(messages) > MAX_MESSAGES:
        raise BadInput(f"字段 messages 最多 {MAX_MESSAGES} 条，收到 {len(messages)} 条。")
    turns: list[Turn] = []
    question = None
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise BadInput(f"字段 messages[{i}] 应为带 role（system/user/assistant）和 content 的对象。")
        if m["role"] == "user":
            if question is not None:
                turns.append(Turn(question))
            question = _content(m, i)
        elif m["role"] == "assistant" and question is not None:
            answer, labels = split_reply(_content(m, i))
            turns.append(Turn(question, answer, sources=labels))
            question = None
    if question is None or not question.strip():
        raise BadInput("messages 的最后一条应为用户的问题（role 为 user，内容非空）。")
    return question, turns


def sources_text(passages: list[dict]) -> str:
    from qa.types import Citation

    def line(p: dict) -> str:
        fields = dict(p["citation"])
        mark = "（已校对）" if fields.pop("corrected", False) else ""  # set by qa.app.chat.marked_events
        return f"[{p['n']}] {Citation(**fields).label()}{mark}"

    lines = [line(p) for p in passages]
    return "\n\n来源：\n" + "\n".join(lines) if lines else ""


def _request() -> tuple[AskRequest, str, bool]:
    body = read_json_object()
    model = body.get("model")
    if model != MODEL_ID:
        raise ModelNotFound(f"模型 {str(model)[:60]!r} 不存在；本服务的模型是 {MODEL_ID}（档案问答）。")
    question, turns = parse_messages(body.get("messages"))
    fields = {k: body[k] for k in ("top_k", "date_from", "date_to", "paper", "page", "as_of") if k in body}
    return parse_ask({"question": question} | fields, history=turns), model, bool(body.get("stream"))


def _extras(done: dict) -> dict:
    return {
        "citations": done["passages"],
        "qa": {
            k: done[k]
            for k in (
                "resolved_question",
                "filters",
                "followup",
                "answer_mode",
                "answer_mode_reason",
                "found",
                "index_version",
                "took_ms",
                "llm",
            )
        },
    }


@bp.post("/chat/completions")
def chat_completions():
    req, model, stream = _request()
    events = marked_events(get_service(), chat_state().llm, req)
    cid, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
    if not stream:
        done = next(data for event, data in events if event == "done")
        message = {"role": "assistant", "content": done["answer"] + sources_text(done["passages"])}
        body = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        } | _extras(done)
        return jsonify(body)
    first = next(events)  # errors before the stream starts are plain JSON 4xx answers

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        } | extra
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def generate():
        yield chunk({"role": "assistant", "content": ""}, citations=first[1]["passages"])
        sent = ""
        try:
            for event, data in events:
                if event == "delta":
                    sent += data["text"]
                    yield chunk({"content": data["text"]})
                elif event == "done":
                    rest = data["answer"][len(sent) :] if data["answer"].startswith(sent) else "\n" + data["answer"]
                    yield chunk({"content": rest + sources_text(data["passages"])})
                    yield chunk({}, "stop", **_extras(data))
        except QAError as e:
            yield chunk({"content": f"\n（出错：{e.message}）"}, "stop")
        yield "data: [DONE]\n\n"

    resp = Response(stream_with_context(generate()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/models")
def models():
    return jsonify(
        {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "qa-newspaper"}]}
    )
