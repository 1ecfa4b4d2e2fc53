"""``qa serve`` against an outside attacker, over real sockets: idle half-open connections, a
flood of new conversations, a foreign ``Host`` (DNS rebinding) and forged ``X-Forwarded-For``.

Each test reproduces the attack of issue 24 item 4 and checks that another client still gets
served. Loopback has all of 127.0.0.0/8, so distinct clients are distinct source addresses
(``127.0.0.N``) on one machine. The server is the real app under waitress over the seeds indexed
with the deterministic fake embedder.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest
from test_serve import assert_error_shape

from qa.app.serve import BackgroundServer
from qa.config import Settings

from fakes import SEEDS, FakeEmbedder

PROXY = "127.0.0.2"  # the reverse proxy in these tests; 127.0.0.1 is an ordinary (untrusted) client


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from qa.store import build_index

    path = tmp_path_factory.mktemp("guard-seeds-index")
    build_index([str(SEEDS)], path, embedder=FakeEmbedder(), progress=False)
    return path


def _server(index, **kw):
    from qa.service import Service

    settings = Settings(index=index, host="127.0.0.1", port=0, threads=4, reload_interval_s=3600, **kw)
    return BackgroundServer(settings, service=Service(index, embedder=FakeEmbedder()))


@pytest.fixture(scope="module")
def open_server(index):
    with _server(index, rate_limit=None, trusted_proxies=(PROXY,)) as srv:
        yield srv


@pytest.fixture(scope="module")
def limited_server(index):
    with _server(index, rate_limit="3 per minute", trusted_proxies=(PROXY,)) as srv:
        yield srv


def request(
    port: int,
    method: str,
    path: str,
    source: str = "127.0.0.1",
    headers: dict | None = None,
    body: dict | None = None,
    timeout: float = 10,
) -> tuple[int, dict, dict]:
    """One HTTP request from ``source``; (status, lower-cased headers, JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, (json.loads(raw) if raw else {})
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# idle half-open connections


def half_open(port: int, source: str) -> socket.socket:
    """A connection that sends half a request head and then waits (slowloris)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


def test_idle_half_open_connections_do_not_lock_out_a_new_client(open_server):
    held = []
    try:
        # 300 from 12 addresses (more than waitress' limit in total), 60 more from the new client's own address
        held += [half_open(open_server.port, f"127.0.0.{10 + i % 12}") for i in range(300)]
        held += [half_open(open_server.port, "127.0.0.1") for _ in range(60)]
        time.sleep(0.5)  # let the server accept what it will
        for source in ("127.0.0.1", "127.0.0.99"):  # the attacker's address (NAT) and a fresh one
            start = time.monotonic()
            status, _, body = request(open_server.port, "GET", "/api/health", source=source, timeout=5)
            assert status == 200 and body["status"] == "ok"
            assert time.monotonic() - start < 5
    finally:
        for sock in held:
            sock.close()


def _finish(sock: socket.socket) -> bytes:
    """Complete the half-sent request; the response's first bytes, or b"" if the server closed it."""
    try:
        sock.sendall(b"Connection: close\r\n\r\n")
        return sock.recv(64)
    except OSError:  # reset: closed by the server
        return b""


def test_one_address_over_its_cap_loses_its_own_oldest_idle_connection_but_a_proxy_does_not(open_server):
    from qa.app.connguard import PER_CLIENT

    client = [half_open(open_server.port, "127.0.0.50") for _ in range(PER_CLIENT + 8)]
    proxy = [half_open(open_server.port, PROXY) for _ in range(PER_CLIENT + 8)]
    try:
        time.sleep(0.5)
        assert _finish(client[0]) == b""  # the client's oldest was closed to admit its newer ones
        assert _finish(client[-1]).startswith(b"HTTP/1.1 200")
        assert _finish(proxy[0]).startswith(b"HTTP/1.1 200")  # a trusted proxy carries many users
    finally:
        for sock in client + proxy:
            sock.close()


# --------------------------------------------------------------------------------------------
# "conversation_id": "new" floods


def test_one_client_creating_conversations_does_not_evict_another_clients(open_server):
    from qa.answer.conversations import ConversationStore

    state = open_server.app.extensions["qa_chat"]
    state.store = ConversationStore(max_conversations=30, per_client=5)  # the attack scaled down 1000 -> 40
    ask = {"question": "2025年聊城新增省级以上专精特新中小企业多少家？"}
    victim = {"X-Forwarded-For": "203.0.113.7"}
    status, _, first = request(open_server.port, "POST", "/api/ask", PROXY, victim, ask | {"conversation_id": "new"})
    assert status == 200
    for n in range(40):
        attacker = {"X-Forwarded-For": "198.51.100.66"}
        status, _, _ = request(open_server.port, "POST", "/api/ask", PROXY, attacker, ask | {"conversation_id": "new"})
        assert status == 200
    status, _, again = request(
        open_server.port,
        "POST",
        "/api/ask",
        PROXY,
        victim,
        {"question": "那“小巨人”企业呢？", "conversation_id": first["conversation_id"]},
    )
    assert status == 200, again
    assert again["conversation_id"] == first["conversation_id"]


# --------------------------------------------------------------------------------------------
# DNS rebinding


def test_foreign_host_is_refused_with_the_json_error(open_server):
    status, headers, body = request(open_server.port, "GET", "/api/health", headers={"Host": "evil.example.com"})
    assert status == 400
    assert_error_shape(status, headers, json.dumps(body, ensure_ascii=False).encode(), "host_not_allowed")
    for host in (f"127.0.0.1:{open_server.port}", "localhost", f"[::1]:{open_server.port}"):
        assert request(open_server.port, "GET", "/api/health", headers={"Host": host})[0] == 200, host


# --------------------------------------------------------------------------------------------
# X-Forwarded-For and the rate limit


def _until_limited(port: int, source: str, forwarded_for: str | None) -> int:
    """Requests until the first 429 (at most 10)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    for n in range(1, 11):
        if request(port, "GET", "/api/timeline?q=%E9%98%B2%E6%B1%9B", source, headers)[0] == 429:
            return n
    return 0


def test_forged_forwarded_for_from_an_untrusted_address_is_ignored(limited_server):
    port = limited_server.port
    assert _until_limited(port, "127.0.0.1", "192.0.2.1") == 4  # 3 per minute, then 429
    # a new forged address per request does not buy a new bucket
    status, _, body = request(
        port, "GET", "/api/timeline?q=%E9%98%B2%E6%B1%9B", "127.0.0.1", {"X-Forwarded-For": "192.0.2.2"}
    )
    assert status == 429 and body["error"]["code"] == "rate_limited"


def test_clients_behind_a_trusted_proxy_get_their_own_buckets(limited_server):
    port = limited_server.port
    assert _until_limited(port, PROXY, "203.0.113.10") == 4
    status, _, _ = request(
        port, "GET", "/api/timeline?q=%E9%98%B2%E6%B1%9B", PROXY, {"X-Forwarded-For": "203.0.113.11"}
    )
    assert status == 200  # another user behind the same proxy is not limited by the first one


# --------------------------------------------------------------------------------------------
# the settings: defaults by bind address, explicit lists, the CLI


@pytest.mark.parametrize(
    "bind,allowed,host,status",
    [
        ("127.0.0.1", None, "evil.example.com", 400),
        ("127.0.0.1", None, "LOCALHOST:8000", 200),
        ("0.0.0.0", None, "evil.example.com", 200),  # reachable by names we cannot guess: warned at start-up
        ("0.0.0.0", ("qa.example.com",), "evil.example.com", 400),
        ("0.0.0.0", ("qa.example.com",), "qa.example.com:8080", 200),
        ("0.0.0.0", (".example.com",), "news.example.com", 200),
        ("127.0.0.1", ("*",), "evil.example.com", 200),
    ],
)
def test_allowed_hosts_by_bind_address_and_setting(bind, allowed, host, status):
    from qa.app import create_app

    app = create_app(Settings(host=bind, allowed_hosts=allowed, rate_limit=None), service=object())
    resp = app.test_client().get("/", headers={"Host": host})
    assert resp.status_code == status, resp.get_json()
    if status == 400:
        assert resp.get_json()["error"]["code"] == "host_not_allowed"


def test_open_bind_without_allowed_hosts_warns(caplog):
    from qa.app.serve import _warn_open_hosts

    _warn_open_hosts(Settings(host="0.0.0.0"))
    assert "--allowed-hosts" in caplog.text
    caplog.clear()
    _warn_open_hosts(Settings(host="0.0.0.0", allowed_hosts=("qa.example.com",)))
    _warn_open_hosts(Settings(host="127.0.0.1"))
    assert caplog.text == ""


def test_bad_trusted_proxies_value_is_one_chinese_sentence():
    from click.testing import CliRunner

    from qa.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--trusted-proxies", "10.0.0.5,nginx"])
    assert result.exit_code == 1
    assert "错误：--trusted-proxies 中的 nginx 不是 IP 地址或网段" in result.output
