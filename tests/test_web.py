"""The web layer: every endpoint, every error case, security headers, the OpenAPI document.

Most tests run the Flask test client over a small fake service (a unit test of the web layer);
the ``real`` tests at the end run the lead's ``Service`` over an index of the seeds built with the
deterministic fake embedder.
"""

from __future__ import annotations

import json
import re
import threading
import time

import jsonschema
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qa.app import CSP, create_app
from qa.app.openapi import openapi_document
from qa.app.page import STATIC_DIR
from qa.config import Settings
from qa.errors import BadInput, IndexMissing
from qa.types import Answer, Citation, Filters, Hit

SEED_Q = "2025年聊城新增省级以上专精特新中小企业多少家？"


# --------------------------------------------------------------------------------------------
# the fake service


class FakeReader:
    version = "v000003"

    def issues(self):
        return [
            {
                "paper": "聊城日报",
                "date": "2026-04-01",
                "issue_no": None,
                "pages": [{"page": 1, "page_name": None, "articles": 3}],
            },
        ]

    def page(self, date, page, paper=None):
        if (date, page) != ("2026-04-01", 1) or paper not in (None, "聊城日报"):
            return None
        return {
            "paper": "聊城日报",
            "date": "2026-04-01",
            "page": 1,
            "page_name": None,
            "issue_no": None,
            "source": "seeds/000.txt",
            "text": "问需于企 精准滴灌\n正文。",
            "articles": [
                {
                    "article_id": "seeds/000.txt#a1",
                    "title": "问需于企 精准滴灌",
                    "pre_title": None,
                    "subtitle": None,
                    "byline": "■ 本报记者 王培源",
                    "body": "正文。",
                    "captions": [],
                    "refs": [],
                }
            ],
        }

    def counts(self):
        return {"papers": 1, "issues": 1, "pages": 1, "articles": 3, "chunks": 9}


class FakeService:
    def __init__(self):
        self.reader = FakeReader()
        self.calls: list[dict] = []
        self.reloads = 0
        self.raise_on_ask: Exception | None = None
        self.reload_error: Exception | None = None

    def ask(self, question, top_k=5, date_from=None, date_to=None, paper=None, page=None):
        self.calls.append(
            dict(question=question, top_k=top_k, date_from=date_from, date_to=date_to, paper=paper, page=page)
        )
        if self.raise_on_ask is not None:
            raise self.raise_on_ask
        cit = Citation(
            "聊城日报", "2026-04-01", None, 1, None, "问需于企 精准滴灌", "seeds/000.txt#a1", "seeds/000.txt"
        )
        hit = Hit(
            row=0, chunk_id="c0", score=0.03125, text="2025年，全市新增省级以上专精特新中小企业207家。", citation=cit
        )
        return Answer(
            question,
            "新增207家[1]。",
            True,
            Filters(date_from, date_to, paper, page),
            [hit],
            12.34,
            self.reader.version,
        )

    def maybe_reload(self):
        self.reloads += 1
        if self.reload_error is not None:
            raise self.reload_error
        return False

    def health(self):
        return {
            "status": "ok",
            "index_version": self.reader.version,
            "counts": self.reader.counts(),
            "embedder": "fake",
        }


def make_app(service=None, **kw):
    kw.setdefault("rate_limit", None)
    kw.setdefault("reload_interval_s", 3600)
    svc = service or FakeService()
    app = create_app(Settings(**kw), service=svc)
    return app, svc


@pytest.fixture
def fake():
    app, svc = make_app()
    return app.test_client(), svc


def assert_error(resp, status: int, code: str | None = None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert re.search(r"[\u4e00-\u9fff]", body["error"]["message"]), "message should be Chinese"
    if code:
        assert body["error"]["code"] == code
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    assert resp.headers["Content-Security-Policy"] == CSP
    return body["error"]


def post(client, body, **kw):
    return client.post("/api/ask", data=json.dumps(body), content_type="application/json", **kw)


# --------------------------------------------------------------------------------------------
# the page and static files


def test_page_served_with_security_headers(fake):
    client, _ = fake
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "报纸档案问答" in html and 'name="viewport"' in html
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # CSP-compatible: no inline scripts, no inline styles, nothing remote
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag
    assert not re.search(r"<script[^>]*>\s*[^<\s]", html)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", html)  # no inline event handlers


@pytest.mark.parametrize(
    "name,mime", [("app.js", "text/javascript"), ("style.css", "text/css"), ("favicon.svg", "image/svg+xml")]
)
def test_static_files(fake, name, mime):
    client, _ = fake
    r = client.get(f"/static/{name}")
    assert r.status_code == 200 and r.mimetype == mime
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    body = r.get_data(as_text=True)
    body = body.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in body and "https://" not in body  # nothing from outside the machine


@pytest.mark.parametrize("name", sorted(p.name for p in STATIC_DIR.glob("*.js")))
def test_page_js_never_uses_innerhtml(name):
    js = (STATIC_DIR / name).read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", js, flags=re.S)
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert bad not in code


def test_static_traversal_is_404_json(fake):
    client, _ = fake
    assert_error(client.get("/static/../app.py"), 404, "not_found")


# --------------------------------------------------------------------------------------------
# POST /api/ask — success


def test_ask_returns_answer_json(fake):
    client, svc = fake
    r = post(client, {"question": f"  {SEED_Q}  "})
    assert r.status_code == 200
    body = r.get_json()
    expected = svc.ask(SEED_Q).to_json()
    assert {k: body[k] for k in expected} == expected  # plus the chat fields (tests/test_chat_web.py)
    assert svc.calls[0] == dict(question=SEED_Q, top_k=5, date_from=None, date_to=None, paper=None, page=None)
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Security-Policy"] == CSP


def test_ask_passes_filters(fake):
    client, svc = fake
    r = post(
        client,
        {
            "question": "防汛",
            "top_k": 20,
            "date_from": "2025-07-01",
            "date_to": "2025-07-31",
            "paper": " 聊城日报 ",
            "page": 1,
        },
    )
    assert r.status_code == 200
    assert svc.calls[-1] == dict(
        question="防汛", top_k=20, date_from="2025-07-01", date_to="2025-07-31", paper="聊城日报", page=1
    )
    assert r.get_json()["filters"] == {
        "date_from": "2025-07-01",
        "date_to": "2025-07-31",
        "paper": "聊城日报",
        "page": 1,
    }


def test_ask_accepts_nulls_and_charset(fake):
    client, svc = fake
    body = {"question": "问", "top_k": None, "date_from": None, "date_to": None, "paper": "", "page": None}
    r = client.post("/api/ask", data=json.dumps(body), content_type="application/json; charset=utf-8")
    assert r.status_code == 200
    assert svc.calls[-1] == dict(question="问", top_k=5, date_from=None, date_to=None, paper=None, page=None)


def test_ask_question_at_the_configured_limit_ok(fake):
    client, _ = fake
    limit = client.get("/api/config").get_json()["max_question_chars"]
    assert post(client, {"question": "问" * limit + "   "}).status_code == 200


# --------------------------------------------------------------------------------------------
# POST /api/ask — errors


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_ask_non_json_is_415(fake, ctype):
    client, svc = fake
    kw = {"data": json.dumps({"question": "问"})}
    if ctype:
        kw["content_type"] = ctype
    assert_error(client.post("/api/ask", **kw), 415, "unsupported_media_type")
    assert not svc.calls


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"{'question': 1}",
        b"nul",
        b'{"question": NaN}',
        b"\xff\xfe{}",
        b"[" * 5000 + b"]" * 5000,
        b'{"question": "\\ud800"}',
        b'{"\\udfff": 1, "question": "q"}',
    ],
)
def test_ask_bad_json_is_400(fake, raw):
    client, _ = fake
    assert_error(client.post("/api/ask", data=raw, content_type="application/json"), 400, "bad_json")


@pytest.mark.parametrize("body", [[], ["question"], "问题", 3, None, True])
def test_ask_body_not_object(fake, body):
    client, _ = fake
    assert_error(post(client, body), 400, "bad_json")


@pytest.mark.parametrize(
    "body,word",
    [
        ({}, "question"),
        ({"question": ""}, "空"),
        ({"question": "   \n\t "}, "空"),
        ({"question": None}, "question"),
        ({"question": 42}, "question"),
        ({"question": ["问"]}, "question"),
    ],
)
def test_ask_bad_question(fake, body, word):
    client, svc = fake
    err = assert_error(post(client, body), 400, "bad_request")
    assert word in err["message"]
    assert not svc.calls


@pytest.mark.parametrize("top_k", [True, False, 0, 21, -1, 1.0, 5.5, "5", [5], {"n": 5}, 10**30])
def test_ask_bad_top_k(fake, top_k):
    client, _ = fake
    err = assert_error(post(client, {"question": "问", "top_k": top_k}), 400, "bad_request")
    assert "top_k" in err["message"]


@pytest.mark.parametrize("top_k", [1, 20])
def test_ask_top_k_bounds_ok(fake, top_k):
    client, svc = fake
    assert post(client, {"question": "问", "top_k": top_k}).status_code == 200
    assert svc.calls[-1]["top_k"] == top_k


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize(
    "value",
    [
        "2026-4-1",
        "2026-02-30",
        "2026-13-01",
        "20260401",
        "2026-04-01T00:00",
        "2026-04-01\n",
        "２０２６-04-01",
        "٢٠٢٦-04-01",
        "",
        "昨天",
        20260401,
        True,
        ["2026-04-01"],
    ],
)
def test_ask_bad_dates(fake, field, value):
    client, _ = fake
    err = assert_error(post(client, {"question": "问", field: value}), 400, "bad_request")
    assert field in err["message"]


def test_ask_reversed_dates(fake):
    client, svc = fake
    err = assert_error(
        post(client, {"question": "问", "date_from": "2026-04-02", "date_to": "2026-04-01"}), 400, "bad_request"
    )
    assert "date_from" in err["message"]
    assert not svc.calls


@pytest.mark.parametrize("page", [0, -1, True, "1", 1.5, 1000, [1]])
def test_ask_bad_page(fake, page):
    client, _ = fake
    err = assert_error(post(client, {"question": "问", "page": page}), 400, "bad_request")
    assert "page" in err["message"]


@pytest.mark.parametrize("paper", ["报" * 51, 123, ["聊城日报"], {"name": "x"}])
def test_ask_bad_paper(fake, paper):
    client, _ = fake
    err = assert_error(post(client, {"question": "问", "paper": paper}), 400, "bad_request")
    assert "paper" in err["message"]


def test_ask_unknown_field_is_named(fake):
    client, svc = fake
    err = assert_error(post(client, {"question": "问", "topk": 3}), 400, "bad_request")
    assert "topk" in err["message"] and "未知字段" in err["message"]
    assert not svc.calls


def test_ask_body_over_64kb_is_413(fake):
    client, svc = fake
    r = post(client, {"question": "问", "pad": "x" * (65 * 1024)})
    assert_error(r, 413, "payload_too_large")
    assert not svc.calls


def test_ask_qa_errors_map_to_their_status(fake):
    client, svc = fake
    svc.raise_on_ask = BadInput("起始日期晚于结束日期。")
    err = assert_error(post(client, {"question": "问"}), 400, "bad_request")
    assert err["message"] == "起始日期晚于结束日期。"
    svc.raise_on_ask = IndexMissing("索引不存在。")
    assert_error(post(client, {"question": "问"}), 503, "index_missing")


def test_unexpected_error_is_500_without_leak(fake, caplog):
    client, svc = fake
    svc.raise_on_ask = RuntimeError("secret /srv/qa/index path and internals")
    with caplog.at_level("ERROR", logger="qa.app"):
        r = post(client, {"question": "问"})
    err = assert_error(r, 500, "internal_error")
    assert "secret" not in r.get_data(as_text=True)
    assert "服务器内部错误" in err["message"]
    assert any("secret" in (rec.exc_text or "") or rec.exc_info for rec in caplog.records)  # logged server-side


def test_a_failure_outside_the_program_says_which_not_a_bare_500(fake):
    """A full disk or a Milvus server refusing a request is named, as the CLI names it."""
    from pymilvus.exceptions import MilvusException

    client, svc = fake
    svc.raise_on_ask = MilvusException(code=1100, message="collection not loaded")
    err = assert_error(post(client, {"question": "问"}), 502, "backend_refused")
    assert err["message"] == "Milvus 服务拒绝了请求（collection not loaded）。已发布的索引版本没有改动。"
    svc.raise_on_ask = OSError(28, "No space left on device")
    err = assert_error(post(client, {"question": "问"}), 507, "storage_error")
    assert err["message"].startswith("磁盘空间已满")


def test_unexpected_error_also_without_leak_in_testing_mode():
    app, svc = make_app()
    app.testing = True
    svc.raise_on_ask = ZeroDivisionError("boom")
    r = post(app.test_client(), {"question": "问"})
    assert_error(r, 500, "internal_error")
    assert "boom" not in r.get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# 404 / 405 / 429


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/api/ask/extra", "/static/missing.js"])
def test_404_is_json(fake, path):
    client, _ = fake
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/ask"),
        ("put", "/api/ask"),
        ("delete", "/api/ask"),
        ("post", "/api/health"),
        ("delete", "/api/issues"),
        ("post", "/"),
    ],
)
def test_405_is_json(fake, method, path):
    client, _ = fake
    r = getattr(client, method)(path)
    err = assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow")
    assert "请使用" in err["message"]


def test_rate_limit_429():
    app, svc = make_app(rate_limit="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert post(client, {"question": "问"}).status_code == 200
    r = post(client, {"question": "问"})
    err = assert_error(r, 429, "rate_limited")
    assert "稍后" in err["message"]
    assert r.headers.get("Retry-After")
    assert len(svc.calls) == 3
    # health stays reachable (load balancers poll it); other API reads share the limit
    for _ in range(5):
        assert client.get("/api/health").status_code == 200
    assert_error(client.get("/api/issues"), 429, "rate_limited")
    # another client address has its own budget
    r2 = post(client, {"question": "问"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r2.status_code == 200


def test_rate_limit_disabled():
    app, _ = make_app(rate_limit=None)
    client = app.test_client()
    assert all(post(client, {"question": "问"}).status_code == 200 for _ in range(80))


# --------------------------------------------------------------------------------------------
# health, issues, pages


def test_config_limits_are_the_ones_ask_enforces(fake):
    client, svc = fake
    r = client.get("/api/config")
    assert r.status_code == 200 and r.headers["Content-Security-Policy"] == CSP
    cfg = r.get_json()
    validate(cfg, "Config")
    n = cfg["max_question_chars"]
    err = assert_error(post(client, {"question": "问" * (n + 1)}), 400, "bad_request")
    assert err["message"].startswith(cfg["messages"]["question_too_long"]) and str(n + 1) in err["message"]
    top = cfg["top_k"]
    assert post(client, {"question": "问"}).status_code == 200 and svc.calls[-1]["top_k"] == top["default"]
    assert post(client, {"question": "问", "top_k": top["max"]}).status_code == 200
    assert_error(post(client, {"question": "问", "top_k": top["max"] + 1}), 400)
    assert_error(post(client, {"question": "问", "top_k": top["min"] - 1}), 400)
    assert post(client, {"question": "问", "page": cfg["max_page"]}).status_code == 200
    assert_error(post(client, {"question": "问", "page": cfg["max_page"] + 1}), 400)
    assert_error(post(client, {"question": "问", "paper": "报" * (cfg["max_paper_chars"] + 1)}), 400)
    assert all(re.search(r"[\u4e00-\u9fff]", m) for m in cfg["messages"].values())


def test_config_is_not_rate_limited():
    app, _ = make_app(rate_limit="2 per minute")
    client = app.test_client()
    assert all(client.get("/api/config").status_code == 200 for _ in range(5))


def test_page_files_hold_no_copy_of_server_facts(fake):
    """Limits and server sentences reach the page only through /api/config and the answer JSON."""
    from qa.answer.extract import NOT_FOUND

    client, _ = fake
    cfg = client.get("/api/config").get_json()
    files = ["index.html", *(p.name for p in STATIC_DIR.glob("*.js"))]  # every module of the page
    page = "".join((STATIC_DIR / name).read_text(encoding="utf-8") for name in files)
    for sentence in [*cfg["messages"].values(), NOT_FOUND, NOT_FOUND.rstrip("。")]:
        assert sentence not in page, sentence
    for number in (cfg["max_question_chars"], cfg["max_page"]):
        assert not re.search(rf"(?<![0-9]){number}(?![0-9])", page), number


class RefusingService(FakeService):
    """Answers like the real service does when it refuses: found false, with or without a kind."""

    refusal = None
    text = "档案中没有找到相关报道。"

    def ask(self, question, **kw):
        answer = super().ask(question, **kw)
        answer.answer, answer.found, answer.passages, answer.refusal = self.text, False, [], self.refusal
        return answer


@pytest.mark.parametrize(
    "kind,text,expected",
    [
        (None, "档案中没有找到相关报道。", "not_found"),
        ("out_of_archive", "档案中没有2010年的报纸。", "out_of_archive"),
    ],
)
def test_refusal_kind_in_answer_json(kind, text, expected):
    svc = RefusingService()
    svc.refusal, svc.text = kind, text
    app, _ = make_app(service=svc)
    body = post(app.test_client(), {"question": "2010年的报纸讲了什么？"}).get_json()
    validate(body, "Answer")
    assert (body["found"], body["refusal"], body["answer"]) == (False, expected, text)


def test_found_answer_has_no_refusal(fake):
    client, _ = fake
    body = post(client, {"question": "问"}).get_json()
    assert body["found"] is True and body["refusal"] is None


def test_missing_page_files_warn_at_start_and_answer_json(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="qa.app"):
        app = create_app(Settings(rate_limit=None, reload_interval_s=3600), service=FakeService(), static_dir=tmp_path)
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "index.html" in warning and "app.js" in warning and str(tmp_path) in warning
    client = app.test_client()
    err = assert_error(client.get("/"), 503, "page_missing")
    assert "重新安装" in err["message"]
    assert_error(client.get("/static/app.js"), 404, "not_found")
    assert client.get("/api/health").status_code == 200  # the API keeps working
    assert post(client, {"question": "问"}).status_code == 200


def test_complete_page_files_no_warning(caplog):
    with caplog.at_level("WARNING", logger="qa.app"):
        make_app()
    assert not [r for r in caplog.records if "missing" in r.getMessage()]


def test_health(fake):
    client, _ = fake
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.get_json() == {
        "status": "ok",
        "index_version": "v000003",
        "counts": {"papers": 1, "issues": 1, "pages": 1, "articles": 3, "chunks": 9},
        "embedder": "fake",
    }


def test_issues(fake):
    client, _ = fake
    body = client.get("/api/issues").get_json()
    assert body["index_version"] == "v000003"
    assert body["issues"][0]["date"] == "2026-04-01"
    assert body["issues"][0]["pages"][0]["page"] == 1


def test_page(fake):
    client, _ = fake
    r = client.get("/api/pages/2026-04-01/1")
    assert r.status_code == 200
    body = r.get_json()
    assert body["articles"][0]["title"] == "问需于企 精准滴灌" and body["index_version"] == "v000003"
    assert client.get("/api/pages/2026-04-01/1?paper=聊城日报").status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/pages/2026-04-02/1", "/api/pages/2026-04-01/2", "/api/pages/2026-04-01/1?paper=人民日报"]
)
def test_page_absent_is_404_json(fake, path):
    client, _ = fake
    err = assert_error(client.get(path), 404, "not_found")
    assert "没有" in err["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/pages/2026-4-1/1",
        "/api/pages/2026-02-30/1",
        "/api/pages/2026-04-01/abc",
        "/api/pages/2026-04-01/0",
        "/api/pages/2026-04-01/-1",
        "/api/pages/2026-04-01/1000",
        "/api/pages/2026-04-01/1?paper=" + "报" * 51,
    ],
)
def test_page_bad_params_400(fake, path):
    client, _ = fake
    assert_error(client.get(path), 400, "bad_request")


# --------------------------------------------------------------------------------------------
# no index yet; hot reload hook


def test_no_index_yet_answers_503(tmp_path):
    app = create_app(Settings(index=tmp_path / "empty", rate_limit=None, reload_interval_s=3600))
    client = app.test_client()
    r = client.get("/api/health")
    assert r.status_code == 503 and r.get_json()["status"] == "no_index"
    assert_error(post(client, {"question": "问"}), 503, "index_missing")
    assert_error(client.get("/api/issues"), 503, "index_missing")
    assert client.get("/").status_code == 200  # the page still loads


def test_reload_is_triggered_at_most_every_interval_and_off_the_request_path():
    app, svc = make_app(reload_interval_s=0.2)
    client = app.test_client()
    reloader = app.extensions["qa_reloader"]
    deadline = time.monotonic() + 1.0
    n = 0
    while time.monotonic() < deadline:
        assert client.get("/api/health").status_code == 200
        n += 1
    time.sleep(0.1)
    assert n >= 5
    assert 2 <= svc.reloads <= 7  # ~every 0.2 s, not per request
    assert reloader.errors == 0


def test_reload_failure_keeps_serving(caplog):
    app, svc = make_app(reload_interval_s=0)
    svc.reload_error = OSError("half-written version")
    client = app.test_client()
    for _ in range(5):
        assert post(client, {"question": "问"}).status_code == 200
        time.sleep(0.02)
    assert app.extensions["qa_reloader"].errors >= 1


def test_reload_slow_does_not_stall_requests():
    app, svc = make_app(reload_interval_s=0)
    gate = threading.Event()

    def slow_reload():
        svc.reloads += 1
        gate.wait(5)
        return False

    svc.maybe_reload = slow_reload
    client = app.test_client()
    t0 = time.monotonic()
    for _ in range(10):
        assert client.get("/api/health").status_code == 200
    assert time.monotonic() - t0 < 2
    assert svc.reloads == 1  # one check at a time
    gate.set()


# --------------------------------------------------------------------------------------------
# OpenAPI document kept true


def _flask_api_routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api", "/v1")):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for m in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((path, m.lower()))
    return out


def test_openapi_matches_routes(fake):
    client, _ = fake
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    app, _ = make_app()
    assert documented == _flask_api_routes(app)
    # every path parameter is declared
    for p, ops in doc["paths"].items():
        for op in ops.values():
            declared = {x["name"] for x in op.get("parameters", []) if x["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", p))
            assert op["responses"]


def _schema(name: str) -> dict:
    doc = openapi_document()
    return {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}


def validate(instance, name: str):
    jsonschema.validate(instance, _schema(name))


def test_openapi_responses_validate_fake(fake):
    client, _ = fake
    validate(post(client, {"question": "问"}).get_json(), "Answer")
    validate(client.get("/api/health").get_json(), "Health")
    validate(client.get("/api/issues").get_json(), "Issues")
    validate(client.get("/api/pages/2026-04-01/1").get_json(), "Page")
    validate(client.get("/api/pages/2026-04-02/1").get_json(), "Error")
    validate(post(client, {"question": ""}).get_json(), "Error")
    validate({"question": "问", "top_k": 3, "date_from": "2026-04-01"}, "AskRequest")


def test_openapi_ask_request_schema_agrees_with_validation(fake):
    """What the schema rejects the endpoint rejects, for a sample of bodies."""
    client, _ = fake
    samples = [
        {"question": "问"},
        {"question": "问", "top_k": 0},
        {"question": "问", "page": 1000},
        {"question": "问", "x": 1},
        {"question": "问", "date_from": "2026-1-1"},
        {"question": "问", "paper": None},
    ]
    for body in samples:
        ok_schema = jsonschema.Draft202012Validator(_schema("AskRequest")).is_valid(body)
        assert (post(client, body).status_code == 200) == ok_schema, body


# --------------------------------------------------------------------------------------------
# generated input: never a 5xx, always the answer or the error shape

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
field_values = {
    "question": st.text(max_size=600) | json_values,
    "top_k": st.integers(-5, 30) | json_values,
    "date_from": st.dates().map(str) | st.text(max_size=12) | json_values,
    "date_to": st.dates().map(str) | st.text(max_size=12) | json_values,
    "paper": st.text(max_size=60) | json_values,
    "page": st.integers(-3, 1200) | json_values,
}
ask_bodies = (
    st.fixed_dictionaries({}, optional={k: v for k, v in field_values.items()})
    | st.dictionaries(st.sampled_from(list(field_values) + ["extra", "问题", ""]), json_values, max_size=6)
    | json_values
)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ask_bodies)
def test_generated_bodies_never_5xx(body):
    client = _HYPO_APP.test_client()
    r = post(client, body)
    assert r.status_code < 500, r.get_data(as_text=True)
    data = r.get_json()
    if r.status_code == 200:
        validate(data, "Answer")
    else:
        assert r.status_code in (400, 413)
        validate(data, "Error")


@hsettings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=200), ctype=st.sampled_from(["application/json", "text/plain", "application/foo+json"]))
def test_generated_raw_bytes_never_5xx(raw, ctype):
    r = _HYPO_APP.test_client().post("/api/ask", data=raw, content_type=ctype)
    assert r.status_code in (200, 400, 415)
    validate(r.get_json(), "Answer" if r.status_code == 200 else "Error")


_HYPO_APP, _ = make_app()


# --------------------------------------------------------------------------------------------
# the real Service over an index of the seeds (fake embedder)


@pytest.fixture(scope="module")
def real_index(tmp_path_factory):
    from qa.store import build_index

    from fakes import SEEDS, FakeEmbedder

    index = tmp_path_factory.mktemp("web-seeds-index")
    build_index([str(SEEDS)], index, embedder=FakeEmbedder(), progress=False)
    return index


@pytest.fixture(scope="module")
def real_client(real_index):
    from qa.service import Service

    from fakes import FakeEmbedder

    svc = Service(real_index, embedder=FakeEmbedder())
    app = create_app(Settings(index=real_index, rate_limit=None), service=svc)
    return app.test_client()


def test_real_ask_cites_seed_page(real_client):
    r = post(real_client, {"question": SEED_Q})
    assert r.status_code == 200
    body = r.get_json()
    validate(body, "Answer")
    assert body["found"] is True
    c = body["passages"][0]["citation"]
    assert (c["paper"], c["date"], c["page"]) == ("聊城日报", "2026-04-01", 1)
    assert "[1]" in body["answer"]
    assert body["index_version"] == real_client.get("/api/health").get_json()["index_version"]


def test_real_ask_filters_and_refusal(real_client):
    body = post(real_client, {"question": SEED_Q, "date_from": "2025-07-01", "date_to": "2025-07-31"}).get_json()
    assert all(p["citation"]["date"].startswith("2025-07") for p in body["passages"])
    body = post(real_client, {"question": "2010年的报纸讲了什么？"}).get_json()
    assert body["found"] is False and "2010年" in body["answer"] and body["refusal"] in ("not_found", "out_of_archive")
    assert_error(post(real_client, {"question": "问", "date_from": "2026-04-02", "date_to": "2026-04-01"}), 400)


def test_real_health_issues_pages(real_client):
    h = real_client.get("/api/health").get_json()
    validate(h, "Health")
    assert h["counts"]["issues"] == 2
    issues = real_client.get("/api/issues").get_json()
    validate(issues, "Issues")
    assert [i["date"] for i in issues["issues"]] == ["2025-07-29", "2026-04-01"]
    page = real_client.get("/api/pages/2026-04-01/1").get_json()
    validate(page, "Page")
    assert page["paper"] == "聊城日报" and page["articles"]
    assert any("问需于企" in (a["title"] or "") for a in page["articles"])
    assert_error(real_client.get("/api/pages/2026-04-02/1"), 404, "not_found")
    assert_error(real_client.get("/api/pages/2026-04-01/9?paper=聊城日报"), 404, "not_found")


# --------------------------------------------------------------------------------------------
# qa serve: access log middleware, rate limit switch


def test_access_log_middleware(caplog):
    from werkzeug.test import Client

    from qa.app.serve import AccessLog

    app, _ = make_app()
    client = Client(AccessLog(app))
    with caplog.at_level("INFO", logger="qa.access"):
        resp = client.post("/api/ask", data=json.dumps({"question": "问"}), content_type="application/json")
        assert resp.status_code == 200 and resp.get_data()
        client.get("/nope?x=1").get_data()
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.access"]
    assert any('"POST /api/ask' in line and " 200 " in line and line.endswith("ms") for line in lines), lines
    assert any('"GET /nope?x=1' in line and " 404 " in line for line in lines), lines


@pytest.mark.parametrize("value", [None, "", "off", "none", "0"])
def test_rate_limit_switch_off_values(value):
    app, _ = make_app(rate_limit=value)
    assert app.extensions["qa_limiter"] is None


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.fixed_dictionaries(
        {"question": st.text(min_size=1, max_size=80)},
        optional={k: v for k, v in field_values.items() if k != "question"},
    )
)
def test_generated_bodies_real_service_never_5xx(real_client, body):
    r = post(real_client, body)
    assert r.status_code in (200, 400), r.get_data(as_text=True)
    validate(r.get_json(), "Answer" if r.status_code == 200 else "Error")


def test_as_of_decides_last_year_over_http_and_a_bad_one_is_named(real_client):
    q = "去年7月习近平对什么工作作出重要指示？"
    body = post(real_client, {"question": q, "as_of": "2026-03-01"}).get_json()
    assert body["filters"]["date_from"] == "2025-07-01"
    later = post(real_client, {"question": q, "as_of": "2030-03-01"}).get_json()
    assert (later["found"], later["refusal"]) == (False, "out_of_archive")
    bad = post(real_client, {"question": q, "as_of": "2026-3-1"})
    assert_error(bad, 400, "bad_request")
    assert "as_of" in bad.get_json()["error"]["message"]


def test_every_error_code_is_in_the_openapi_document():
    """A client can rely on the document: each named exception's code and each HTTP-level code is listed."""
    from qa import errors
    from qa.app.openapi import openapi_document
    from qa.app.responses import FALLBACK_ERROR, HTTP_ERRORS

    listed = set(
        openapi_document()["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    )
    named = {c.code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.QAError)}
    assert named | {code for code, _ in HTTP_ERRORS.values()} | {FALLBACK_ERROR[0]} <= listed
    assert {"conversation_not_found", "model_not_found", "index_locked"} <= listed  # once missing from the text
