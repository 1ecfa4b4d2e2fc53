"""``qa serve``: the web app under waitress.

Why waitress: it is pure Python and multi-threaded in **one process, with no fork**. The FAISS
index and the embedder's C engine are loaded once and shared by all worker threads (both release
the GIL while they compute); forking servers would either copy or re-load them per worker, and
forking after FAISS/OpenMP threads have started is unsafe. ``settings.threads`` sets the number of
waitress worker threads. Scale out with several ``qa serve`` processes/hosts behind a load
balancer, each hot-reloading the same index folder.

Each request is logged on the ``qa.access`` logger (one line: client, method, path, status,
bytes, milliseconds) by a small WSGI middleware; waitress' own messages go to ``waitress``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from qa.config import Settings

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


def make_wsgi_app(settings: Settings, service=None, access_log_enabled: bool = True):
    """The Flask app (``qa.web.create_app``) wrapped in the access log; returns (wsgi, flask_app)."""
    from qa.web import create_app

    app = create_app(settings, service=service)
    return (AccessLog(app) if access_log_enabled else app), app


def create_server(settings: Settings, service=None, access_log_enabled: bool = True, **waitress_kw):
    """A waitress server bound to ``settings.host:settings.port`` (port 0 = any free port), not yet
    running; call ``.run()`` (blocks) and ``.close()``. Returns (server, flask_app)."""
    from waitress import create_server as _create

    wsgi, app = make_wsgi_app(settings, service=service, access_log_enabled=access_log_enabled)
    server = _create(
        wsgi,
        host=settings.host,
        port=settings.port,
        threads=settings.threads,
        ident="qa",
        max_request_body_size=1024 * 1024,  # Flask answers 413 past 64 KB; this caps what waitress buffers
        channel_timeout=60,
        **waitress_kw,
    )
    return server, app


class BackgroundServer:
    """The app under waitress in a daemon thread, for tests and benches: ``.url``, ``.app``, ``.stop()``.

    ``settings.port = 0`` picks a free port.
    """

    def __init__(self, settings: Settings, service=None, access_log_enabled: bool = False, watcher: bool = False):
        self.server, self.app = create_server(settings, service=service, access_log_enabled=access_log_enabled)
        self.url = f"http://{settings.host}:{self.server.effective_port}"
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


def serve(settings: Settings | None = None, service=None) -> None:
    """Run the app under waitress until interrupted (Ctrl-C)."""
    settings = settings or Settings()
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server, app = create_server(settings, service=service)
    reloader = app.extensions["qa_reloader"]
    reloader.start_watcher()
    svc = app.extensions.get("qa_service")
    version = getattr(getattr(svc, "reader", None), "version", None)
    logging.getLogger("qa.serve").info(
        "serving index %s (%s) on http://%s:%s with %d threads",
        settings.backend or settings.index, version or "尚无索引", settings.host, server.effective_port, settings.threads,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        reloader.stop()
        server.close()
