"""Bad inputs that still gave a 5xx or a traceback (issue 24.6): chat content parts that are no text,
a full disk during ``qa index``, a damaged CURRENT, argv bytes that are not UTF-8, a CURRENT naming
a missing version, ``/v1/*`` absent from the OpenAPI document, an uncapped ``paper``, and click's
range errors in English."""

from __future__ import annotations

import errno
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.app import create_app
from qa.cli import cli
from qa.config import Settings
from qa.service import Service
from qa.store import build_from_pages, current_version
from qa.types import Article, Page

from fakes import ROOT, FakeEmbedder

TEXT = "东昌府区召开防汛工作会议，要求各地加强巡查，落实防汛责任。"


def _pages(day: str = "2025-07-29") -> list[Page]:
    return [
        Page(
            f"/a/{day}/01.txt",
            "聊城日报",
            day,
            1,
            TEXT,
            f"{day}/01.txt",
            "/a",
            articles=[Article(f"{day}#a1", "防汛会议", TEXT)],
        )
    ]


@pytest.fixture
def index(tmp_path) -> Path:
    ix = tmp_path / "ix"
    build_from_pages(_pages(), ["/a"], ix, embedder=FakeEmbedder(), progress=False, log=lambda m: None)
    return ix


@pytest.fixture
def fake_model(monkeypatch):
    """The CLI loads the index's embedder by name; tests index with the fake one."""
    import qa.service
    import qa.store.plan

    monkeypatch.setattr(qa.service, "load_embedder", lambda name=None, device=None: FakeEmbedder())
    monkeypatch.setattr(qa.store.plan, "load_embedder", lambda name=None, device=None: FakeEmbedder())


def _one_sentence(result, code: int = 1) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("错误："), result.stderr
    return lines[-1]


# --- /v1/chat/completions content parts -------------------------------------------------------


@pytest.mark.parametrize("text", [5, None, ["防汛"], {"a": 1}, 1.5, True])
def test_chat_content_part_text_that_is_not_a_string_is_a_400(index, text) -> None:
    app = create_app(Settings(index=index, rate_limit=None), service=Service(index, embedder=FakeEmbedder()))
    body = {"model": "newspaper-archive", "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    resp = app.test_client().post("/v1/chat/completions", json=body)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "text" in resp.get_json()["error"]["message"]


# --- a full disk during `qa index` ------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device", "/ix/v000002/meta.json"),
        sqlite3.OperationalError("database or disk is full"),
    ],
)
def test_a_full_disk_during_qa_index_is_one_sentence_and_keeps_the_live_version(
    tmp_path, fake_model, monkeypatch, failure
) -> None:
    import qa.store.folder.layout  # seal_and_publish seals through it

    day = tmp_path / "arc" / "聊城日报" / "2025-07-29"
    day.mkdir(parents=True)
    (day / "01.txt").write_text(TEXT, encoding="utf-8")
    ix = tmp_path / "ix"
    assert CliRunner().invoke(cli, ["index", str(tmp_path / "arc"), "--index", str(ix)]).exit_code == 0
    live = current_version(ix)
    (day / "02.txt").write_text("第二版：" + TEXT, encoding="utf-8")

    def full(*args, **kwargs):
        raise failure

    monkeypatch.setattr(qa.store.folder.layout, "seal", full)
    line = _one_sentence(CliRunner().invoke(cli, ["index", str(tmp_path / "arc"), "--index", str(ix)]))
    assert "磁盘空间已满" in line and "没有改动" in line
    assert current_version(ix) == live


# --- a damaged CURRENT and a CURRENT naming a missing version ------------------------------------


@pytest.mark.parametrize("content", [b"\xff\xfe\x80v000001\n", b"../../etc\n"])
def test_a_damaged_current_file_is_one_sentence(index, fake_model, content) -> None:
    (index / "CURRENT").write_bytes(content)
    for args in (["stats"], ["ask", "防汛会议有什么要求？"]):
        line = _one_sentence(CliRunner().invoke(cli, [*args, "--index", str(index)]))
        assert "CURRENT 文件已损坏" in line


def test_a_server_whose_current_names_a_missing_version_says_so(index, caplog) -> None:
    app = create_app(
        Settings(index=index, rate_limit=None, reload_interval_s=3600), service=Service(index, embedder=FakeEmbedder())
    )
    client = app.test_client()
    assert client.get("/api/health").get_json()["status"] == "ok"
    (index / "CURRENT").write_text("v000099\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa.app"):
        app.extensions["qa_reloader"].check_now()
        app.extensions["qa_reloader"].check_now()
    health = client.get("/api/health").get_json()
    assert health["status"] == "degraded" and "v000099" in health["problem"]
    assert len([r for r in caplog.records if "v000099" in r.getMessage()]) == 1  # logged once, not every check
    assert client.post("/api/ask", json={"question": "防汛会议有什么要求？"}).status_code == 200  # still answers


def test_a_server_starting_on_a_missing_version_reports_it(index, caplog) -> None:
    (index / "CURRENT").write_text("v000099\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa.app"):
        app = create_app(Settings(index=index, rate_limit=None, reload_interval_s=3600))
    resp = app.test_client().get("/api/health")
    assert resp.status_code == 503 and "v000099" in resp.get_json()["problem"]
    assert any("v000099" in r.getMessage() for r in caplog.records)


# --- argv that is not UTF-8 --------------------------------------------------------------------


def test_qa_ask_with_bytes_that_are_not_utf8_is_one_sentence(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", b"\xff\xfe\xe9\x98\xb2\xe6\xb1", "--index", str(tmp_path / "ix")],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"},
    )
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert err.strip().splitlines() == [err.strip()] and err.startswith("错误：") and "UTF-8" in err


def test_qa_ask_with_surrogate_escaped_paper_is_one_sentence(index, fake_model) -> None:
    result = CliRunner().invoke(cli, ["ask", "防汛", "--paper", "聊城\udcff", "--index", str(index)])
    assert "UTF-8" in _one_sentence(result)


# --- the paper cap and click's range errors (/v1 in the OpenAPI document: tests/test_web.py) ---


def test_timeline_paper_is_capped_like_ask(index) -> None:
    client = create_app(
        Settings(index=index, rate_limit=None), service=Service(index, embedder=FakeEmbedder())
    ).test_client()
    resp = client.get("/api/timeline?q=防汛&paper=" + "报" * 5000)
    assert resp.status_code == 400 and "paper" in resp.get_json()["error"]["message"]
    assert client.get("/api/timeline?q=防汛&paper=聊城日报").status_code == 200


@pytest.mark.parametrize(
    "args, expect",
    [
        (["ask", "防汛", "--top-k", "0"], "--top-k 应为 1 到"),
        (["ask", "防汛", "--top-k", "abc"], "--top-k 应为 1 到"),
        (["ask", "防汛", "--page", "0"], "--page 应为不小于 1 的整数"),
        (["serve", "--threads", "0"], "--threads 应为不小于 1"),
    ],
)
def test_click_range_errors_are_one_chinese_sentence(args, expect) -> None:
    line = _one_sentence(CliRunner().invoke(cli, args), code=2)
    assert expect in line and "Invalid value" not in line
