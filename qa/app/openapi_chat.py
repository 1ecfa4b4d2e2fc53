"""The conversation parts of the OpenAPI document: ``history``/``conversation_id`` in ``AskRequest``,
the chat fields of ``Answer``, ``POST /api/ask/stream``, and ``/v1/*`` (OpenAI's own API, outlined)."""

from __future__ import annotations

_NULL_STR = {"type": ["string", "null"]}

TURN = {
    "type": "object",
    "required": ["question"],
    "description": "之前的一轮：直接使用上一个回答中的 turn 对象",
    "properties": {
        "question": {"type": "string", "maxLength": 2000},
        "answer": {"type": "string", "maxLength": 2000},
        "resolved_question": _NULL_STR,
        "article_ids": {
            "type": "array",
            "maxItems": 20,
            "items": {"type": "string"},
            "description": "这一轮回答引用的文章",
        },
        "filters": {"type": "object", "properties": {"date_from": _NULL_STR, "date_to": _NULL_STR, "paper": _NULL_STR}},
    },
}

ASK_FIELDS = {
    "history": {
        "type": "array",
        "maxItems": 20,
        "items": {"$ref": "#/components/schemas/Turn"},
        "description": "之前各轮（按时间先后），由客户端保存对话时使用；与 conversation_id 二选一",
    },
    "conversation_id": {
        "type": "string",
        "maxLength": 100,
        "description": '"new" 开始由服务器保存的对话；之后发回回答中的 conversation_id',
    },
}

ANSWER_FIELDS = {
    "resolved_question": {"type": "string", "description": "结合上文理解后的问题（实际检索的问题）"},
    "followup": {
        "type": "object",
        "description": "kind: new | elliptical | about_cited；aspect: when | author | content",
    },
    "answer_mode": {"type": "string", "enum": ["extractive", "llm", "llm_fallback"]},
    "answer_mode_reason": {**_NULL_STR, "description": "为何是这种回答方式（删去的句子、模型超时等）"},
    "llm": {"type": ["object", "null"], "description": "模型回答的核对结果与耗时；未配置模型时为 null"},
    "conversation_id": _NULL_STR,
    "turn": {"$ref": "#/components/schemas/Turn"},
}

STREAM_PATH = {
    "post": {
        "operationId": "askStream",
        "summary": "提问（服务器推送事件）：先 sources（引文），再逐句 delta（已核对的模型回答），"
        "最后 done（与 /api/ask 相同的 JSON）",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}},
        },
        "responses": {
            "200": {
                "description": "text/event-stream：event 为 sources、delta、done 或 error",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            "400": {
                "description": "字段不合法",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "404": {
                "description": "对话不存在或已过期（conversation_not_found）",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
}


_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}
CHAT_REQUEST = {
    "type": "object",
    "required": ["model", "messages"],
    "description": "OpenAI 的 chat completions 请求；另可带档案的筛选字段 top_k、date_from、date_to、paper、page",
    "properties": {
        "model": {"const": "newspaper-archive"},
        "messages": {
            "type": "array",
            "minItems": 1,
            "maxItems": 41,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {
                    "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
                    "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]},
                },
            },
        },
        "stream": {"type": "boolean"},
    },
}
V1_PATHS = {
    "/v1/chat/completions": {
        "post": {
            "operationId": "chatCompletions",
            "summary": "OpenAI 兼容的对话接口：最后一条用户消息是问题，之前的消息是上文；回答带 [n] 标记和来源",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatRequest"}}},
            },
            "responses": {
                "200": {
                    "description": "chat.completion（stream 时为 text/event-stream 的 chat.completion.chunk）；"
                    "另有 citations（引文）与 qa（回答方式等）字段",
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/event-stream": {"schema": {"type": "string"}},
                    },
                },
                "400": {"description": "字段不合法（bad_request）或 JSON 无效（bad_json）", **_ERROR},
                "404": {"description": "模型不存在（model_not_found）", **_ERROR},
                "429": {"description": "请求过于频繁", **_ERROR},
                "503": {"description": "尚无索引（index_missing）", **_ERROR},
            },
        }
    },
    "/v1/models": {
        "get": {
            "operationId": "listModels",
            "summary": "可用的模型：只有 newspaper-archive（档案问答）",
            "responses": {
                "200": {
                    "description": "OpenAI 的模型列表",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def extend_openapi(doc: dict) -> dict:
    """Add the conversation fields and the streaming path to the API document (in place)."""
    schemas = doc["components"]["schemas"]
    schemas["Turn"] = TURN
    schemas["AskRequest"] = {
        **schemas["AskRequest"],
        "properties": {**schemas["AskRequest"]["properties"], **ASK_FIELDS},
    }
    schemas["Answer"] = {**schemas["Answer"], "properties": {**schemas["Answer"]["properties"], **ANSWER_FIELDS}}
    doc["paths"]["/api/ask/stream"] = STREAM_PATH
    schemas["ChatRequest"] = CHAT_REQUEST
    doc["paths"].update(V1_PATHS)
    return doc
