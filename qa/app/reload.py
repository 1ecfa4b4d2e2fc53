"""Hot reload: the app follows the index folder's ``CURRENT`` without restarting.

At most every ``interval`` seconds a request kicks off ``service.maybe_reload()`` in a background
thread (one at a time), so no request waits for a new index version to load; ``qa serve`` also runs
a watcher thread so an idle server picks up a new ``CURRENT`` too. Requests in flight keep the
reader they started with. While no index exists yet, a check tries to create the service instead.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from qa.errors import IndexMissing

log = logging.getLogger("qa.app")


class Reloader:
    """Calls ``service.maybe_reload()`` at most every ``interval`` seconds, off the request path.

    ``trigger()`` is cheap (a clock read) and is called before each request; when the interval
    has passed it starts one background check. ``start_watcher()`` adds a daemon thread that
    checks on its own (used by ``qa serve`` so that an idle server also follows ``CURRENT``).
    While no index exists yet, the check tries to create the Service instead.
    """

    def __init__(self, app: Flask, interval: float, make_service):
        self.app = app
        self.interval = max(0.0, float(interval))
        self.make_service = make_service
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._stop = threading.Event()
        self.reloads = 0
        self.errors = 0
        self.problem: str | None = None  # why the live version could not be loaded (shown by /api/health)

    def trigger(self) -> None:
        now = time.monotonic()
        if now - self._last < self.interval or self._lock.locked():
            return
        if not self._lock.acquire(blocking=False):
            return
        self._last = now
        try:
            threading.Thread(target=self._run_locked, name="qa-reload", daemon=True).start()
        except Exception:  # pragma: no cover - thread start failure: just try again later
            self._lock.release()

    def check_now(self) -> bool:
        """One synchronous check (tests, watcher); True when a new version was swapped in."""
        with self._lock:
            return self._check()

    def _run_locked(self) -> None:
        try:
            self._check()
        finally:
            self._lock.release()

    def _check(self) -> bool:
        self._last = time.monotonic()
        try:
            svc = self.app.extensions.get("qa_service")
            if svc is None:
                if self.make_service is None:
                    return False
                svc = self.make_service()
                self.app.extensions["qa_service"] = svc
                log.info("index loaded: %s", getattr(svc.reader, "version", "?"))
                self.reloads += 1
                self.problem = None
                return True
            swapped = svc.maybe_reload()
            if swapped:
                log.info("index reloaded: now %s", getattr(svc.reader, "version", "?"))
                self.reloads += 1
            self.problem = None
            return swapped
        except IndexMissing as e:
            self.report(e.message)  # e.g. CURRENT names a version folder that is gone
        except Exception as e:
            self.errors += 1
            log.exception("index reload failed; still serving the previous version")
            self.problem = getattr(e, "message", None) or f"索引版本无法加载（{type(e).__name__}）"
        return False

    def report(self, problem: str) -> None:
        """Remember why the live version cannot be loaded; log it once per distinct problem, not every check."""
        if problem != self.problem:
            log.warning("index not loadable, still serving the previous version (if any): %s", problem)
        self.problem = problem

    def start_watcher(self) -> threading.Thread:
        def loop():
            while not self._stop.wait(max(self.interval, 0.05)):
                if self._lock.acquire(blocking=False):
                    self._run_locked()

        t = threading.Thread(target=loop, name="qa-reload-watcher", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self._stop.set()
