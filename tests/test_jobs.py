"""Upload jobs outlive the server (``qa.app.jobs``, ``qa.admin.jobstore``): a real server process killed with
SIGKILL in the middle of an upload job is restarted, finishes the job by itself, and the new issue is
answerable; a job that cannot be finished is failed with a reason; ``GET /api/jobs`` lists them."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from qa.config import Settings

from fakes import ROOT, SEEDS, FakeEmbedder

PASSWORD = "correct horse battery"
PAGE_1 = (
    "东阿阿胶文化旅游节开幕\n\n■ 本报记者 李四\n\n4月1日，第十届东阿阿胶文化旅游节在东阿县阿胶城开幕，"
    "吸引游客三万余人。东阿阿胶文化旅游节以“阿胶之乡 养生东阿”为主题，展示阿胶传统制作技艺。\n"
)
PAGE_2 = (
    "运河古城灯会点亮夜空\n\n本报讯 元宵节当晚，聊城运河古城灯会开幕，两万多盏花灯沿运河两岸排开，"
    "市民游客赏灯猜谜。灯会将持续到二月底。\n"
)

# a real server process; SLOW seconds per embedding call keep a job in "embedding" long enough to kill it
SERVER = """
import sys, threading, time
sys.path[:0] = [{root!r}, {tests!r}]
from fakes import FakeEmbedder
from qa.app.serve import BackgroundServer
from qa.config import Settings
from qa.service import Service

class Slow(FakeEmbedder):
    def encode_passages(self, texts):
        time.sleep({slow})
        return super().encode_passages(texts)

settings = Settings(index={index!r}, host="127.0.0.1", port={port}, rate_limit=None, data_dir={data!r},
                    reload_interval_s=0.5)
server = BackgroundServer(settings, service=Service({index!r}, embedder=Slow()), watcher=True)
print(server.port, flush=True)
threading.Event().wait()
"""


def _start(tmp: Path, slow: float, port: int = 0) -> tuple[subprocess.Popen, int]:
    """A server process on ``tmp/index`` and ``tmp/data`` (``port`` 0: a free one); returns it and its port."""
    script = SERVER.format(
        root=str(ROOT),
        tests=str(ROOT / "tests"),
        index=str(tmp / "index"),
        data=str(tmp / "data"),
        slow=slow,
        port=port,
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, int(p.stdout.readline())


def _request(port: int, method: str, path: str, token: str, body: bytes | None = None, ctype: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    if ctype:
        headers["Content-Type"] = ctype
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def _multipart(fields: list[tuple[str, str]], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for filename, data in files:
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _wait_job(port: int, token: str, job: str, until, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body = _request(port, "GET", f"/api/issues/{job}", token)
        assert status == 200, body
        if until(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


@pytest.fixture
def site(tmp_path):
    from qa.admin.accounts import Accounts
    from qa.store import build_index

    build_index([str(SEEDS)], tmp_path / "index", embedder=FakeEmbedder(), progress=False)
    accounts = Accounts(tmp_path / "data")
    accounts.add_user("ed", "editor", PASSWORD)
    accounts.add_user("ed2", "editor", PASSWORD)
    accounts.add_user("boss", "admin", PASSWORD)
    return tmp_path, {n: accounts.create_token(n) for n in ("ed", "ed2", "boss")}


def test_upload_job_survives_kill_9_and_restart(site):
    from qa.admin.jobstore import JobStore

    tmp, tokens = site
    body, ctype = _multipart(
        [("paper", "聊城日报"), ("date", "2026-04-02"), ("page", "1"), ("page", "2"), ("page", "3"), ("page", "4")],
        [
            ("a.txt", PAGE_1.encode()),
            ("b.txt", PAGE_2.encode()),
            ("c.pdf", b"%PDF-1.4 broken"),  # passes the first check, cannot be read: skipped after reading
            ("d.exe", b"MZ"),  # refused before the job
        ],
    )
    server, port = _start(tmp, slow=60)
    try:
        status, accepted = _request(port, "POST", "/api/issues", tokens["ed"], body, ctype)
        assert status == 202, accepted
        job = accepted["job"]
        seen = _wait_job(port, tokens["ed"], job, lambda j: j["stage"] == "embedding", timeout=60)
        assert seen["stage"] == "embedding" and not seen["done"], seen
        # the page shows a stage a moment before its row is written: kill once the row has it too
        deadline = time.monotonic() + 10
        while JobStore(tmp / "data").get(job)["stage"] != "embedding" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    row = JobStore(tmp / "data").get(job)
    assert row["state"] == "running" and row["stage"] == "embedding"  # cut off in the middle

    server, port = _start(tmp, slow=0)
    try:
        done = _wait_job(port, tokens["ed"], job, lambda j: j["done"])
        assert done["stage"] == "published" and done["published"] and done["resumed"], done
        assert done["error"] is None and done["issues"] == ["聊城日报/2026-04-02"]
        assert {p["page"]: p["articles"] for p in done["pages"]} == {1: 1, 2: 1}
        reasons = {s["file"]: s["reason"] for s in done["skipped"]}
        assert set(reasons) == {"d.exe", "03.pdf"} and "不支持的文件类型" in reasons["d.exe"]
        why = (tmp / "data" / "rejected" / job / "03.pdf.why.txt").read_text(encoding="utf-8")
        assert reasons["03.pdf"] and why.strip() == reasons["03.pdf"]  # moved out of the archive, with the reason
        assert not (tmp / "data" / "archive" / "聊城日报" / "2026-04-02" / "03.pdf").exists()
        deadline = time.monotonic() + 30
        while True:  # the restarted server swaps the published version in
            status, ans = _request(
                port,
                "POST",
                "/api/ask",
                tokens["ed"],
                json.dumps({"question": "东阿阿胶文化旅游节在哪里开幕？", "top_k": 3}).encode(),
                "application/json",
            )
            assert status == 200, ans
            if ans["passages"][0]["citation"]["date"] == "2026-04-02" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ans["passages"][0]["citation"]["date"] == "2026-04-02"
        status, listed = _request(port, "GET", "/api/jobs", tokens["ed"])
        assert status == 200 and [j["job"] for j in listed["jobs"]] == [job] and listed["jobs"][0]["done"]
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    assert JobStore(tmp / "data").get(job)["state"] == "done"


def _orphan(store, job_id: str, targets: list[Path], runs: int = 1) -> None:
    """A job row left unfinished by a process that is gone."""
    store.insert(job_id, "ed", time.time(), [str(t) for t in targets], [t.name for t in targets], [])
    store.update(job_id, state="running", stage="embedding", owner="999999999:1", attempts=runs)


def _app(tmp: Path):
    from qa.app.app import create_app
    from qa.service import Service

    return create_app(
        Settings(index=tmp / "index", data_dir=tmp / "data", rate_limit=None, reload_interval_s=3600),
        service=Service(tmp / "index", embedder=FakeEmbedder()),
    )


def test_unfinishable_jobs_fail_with_a_reason_and_jobs_are_listed(site):
    from qa.admin.jobstore import JobStore
    from qa.app.jobs import MAX_RUNS

    tmp, tokens = site
    store = JobStore(tmp / "data")
    issue = tmp / "data" / "archive" / "聊城日报" / "2026-04-03"
    issue.mkdir(parents=True)
    (issue / "01.txt").write_text(PAGE_2, encoding="utf-8")
    _orphan(store, "gone", [tmp / "data" / "archive" / "聊城日报" / "2026-04-04"])  # its folder was removed
    _orphan(store, "crashy", [issue], runs=MAX_RUNS)  # took the server down every time
    _orphan(store, "saved", [issue])  # killed while saving: its files are there
    store.update("saved", state="queued", stage="queued")
    app = _app(tmp)
    jobs = app.extensions["qa_jobs"]
    for job_id in ("gone", "crashy", "saved"):
        assert jobs.get(job_id).finished.wait(60), job_id
    c = app.test_client()
    ed = {"Authorization": f"Bearer {tokens['ed']}"}
    gone = c.get("/api/issues/gone", headers=ed).get_json()
    assert gone["stage"] == "failed" and "已不在档案中" in gone["error"] and "2026-04-04" in gone["error"]
    crashy = c.get("/api/issues/crashy", headers=ed).get_json()
    assert crashy["stage"] == "failed" and f"已中断 {MAX_RUNS} 次" in crashy["error"]
    saved = c.get("/api/issues/saved", headers=ed).get_json()
    assert saved["stage"] == "published" and saved["resumed"] and saved["pages"][0]["articles"] == 1
    assert store.get("saved")["state"] == "done" and store.get("gone")["state"] == "failed"
    assert _app(tmp).extensions["qa_jobs"].resume() == []  # finished jobs are not taken again

    # GET /api/jobs: an editor sees their own jobs, newest first; an admin everyone's
    store.insert("other", "ed2", time.time() + 1, [], [], [])
    store.update("other", state="done", stage="unchanged")
    mine = c.get("/api/jobs?limit=2", headers=ed).get_json()["jobs"]
    assert [j["user"] for j in mine] == ["ed", "ed"] and len(mine) == 2
    assert c.get("/api/jobs?user=ed2", headers=ed).get_json()["jobs"][0]["user"] == "ed"  # not someone else's
    boss = {"Authorization": f"Bearer {tokens['boss']}"}
    assert c.get("/api/jobs", headers=boss).get_json()["jobs"][0]["job"] == "other"
    assert [j["job"] for j in c.get("/api/jobs?user=ed2", headers=boss).get_json()["jobs"]] == ["other"]
    assert c.get("/api/jobs").status_code == 401
    assert c.get("/api/issues/nope", headers=ed).status_code == 404


def test_a_job_of_a_live_process_is_not_taken_over(site):
    """Two server processes on one data folder: neither resumes the other's running job."""
    from qa.admin.jobstore import OWNER, JobStore

    tmp, _ = site
    store = JobStore(tmp / "data")
    issue = tmp / "data" / "archive" / "聊城日报" / "2026-04-03"
    issue.mkdir(parents=True)
    (issue / "01.txt").write_text(PAGE_2, encoding="utf-8")
    store.insert("busy", "ed", time.time(), [str(issue)], ["x"], [])
    store.update("busy", state="running", owner=OWNER)  # this very process: alive
    assert _app(tmp).extensions["qa_jobs"].resume() == []
    assert store.get("busy")["state"] == "running"
