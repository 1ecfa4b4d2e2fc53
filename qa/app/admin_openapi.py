"""OpenAPI entries of the accounts, upload and feedback routes (``qa.app.auth``, ``qa.app.admin_api``)."""

from __future__ import annotations


def _err(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


AUTH_ERRORS = {
    "401": _err("没有账户、令牌无效或未登录（unauthorized）"),
    "403": _err("角色不够，或浏览器会话缺少 X-CSRF-Token（forbidden）"),
}
BEARER = [{"bearer": []}, {"session": []}]

SCHEMAS = {
    "Session": {
        "type": "object",
        "required": ["user", "role", "csrf_token"],
        "properties": {
            "user": {"type": ["string", "null"]},
            "role": {"enum": ["reader", "editor", "admin", None]},
            "csrf_token": {
                "type": ["string", "null"],
                "description": "浏览器会话的 CSRF 令牌：修改请求放在 X-CSRF-Token 头中",
            },
        },
    },
    "Skip": {
        "type": "object",
        "properties": {"file": {"type": "string"}, "reason": {"type": "string"}, "line": {"type": ["integer", "null"]}},
    },
    "Job": {
        "type": "object",
        "required": ["job", "stage", "done"],
        "properties": {
            "job": {"type": "string"},
            "user": {"type": "string"},
            "created": {"type": "number", "description": "创建时间（Unix 秒）"},
            "issues": {
                "type": "array",
                "items": {"type": "string"},
                "description": "档案中的期次，如 聊城日报/2026-04-02",
            },
            "resumed": {"type": "boolean", "description": "服务重启后继续执行过"},
            "stage": {"enum": ["queued", "reading", "ocr", "embedding", "published", "unchanged", "failed"]},
            "pages_read": {"type": "integer"},
            "pages_total": {"type": "integer"},
            "done": {"type": "boolean"},
            "error": {"type": ["string", "null"]},
            "version": {"type": ["string", "null"]},
            "published": {"type": "boolean"},
            "status_url": {"type": "string"},
            "pages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string"},
                        "paper": {"type": "string"},
                        "date": {"type": "string"},
                        "page": {"type": ["integer", "null"]},
                        "read_as": {"type": "string"},
                        "articles": {"type": "integer"},
                        "titles": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "skipped": {"type": "array", "items": {"$ref": "#/components/schemas/Skip"}},
        },
    },
    "FeedbackRequest": {
        "type": "object",
        "required": ["rating", "question"],
        "properties": {
            "rating": {"enum": ["up", "down"]},
            "comment": {"type": "string", "maxLength": 1000},
            "question": {"type": "string"},
            "answer": {"type": "string"},
            "passages": {"type": "array", "description": "回答引用的段落（citation 对象）"},
            "index_version": {"type": ["string", "null"]},
        },
    },
}

PATHS = {
    "/api/login": {
        "post": {
            "operationId": "login",
            "summary": "登录（JSON），设置 HttpOnly、SameSite=Strict 的会话 Cookie",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}, "password": {"type": "string"}},
                        }
                    }
                },
            },
            "responses": {"200": _ok("Session", "已登录"), "400": _err("不是 JSON"), "401": _err("用户名或密码不正确")},
        }
    },
    "/api/logout": {
        "post": {
            "operationId": "logout",
            "summary": "退出登录",
            "responses": {"200": _ok("Session", "已退出"), "403": _err("缺少 CSRF 令牌")},
        }
    },
    "/api/session": {
        "get": {
            "operationId": "session",
            "summary": "当前账户与 CSRF 令牌（未登录时为 null）",
            "responses": {"200": _ok("Session", "当前会话")},
        }
    },
    "/api/issues/{job_id}": {
        "get": {
            "operationId": "uploadJob",
            "summary": "上传任务的进度与结果（editor）",
            "security": BEARER,
            "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _ok("Job", "进度"), "404": _err("没有这个任务"), **AUTH_ERRORS},
        }
    },
    "/api/jobs": {
        "get": {
            "operationId": "recentJobs",
            "summary": "最近的上传与校对任务，新的在前（editor 看自己的，admin 看全部，可用 user 筛选）",
            "security": BEARER,
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "user", "in": "query", "schema": {"type": "string"}, "description": "只对 admin 有效"},
            ],
            "responses": {
                "200": {
                    "description": "任务列表",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}
                                },
                            }
                        }
                    },
                },
                **AUTH_ERRORS,
            },
        }
    },
    "/api/feedback": {
        "post": {
            "operationId": "feedback",
            "summary": "对回答的 👍/👎 与意见",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedbackRequest"}}},
            },
            "responses": {
                "201": {
                    "description": "已保存",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"id": {"type": "integer"}, "rating": {"type": "string"}},
                            }
                        }
                    },
                },
                "400": _err("字段无效"),
                "403": _err("浏览器会话缺少 CSRF 令牌"),
            },
        }
    },
    "/api/admin/feedback": {
        "get": {
            "operationId": "adminFeedback",
            "summary": "反馈按问题汇总，最差的在前（admin）",
            "security": BEARER,
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                }
            ],
            "responses": {"200": {"description": "问题列表：question、up、down、score、entries"}, **AUTH_ERRORS},
        }
    },
    "/api/admin/audit": {
        "get": {
            "operationId": "adminAudit",
            "summary": "审计日志：谁在何时做了什么（admin）",
            "security": BEARER,
            "responses": {"200": {"description": "entries: at、actor、action、target、detail"}, **AUTH_ERRORS},
        }
    },
}

PATHS["/api/corrections"] = {
    "post": {
        "operationId": "correct",
        "summary": "校对一篇文章的标题、正文、日期或版次（editor）：原文件不动，原文保留，经同样的发布更新索引",
        "security": BEARER,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["date", "page", "article_id"],
                        "properties": {
                            "paper": {"type": "string", "description": "文章现在所在的版（与 date、page 一起）"},
                            "date": {"type": "string", "format": "date"},
                            "page": {"type": "integer"},
                            "article_id": {"type": "string"},
                            "title": {"type": "string", "description": "改正后的标题"},
                            "text": {"type": "string", "description": "改正后的正文"},
                            "new_date": {"type": "string", "format": "date", "description": "改正后的日期"},
                            "new_page": {"type": "integer", "description": "改正后的版次"},
                        },
                    }
                }
            },
        },
        "responses": {
            "200": _ok("Job", "已发布（含 correction 与 article：文章现在的样子）"),
            "400": _err("字段无效，或没有要改的内容"),
            "404": _err("这一版中没有这篇文章"),
            "409": _err("原始文件无法读取，或版面识别结果已变（not_correctable）"),
            **AUTH_ERRORS,
        },
    },
    "get": {
        "operationId": "corrections",
        "summary": "一版的校对（印在这一版的和改到这一版的），含原来的标题、正文、日期和版次",
        "parameters": [
            {"name": n, "in": "query", "required": n != "paper", "schema": {"type": "string"}}
            for n in ("date", "page", "paper")
        ],
        "responses": {
            "200": {"description": "corrections: id、article_id、paper、source、original、corrected、user、at"},
            "400": _err("参数无效"),
            "404": _err("没有这一版"),
        },
    },
}
PATHS["/api/corrections/{correction_id}"] = {
    "delete": {
        "operationId": "revertCorrection",
        "summary": "撤销一次校对（editor）：文章恢复为原文，经同样的发布更新索引",
        "security": BEARER,
        "parameters": [{"name": "correction_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": _ok("Job", "已发布（含 correction 与 article）"),
            "404": _err("没有这次校对"),
            **AUTH_ERRORS,
        },
    }
}

UPLOAD = {
    "post": {
        "operationId": "uploadIssue",
        "summary": "上传一期的版面文件（editor）：保存到档案、增量建索引、原子发布",
        "security": BEARER,
        "parameters": [
            {
                "name": "wait",
                "in": "query",
                "required": False,
                "schema": {"enum": ["1", "true"]},
                "description": "等任务完成后再回答（200），否则立即回答 202 和任务号",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "paper": {"type": "string"},
                            "date": {"type": "string", "format": "date"},
                            "page": {
                                "type": "array",
                                "items": {"type": "integer"},
                                "description": "每个文件一个版次；不给则按顺序 1、2、…",
                            },
                            "manifest": {
                                "type": "string",
                                "format": "binary",
                                "description": "manifest.csv：file,paper,date,page",
                            },
                        },
                    }
                }
            },
        },
        "responses": {
            "200": _ok("Job", "完成（?wait=1）"),
            "202": _ok("Job", "已接受，GET status_url 查询进度"),
            "400": _err("没有可用的文件、报纸名/日期/版次无效"),
            "413": _err("文件或请求超过大小限制"),
            **AUTH_ERRORS,
        },
    }
}


def extend_admin(doc: dict) -> dict:
    doc["components"]["schemas"].update(SCHEMAS)
    doc["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "qa token create 生成的令牌"},
        "session": {"type": "apiKey", "in": "cookie", "name": "qa_session"},
    }
    doc["paths"].update(PATHS)
    cit = doc["components"]["schemas"]["Citation"]
    cit["properties"] = {
        **cit["properties"],
        "corrected": {"type": "boolean", "description": "已校对（只在为真时出现）"},
    }
    doc["paths"]["/api/issues"] = {**doc["paths"].get("/api/issues", {}), **UPLOAD}
    return doc
