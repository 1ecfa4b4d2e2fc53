"""``qa serve``: the web app under waitress.

Why waitress: it is pure Python and multi-threaded in **one process, with no fork**. The FAISS
index and the embedder's C engine are loaded once and shared by all worker threads (both release
the GIL while they compute); forking servers would either copy or re-load them per worker, and
forking after FAISS/OpenMP threads have started is unsafe. ``settings.threads`` sets the number of
waitress worker threads. Scale out with several ``qa serve`` processes/hosts behind a load
balancer, each hot-reloading the same index folder.

Each request is logged on the ``qa.access`` logger (one line: client, method, path, status,
bytes, milliseconds) by a small WSGI middleware; waitress' own messages go to ``waitress``.

The listening sockets are bound **before** the index and the model are loaded, so a port that is
taken (or out of range, or not allowed) is reported at once as one Chinese sentence
(``ServeError``, which the CLI prints as ``错误：…`` with exit status 1), not as a traceback after
the model has loaded. Waitress' own error replies use the JSON shape (``qa.app.wsgi_errors``).

Connections: at most ``CONNECTION_LIMIT``, idle ones closed after ``CHANNEL_TIMEOUT_S``, and idle
ones closed early to make room for new clients (``qa.app.connguard``; docs/security.md). Waitress
runs its loop on ``poll()`` rather than ``select()``, which fails on descriptors above 1023.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
import threading
import time

from qa.config import Settings
from qa.errors import ServeError

access_log = logging.getLogger("qa.access")


class AccessLog:
    """WSGI middleware: one log line per request, written when the response has been sent."""

    def __init__(self, app, logger: logging.Logger = access_log):
        self.app = app
        self.log = logger

    def __call__(self, environ, start_response):
        t0 = time.perf_counter()
        state = {"status": "-", "bytes": 0}

        def _start(status, headers, exc_info=None):
            state["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info)

        body = self.app(environ, _start)
        try:
            for chunk in body:
                state["bytes"] += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            path = environ.get("PATH_INFO", "")
            if environ.get("QUERY_STRING"):
                path += "?" + environ["QUERY_STRING"]
            self.log.info(
                '%s "%s %s %s" %s %d %.1fms',
                environ.get("REMOTE_ADDR", "-"),
                environ.get("REQUEST_METHOD", "-"),
                path[:300],
                environ.get("SERVER_PROTOCOL", "-"),
                state["status"],
                state["bytes"],
                (time.perf_counter() - t0) * 1000,
            )


def _bind_error(host: str, port: int, e: OSError) -> ServeError:
    where = f"{host}:{port}"
    if e.errno == errno.EADDRINUSE:
        return ServeError(f"端口 {port} 已被占用（{where}）：请用 --port 换一个端口，或先停止占用它的程序。")
    if e.errno == errno.EACCES:
        return ServeError(f"没有权限监听 {where}：1024 以下的端口需要管理员权限，请用 --port 换一个端口。")
    if e.errno == errno.EADDRNOTAVAIL:
        return ServeError(f"无法监听 {where}：本机没有地址 {host}，请检查 --host。")
    return ServeError(f"无法监听 {where}：{e.strerror or e}。")


def bind_sockets(host: str, port: int, backlog: int = 1024) -> list[socket.socket]:
    """Listening sockets for every address ``host`` resolves to (as waitress would bind them);
    ``port`` 0 picks a free port. Raises ServeError with one Chinese sentence."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServeError(f"端口 {port} 无效：应为 0 到 65535 之间的整数（0 表示任选一个空闲端口）。")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ServeError(f"无法解析监听地址 {host}：请检查 --host（例如 127.0.0.1 或 0.0.0.0）。") from None
    socks: list[socket.socket] = []
    try:
        for family, _type, _proto, _name, addr in dict.fromkeys(infos):
            if port == 0 and socks:  # one free port for all addresses: reuse the first one's
                addr = (addr[0], socks[0].getsockname()[1], *addr[2:])
            socks.append(socket.create_server(addr, family=family, backlog=backlog))
    except OSError as e:
        for s in socks:
            s.close()
        raise _bind_error(host, port, e) from None
    return socks


def make_wsgi_app(settings: Settings, service=None, access_log_enabled: bool = True):
    """The Flask app (``qa.app.create_app``) wrapped in the access log; returns (wsgi, flask_app)."""
    from qa.app.app import create_app

    app = create_app(settings, service=service)
    return (AccessLog(app) if access_log_enabled else app), app


def create_server(settings: Settings, service=None, access_log_enabled: bool = True, **waitress_kw):
    """A waitress server listening on ``settings.host:settings.port`` (port 0 = any free port), not
    yet running; call ``.run()`` (blocks) and ``.close()``. Returns (server, flask_app).

    Binds first (ServeError when it cannot), then loads the app, then hands the sockets to waitress."""
    from waitress import create_server as _create

    from qa.app import connguard
    from qa.app.hosts import split_list
    from qa.app.proxies import parse_networks
    from qa.app.wsgi_errors import use_json_errors

    trusted = parse_networks(split_list(settings.trusted_proxies))
    socks = bind_sockets(settings.host, settings.port)
    try:
        wsgi, app = make_wsgi_app(settings, service=service, access_log_enabled=access_log_enabled)
        socket_map: dict = {}
        server = _create(
            wsgi,
            socket_map,
            sockets=socks,
            threads=settings.threads,
            ident="qa",
            max_request_body_size=body_cap(settings, app),  # Flask answers 413 past its own limits first
            # waitress drops X-Forwarded-* unless its own single-address trusted_proxy is set; with
            # --trusted-proxies they reach qa.app.proxies, which believes them only from those addresses
            clear_untrusted_proxy_headers=not trusted,
            **(
                {
                    "connection_limit": connguard.CONNECTION_LIMIT,
                    "channel_timeout": connguard.CHANNEL_TIMEOUT_S,
                    "cleanup_interval": connguard.CLEANUP_INTERVAL_S,
                    "asyncore_use_poll": True,
                }
                | waitress_kw
            ),
        )
    except BaseException:
        for s in socks:
            s.close()
        raise
    use_json_errors(socket_map)
    connguard.guard_connections(socket_map, trusted=trusted)
    return server, app


def body_cap(settings: Settings, app) -> int:
    """What waitress buffers at most: 1 MB (Flask answers 413 past 64 KB), raised to the upload limit
    only when accounts exist at start-up, since only an account can upload (docs/operations-inbox.md)."""
    accounts = app.extensions.get("qa_accounts")
    if accounts is not None and accounts.has_users():
        return max(1024 * 1024, settings.upload_max_total + 1024 * 1024)
    return 1024 * 1024


def effective_port(server) -> int:
    """The port a server from ``create_server`` listens on (one or several sockets)."""
    port = getattr(server, "effective_port", None)
    return port if port is not None else server.effective_listen[0][1]


class BackgroundServer:
    """The app under waitress in a daemon thread, for tests and benches: ``.url``, ``.port``, ``.app``, ``.stop()``.

    ``settings.port = 0`` picks a free port.
    """

    def __init__(
        self,
        settings: Settings,
        service=None,
        access_log_enabled: bool = False,
        watcher: bool = False,
        merger: bool = False,
    ):
        self.server, self.app = create_server(settings, service=service, access_log_enabled=access_log_enabled)
        self.merger = start_merger(settings) if merger else None
        self.port = effective_port(self.server)
        self.url = f"http://{settings.host}:{self.port}"
        self._closing = False
        if watcher:
            self.app.extensions["qa_reloader"].start_watcher()
        self.thread = threading.Thread(target=self._run, name="qa-waitress", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except Exception:  # closing the sockets under the loop may raise; only report real failures
            if not self._closing:
                logging.getLogger("qa.serve").exception("server thread failed")

    def stop(self) -> None:
        self._closing = True
        if self.merger is not None:
            self.merger.stop()
        self.app.extensions["qa_reloader"].stop()
        try:
            self.server.task_dispatcher.shutdown(timeout=5)  # let requests in flight finish first
        except Exception:  # pragma: no cover
            pass
        self.server.close()
        self.thread.join(5)

    def __enter__(self) -> "BackgroundServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_merger(settings: Settings):
    """The background merge of a folder index (``qa.app.merger``); None for Milvus or when turned off."""
    if settings.backend is not None or settings.merge_interval_s <= 0:
        return None
    from qa.app.merger import BackgroundMerger

    return BackgroundMerger(settings.index, settings.merge_interval_s).start()


def _warn_open_hosts(settings: Settings) -> None:
    """A server reachable from other machines without --allowed-hosts answers any Host name."""
    from qa.app.hosts import default_allowed_hosts, split_list

    if not split_list(settings.allowed_hosts) and default_allowed_hosts(settings.host) is None:
        logging.getLogger("qa.serve").warning(
            "listening on %s without --allowed-hosts: requests for any Host name are served; "
            "name the host names users type (e.g. --allowed-hosts qa.example.com) to refuse "
            "DNS-rebinding requests (docs/security.md)",
            settings.host,
        )


def serve(settings: Settings | None = None, service=None) -> None:
    """Run the app under waitress until interrupted (Ctrl-C)."""
    settings = settings or Settings()
    if not logging.getLogger().handlers:
        logging.basicConfig(
            stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    server, app = create_server(settings, service=service)
    _warn_open_hosts(settings)
    reloader = app.extensions["qa_reloader"]
    reloader.start_watcher()
    merger = start_merger(settings)  # full size tiers merge in a child process, never inside a daily add
    from qa.app.admin_api import exposed_without_accounts, start_inbox

    if warning := exposed_without_accounts(app):
        logging.getLogger("qa.serve").warning(warning)  # on stderr (basicConfig above)
    if settings.inbox:
        start_inbox(app)  # files dropped into --inbox DIR are indexed and swapped in (qa/admin/inbox.py)
    svc = app.extensions.get("qa_service")
    version = getattr(getattr(svc, "reader", None), "version", None)
    logging.getLogger("qa.serve").info(
        "serving index %s (%s) on http://%s:%s with %d threads",
        settings.backend or settings.index,
        version or "尚无索引",
        settings.host,
        effective_port(server),
        settings.threads,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if merger is not None:
            merger.stop()
        reloader.stop()
        server.close()
