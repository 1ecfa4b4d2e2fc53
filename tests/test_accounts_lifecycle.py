"""The accounts' life from the command line: ``qa user list / remove / passwd`` and ``qa token list /
revoke``, against the real Flask app: a revoked token, a removed account's session and token, and a
session of a reset password are refused (401) at once, and each change is in the audit log."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from qa.config import Settings

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long password"


def _qa(*args: str, input: str | None = None):
    from qa.cli import cli

    return CliRunner().invoke(cli, list(args), input=input)


def test_user_and_token_lifecycle(tmp_path):
    from qa.admin.accounts import Accounts
    from qa.app.app import create_app

    data = str(tmp_path / "data")
    for name, role in (("ed", "editor"), ("boss", "admin")):
        r = _qa("user", "add", name, "--role", role, "--password-stdin", "--data-dir", data, input=PASSWORD + "\n")
        assert r.exit_code == 0, r.output
    first = _qa("token", "create", "ed", "--label", "nightly", "--data-dir", data).output.strip()
    second = _qa("token", "create", "ed", "--label", "nightly", "--data-dir", data).output.strip()
    app = create_app(Settings(index=tmp_path / "no-index", data_dir=tmp_path / "data", rate_limit=None))
    c = app.test_client()
    bearer = lambda t: {"Authorization": f"Bearer {t}"}  # noqa: E731
    assert c.get("/api/jobs", headers=bearer(first)).status_code == 200

    listed = _qa("token", "list", "--data-dir", data)
    assert listed.exit_code == 0 and first not in listed.output and second not in listed.output
    lines = [line.split("\t") for line in listed.output.splitlines()]
    assert lines[0][0] == "编号" and [row[2] for row in lines[1:]] == ["nightly", "nightly"]
    assert lines[1][4] != "从未" and lines[2][4] == "从未"  # the first token was used, the second not yet
    r = _qa("token", "revoke", "nightly", "--data-dir", data)
    assert r.exit_code == 1 and "有 2 个" in r.output and "请用编号" in r.output
    r = _qa("token", "revoke", lines[1][0], "--data-dir", data)
    assert r.exit_code == 0 and "已撤销令牌" in r.output
    assert c.get("/api/jobs", headers=bearer(first)).status_code == 401  # at once
    assert c.get("/api/jobs", headers=bearer(second)).status_code == 200
    r = _qa("token", "revoke", "999", "--data-dir", data)
    assert r.exit_code == 1 and "没有编号或备注为 999 的令牌" in r.output

    # a new password ends the browser sessions; the old password no longer logs in
    assert c.post("/api/login", json={"name": "ed", "password": PASSWORD}).status_code == 200
    assert c.get("/api/jobs").status_code == 200
    r = _qa("user", "passwd", "ed", "--password-stdin", "--data-dir", data, input=NEW_PASSWORD + "\n")
    assert r.exit_code == 0 and "结束了 1 个浏览器会话" in r.output, r.output
    assert c.get("/api/jobs").status_code == 401
    assert c.post("/api/login", json={"name": "ed", "password": PASSWORD}).status_code == 401
    assert c.post("/api/login", json={"name": "ed", "password": NEW_PASSWORD}).status_code == 200
    r = _qa("user", "passwd", "ed", "--password-stdin", "--data-dir", data, input="short\n")
    assert r.exit_code == 1 and "密码太短" in r.output

    users = _qa("user", "list", "--data-dir", data)
    rows = {line.split("\t")[0]: line.split("\t") for line in users.output.splitlines()[1:]}
    assert rows["ed"][1] == "editor" and rows["ed"][3:] == ["1", "1"] and rows["boss"][1] == "admin"

    # removing an account ends its session and its tokens at once
    r = _qa("user", "remove", "boss", "--data-dir", data, input="n\n")
    assert r.exit_code == 1 and "已取消" in r.output and Accounts(tmp_path / "data").user("boss")
    r = _qa("user", "remove", "ed", "--yes", "--data-dir", data)
    assert r.exit_code == 0 and "已删除账户 ed" in r.output
    assert c.get("/api/jobs").status_code == 401
    assert c.get("/api/jobs", headers=bearer(second)).status_code == 401
    assert c.post("/api/login", json={"name": "ed", "password": NEW_PASSWORD}).status_code == 401
    for args in (("user", "remove", "ed", "--yes"), ("user", "passwd", "ghost"), ("token", "list", "ghost")):
        r = _qa(*args, "--data-dir", data, input=NEW_PASSWORD + "\n")
        assert r.exit_code == 1 and "没有账户" in r.output and "qa user list" in r.output, args
    audit = [(e["actor"], e["action"], e["target"]) for e in Accounts(tmp_path / "data").audit_log()]
    for done in (("cli", "token.revoke", "ed"), ("cli", "user.passwd", "ed"), ("cli", "user.remove", "ed")):
        assert done in audit
    for group, command in (("user", "list"), ("user", "remove"), ("user", "passwd"), ("token", "list")):
        assert "示例" in _qa(group, command, "--help").output


def test_tokens_of_a_data_folder_from_before_last_used(tmp_path):
    """A data folder made before tokens had ``last_used_at``: its tokens still work and are listed."""
    from qa.admin.accounts import Accounts

    (tmp_path / "d").mkdir()
    with sqlite3.connect(tmp_path / "d" / "qa.sqlite3") as db:
        db.executescript(
            "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT NOT NULL, "
            "created_at REAL NOT NULL);"
            "CREATE TABLE tokens (id INTEGER PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name), "
            "token_hash TEXT NOT NULL UNIQUE, label TEXT, created_at REAL NOT NULL);"
        )
    accounts = Accounts(tmp_path / "d")
    accounts.add_user("bot", "editor", PASSWORD)
    token = accounts.create_token("bot", "old")
    assert accounts.token_user(token).name == "bot"
    assert accounts.tokens("bot")[0]["last_used_at"] is not None
