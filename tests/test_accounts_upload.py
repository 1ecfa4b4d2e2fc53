"""Accounts, roles, CSRF and ``POST /api/issues`` on the real Flask app over a real index (fake
embedder: the model is not what is tested here), plus the ``qa user`` / ``qa token`` commands."""

from __future__ import annotations

import io
import json
import time

import pytest
from click.testing import CliRunner

from qa.config import Settings

from fakes import SEEDS, FakeEmbedder

NEW_PAGE = (
    "东阿阿胶文化旅游节开幕\n\n■ 本报记者 李四\n\n4月1日，第十届东阿阿胶文化旅游节在东阿县阿胶城开幕，"
    "吸引游客三万余人。东阿阿胶文化旅游节以“阿胶之乡 养生东阿”为主题，展示阿胶传统制作技艺。\n"
)
SECOND_PAGE = (
    "运河古城灯会点亮夜空\n\n本报讯 元宵节当晚，聊城运河古城灯会开幕，两万多盏花灯沿运河两岸排开，"
    "市民游客赏灯猜谜。灯会将持续到二月底。\n"
)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from qa.admin.accounts import Accounts
    from qa.app.app import create_app
    from qa.service import Service
    from qa.store import build_index

    tmp = tmp_path_factory.mktemp("site")
    index = tmp / "index"
    build_index([str(SEEDS)], index, embedder=FakeEmbedder(), progress=False)
    app = create_app(
        Settings(index=index, data_dir=tmp / "data", rate_limit=None, reload_interval_s=3600),
        service=Service(index, embedder=FakeEmbedder()),
    )
    accounts: Accounts = app.extensions["qa_accounts"]
    tokens = {}
    for name, role in (("ed", "editor"), ("rd", "reader"), ("boss", "admin")):
        accounts.add_user(name, role, PASSWORD)
        tokens[role] = accounts.create_token(name)
    return app, tokens, tmp


def _files(*items):
    return [(io.BytesIO(data), name) for name, data in items]


def _upload(client, token=None, files=(), wait=True, headers=None, **form):
    data = {"paper": "聊城日报", "date": "2026-04-02", **form, "files": _files(*files)}
    h = {"Authorization": f"Bearer {token}"} if token else {}
    h.update(headers or {})
    return client.post(
        "/api/issues" + ("?wait=1" if wait else ""), data=data, headers=h, content_type="multipart/form-data"
    )


def _ask(client, question):
    r = client.post("/api/ask", json={"question": question, "top_k": 3})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_upload_needs_an_editor(site):
    app, tokens, _ = site
    c = app.test_client()
    page = [("a.txt", NEW_PAGE.encode())]
    r = _upload(c, None, page)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    r = _upload(c, "qa_not-a-token", page)
    assert r.status_code == 401
    r = _upload(c, tokens["reader"], page)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert not list((site[2] / "data" / "archive").rglob("*.txt"))  # nothing was written


def test_editor_upload_becomes_answerable_bad_file_refused(site):
    app, tokens, tmp = site
    c = app.test_client()
    before = _ask(c, "东阿阿胶文化旅游节在哪里开幕？")
    assert not any(p["citation"]["date"] == "2026-04-02" for p in before["passages"])
    r = _upload(
        c,
        tokens["editor"],
        [
            ("../../etc/passwd.txt", NEW_PAGE.encode()),
            ("evil.exe", b"MZ\x90\x00"),
            ("scan.pdf", b"not a pdf at all"),
            ("x.txt", SECOND_PAGE.encode()),
        ],
        page=["1", "2", "3", "4"],
    )
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["stage"] == "published" and body["done"] and body["published"]
    assert {p["page"]: p["articles"] for p in body["pages"]} == {1: 1, 4: 1}
    reasons = {s["file"]: s["reason"] for s in body["skipped"]}
    assert set(reasons) == {"evil.exe", "scan.pdf"}
    assert "不支持的文件类型" in reasons["evil.exe"] and "不是 .pdf 格式" in reasons["scan.pdf"]
    # client file names are ignored: the pages are ARCHIVE/<paper>/<date>/<NN>.<ext>
    saved = sorted(
        p.relative_to(tmp / "data" / "archive").as_posix() for p in (tmp / "data" / "archive").rglob("*") if p.is_file()
    )
    assert saved == ["聊城日报/2026-04-02/01.txt", "聊城日报/2026-04-02/04.txt"]
    assert not (tmp / "etc").exists()
    after = _ask(c, "东阿阿胶文化旅游节在哪里开幕？")
    assert after["passages"][0]["citation"]["date"] == "2026-04-02"
    assert after["index_version"] == body["version"]
    entries = app.extensions["qa_accounts"].audit_log()
    assert any(e["actor"] == "ed" and e["action"] == "issue.upload" for e in entries)


def test_upload_progress_job(site):
    app, tokens, _ = site
    c = app.test_client()
    r = _upload(c, tokens["admin"], [("p.txt", SECOND_PAGE.encode() + "\n补充一句。".encode())], wait=False, page=["5"])
    assert r.status_code == 202
    job = r.get_json()["job"]
    deadline = time.monotonic() + 60
    while True:
        s = c.get(f"/api/issues/{job}", headers={"Authorization": f"Bearer {tokens['editor']}"}).get_json()
        assert s["stage"] in ("queued", "reading", "ocr", "embedding", "published", "unchanged")
        if s["done"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # the whole issue folder is read again (pages 1 and 4 from the earlier upload: unchanged, not re-embedded)
    assert s["stage"] == "published" and s["pages_read"] == s["pages_total"] == 3
    assert sorted(p["page"] for p in s["pages"]) == [1, 4, 5]
    assert c.get(f"/api/issues/{job}").status_code == 401


def test_upload_rejections(site):
    app, tokens, _ = site
    c = app.test_client()
    ed = tokens["editor"]
    r = _upload(c, ed, [("a.exe", b"x")])
    assert r.status_code == 400 and "不支持的文件类型" in r.get_json()["error"]["message"]
    for paper in ("../x", "a/b", ".hidden", "_jsonl", ""):
        r = _upload(c, ed, [("a.txt", NEW_PAGE.encode())], paper=paper)
        assert r.status_code == 400, paper
    r = _upload(c, ed, [("a.txt", NEW_PAGE.encode())], date="2026-02-30")
    assert r.status_code == 400 and "date" in r.get_json()["error"]["message"]
    settings = app.config["QA_SETTINGS"]
    big = b"a" * (settings.upload_max_file + 1)
    r = _upload(c, ed, [("big.txt", big)])
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "payload_too_large"
    old = settings.upload_max_total
    settings.upload_max_total = 1000
    try:
        r = _upload(c, ed, [("a.txt", NEW_PAGE.encode() * 20)])
        assert r.status_code == 413 and "一次最多" in r.get_json()["error"]["message"]
    finally:
        settings.upload_max_total = old


def test_manifest_upload(site):
    app, tokens, tmp = site
    c = app.test_client()
    manifest = "file,paper,date,page\n../../x.txt,东昌时报,2026-04-03,2\n".encode()
    data = {"files": _files(("x.txt", NEW_PAGE.encode())), "manifest": (io.BytesIO(manifest), "manifest.csv")}
    r = c.post(
        "/api/issues?wait=1",
        data=data,
        headers={"Authorization": f"Bearer {tokens['editor']}"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_json()
    assert (tmp / "data" / "archive" / "东昌时报" / "2026-04-03" / "02.txt").is_file()


def test_browser_session_csrf(site):
    app, tokens, _ = site
    c = app.test_client()
    assert c.post("/api/login", json={"name": "ed", "password": "wrong-password"}).status_code == 401
    r = c.post("/api/login", json={"name": "ed", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    csrf = r.get_json()["csrf_token"]
    page = [("a.txt", NEW_PAGE.encode())]
    r = _upload(c, None, page, date="2026-04-05")  # the cookie alone: a forged cross-site form
    assert r.status_code == 403 and "CSRF" in r.get_json()["error"]["message"]
    r = _upload(c, None, page, date="2026-04-05", headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = _upload(c, None, page, date="2026-04-05", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.get_json()
    assert c.get("/api/session").get_json() == {"user": "ed", "role": "editor", "csrf_token": csrf}
    assert c.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert _upload(c, None, page, date="2026-04-05", headers={"X-CSRF-Token": csrf}).status_code == 401
    https = app.test_client().post(
        "/api/login", json={"name": "ed", "password": PASSWORD}, headers={"X-Forwarded-Proto": "https"}
    )
    assert "Secure" in https.headers["Set-Cookie"]


def test_feedback_export_and_admin_view(site):
    app, tokens, tmp = site
    c = app.test_client()
    ans = _ask(c, "东阿阿胶文化旅游节在哪里开幕？")
    cited = [p["citation"] for p in ans["passages"]]
    for rating in ("down", "down", "up"):
        r = c.post(
            "/api/feedback",
            json={
                "rating": rating,
                "comment": "答非所问" if rating == "down" else "",
                "question": "东阿阿胶文化旅游节在哪里开幕？",
                "answer": ans["answer"],
                "passages": cited,
                "index_version": ans["index_version"],
            },
        )
        assert r.status_code == 201, r.get_json()
    c.post("/api/feedback", json={"rating": "up", "question": "另一个问题", "answer": "好"})
    assert c.post("/api/feedback", json={"rating": "meh", "question": "x"}).status_code == 400
    assert c.get("/api/admin/feedback").status_code == 401
    assert c.get("/api/admin/feedback", headers={"Authorization": f"Bearer {tokens['editor']}"}).status_code == 403
    r = c.get("/api/admin/feedback", headers={"Authorization": f"Bearer {tokens['admin']}"})
    worst = r.get_json()["questions"]
    assert (
        worst[0]["question"] == "东阿阿胶文化旅游节在哪里开幕？" and worst[0]["down"] == 2 and worst[0]["score"] == -1
    )
    assert worst[0]["entries"][0]["passages"] == cited
    out = CliRunner().invoke(
        __import__("qa.cli", fromlist=["cli"]).cli, ["feedback", "export", "--csv", "--data-dir", str(tmp / "data")]
    )
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("id,at,user,rating,comment,question")
    assert sum("答非所问" in line for line in lines) == 2 and ans["index_version"] in out.output


def test_read_requires_login_setting(tmp_path):
    from qa.admin.accounts import Accounts
    from qa.app.app import create_app
    from qa.service import Service
    from qa.store import build_index

    index = tmp_path / "index"
    build_index([str(SEEDS)], index, embedder=FakeEmbedder(), progress=False)
    app = create_app(
        Settings(index=index, data_dir=tmp_path / "d", rate_limit=None, read_requires_login=True),
        service=Service(index, embedder=FakeEmbedder()),
    )
    token = Accounts(tmp_path / "d").add_user("r", "reader", PASSWORD) and Accounts(tmp_path / "d").create_token("r")
    c = app.test_client()
    assert c.post("/api/ask", json={"question": "防汛"}).status_code == 401
    assert c.get("/api/health").status_code == 200  # load balancers still probe
    assert c.get("/upload").status_code == 200  # where a reader logs in
    assert c.post("/api/login", json={"name": "r", "password": PASSWORD}).status_code == 200
    assert c.post("/api/ask", json={"question": "防汛"}).status_code == 200  # the session cookie now reads
    assert (
        c.post("/api/ask", json={"question": "防汛"}, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def test_cli_user_and_token(tmp_path):
    from qa.admin.accounts import Accounts
    from qa.cli import cli

    runner = CliRunner()
    data = str(tmp_path / "data")
    r = runner.invoke(cli, ["user", "add", "王编辑", "--role", "editor", "--data-dir", data], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["user", "add", "王编辑", "--role", "editor", "--data-dir", data], input=PASSWORD + "\n")
    assert r.exit_code == 1 and "已存在" in r.output
    r = runner.invoke(cli, ["user", "add", "x", "--role", "editor", "--data-dir", data], input="short\n")
    assert r.exit_code == 1 and "密码太短" in r.output
    r = runner.invoke(cli, ["token", "create", "王编辑", "--data-dir", data])
    token = r.output.strip()
    assert r.exit_code == 0 and token.startswith("qa_")
    accounts = Accounts(tmp_path / "data")
    assert accounts.token_user(token).role == "editor"
    assert accounts.check_password("王编辑", PASSWORD) and not accounts.check_password("王编辑", "nope-nope")
    raw = (tmp_path / "data" / "qa.sqlite3").read_bytes()
    assert token.encode() not in raw and PASSWORD.encode() not in raw  # only hashes are stored
    assert b"$argon2id$" in raw


def test_serve_warns_when_exposed_without_accounts(tmp_path):
    from qa.app.admin_api import exposed_without_accounts
    from qa.app.app import create_app

    app = create_app(Settings(index=tmp_path / "none", host="0.0.0.0", data_dir=tmp_path / "d", rate_limit=None))
    assert "警告" in exposed_without_accounts(app) and "qa user add" in exposed_without_accounts(app)
    local = create_app(Settings(index=tmp_path / "none", data_dir=tmp_path / "d", rate_limit=None))
    assert exposed_without_accounts(local) is None


def test_replaced_page_keeps_every_old_file(site):
    app, tokens, tmp = site
    c = app.test_client()
    for n in (1, 2):
        text = f"运河文化节第{n}稿\n\n本报讯 第{n}稿正文：运河文化节在古城开幕，游客如织。\n"
        r = _upload(c, tokens["editor"], [("x.txt", text.encode())], date="2026-04-09")
        assert r.status_code == 200 and r.get_json()["published"], r.get_json()
    kept = sorted((tmp / "data" / "replaced" / "聊城日报" / "2026-04-09").iterdir())
    assert len(kept) == 1 and "第1稿" in kept[0].read_text(encoding="utf-8")
    text = "运河文化节第3稿\n\n本报讯 第3稿正文。\n"
    assert _upload(c, tokens["editor"], [("x.txt", text.encode())], date="2026-04-09").status_code == 200
    assert len(list((tmp / "data" / "replaced" / "聊城日报" / "2026-04-09").iterdir())) == 2
    live = (tmp / "data" / "archive" / "聊城日报" / "2026-04-09" / "01.txt").read_text(encoding="utf-8")
    assert "第3稿" in live


def test_correction_changes_the_answer_and_keeps_the_original(site):
    app, tokens, tmp = site
    c = app.test_client()
    page = (
        "黄河大桥通车\n\n本报讯 聊城黄河大桥今日正式通车，全长八千米，总投资十二亿元，结束了两岸群众摆渡过河的历史。\n"
    )
    r = _upload(c, tokens["editor"], [("b.txt", page.encode())], date="2026-04-20")
    assert r.status_code == 200, r.get_json()
    q = "聊城黄河大桥全长多少米？"
    before = _ask(c, q)
    hit = before["passages"][0]["citation"]
    assert hit["date"] == "2026-04-20" and "八千米" in before["answer"] and "corrected" not in hit
    fix = {
        "date": "2026-04-20",
        "page": 1,
        "paper": "聊城日报",
        "article_id": hit["article_id"],
        "text": "本报讯 聊城黄河大桥今日正式通车，全长六千米，总投资十二亿元，结束了两岸群众摆渡过河的历史。",
    }
    assert c.post("/api/corrections", json=fix).status_code == 401
    assert (
        c.post("/api/corrections", json=fix, headers={"Authorization": f"Bearer {tokens['reader']}"}).status_code == 403
    )
    r = c.post("/api/corrections", json=fix, headers={"Authorization": f"Bearer {tokens['editor']}"})
    assert r.status_code == 200 and r.get_json()["published"], r.get_json()
    after = _ask(c, q)
    assert "六千米" in after["answer"] and "八千米" not in after["answer"]
    assert after["passages"][0]["citation"].get("corrected") is True
    stream = c.post("/api/ask/stream", json={"question": q, "top_k": 3}).get_data(as_text=True)
    events = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: ")]
    assert events[0]["passages"][0]["citation"]["corrected"] is True  # the chat page shows 「已校对」
    chat = {"model": "newspaper-archive", "messages": [{"role": "user", "content": q}]}
    v1 = c.post("/v1/chat/completions", json=chat).get_json()  # chat tools get the same mark
    assert v1["citations"][0]["citation"]["corrected"] is True
    assert "六千米" in v1["choices"][0]["message"]["content"] and "（已校对）" in v1["choices"][0]["message"]["content"]
    v1_stream = c.post("/v1/chat/completions", json=chat | {"stream": True}).get_data(as_text=True)
    first = json.loads(v1_stream.split("\n\n")[0][6:])
    assert first["citations"][0]["citation"]["corrected"] is True
    reply = {"role": "assistant", "content": v1["choices"][0]["message"]["content"]}
    chat["messages"] += [reply, {"role": "user", "content": "这篇报道登在第几版？"}]
    follow = c.post("/v1/chat/completions", json=chat).get_json()  # the marked 「来源」 line is read back
    assert follow["qa"]["followup"] and follow["citations"][0]["citation"]["article_id"] == hit["article_id"]
    hist = c.get("/api/corrections?date=2026-04-20&page=1&paper=聊城日报").get_json()["corrections"]
    assert len(hist) == 1 and "八千米" in hist[0]["original"]["text"] and hist[0]["user"] == "ed"
    assert "六千米" in hist[0]["corrected"]["text"] and hist[0]["article_id"] == hit["article_id"]
    page_file = tmp / "data" / "archive" / "聊城日报" / "2026-04-20" / "01.txt"
    assert "八千米" in page_file.read_text(encoding="utf-8")  # the source file is never rewritten


def test_a_placeholder_key_reads_but_never_writes(site):
    """OpenAI-compatible chat clients always send some key to /v1: reading stays open to them, while
    the same wrong token is a 401 wherever an account is needed."""
    app, tokens, tmp = site
    c = app.test_client()
    placeholder = {"Authorization": "Bearer sk-none"}
    assert c.get("/v1/models", headers=placeholder).status_code == 200
    assert c.post("/api/ask", json={"question": "防汛"}, headers=placeholder).status_code == 200
    r = _upload(c, "sk-none", [("a.txt", "防汛会议\n\n本报讯 各地加强巡查。\n".encode())])
    assert r.status_code == 401 and "令牌无效" in r.get_json()["error"]["message"]
