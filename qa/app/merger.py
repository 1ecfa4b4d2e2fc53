"""The background merge of ``qa serve``: full size tiers are merged apart from the daily add.

Every ``interval`` seconds a daemon thread reads the live version's ``meta.json`` (a file read, nothing
loaded) and, when a tier is full, runs ``qa merge`` in a child process at low CPU priority. A process,
not a thread: a merge is seconds to minutes of numpy, SQLite and Python work and its own memory, none of
which should hold the GIL or the heap of the threads answering questions. The merge publishes through
the same atomic swap as a build (``qa.store.folder.mergejob``) and the hot reloader picks the new
version up; requests in flight finish on the version they started with. A merge that fails is logged
and tried again at the next tick; a daily add is never made to wait for it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from qa.store.folder.layout import current_version, read_meta
from qa.store.folder.version import pending_merges

log = logging.getLogger("qa.merge")
NICE = 10  # the merge yields the CPU to answers


def merges_waiting(index_dir: Path) -> int:
    """Segments of the live version that a merge would take now (0 when none, or no index yet)."""
    try:
        name = current_version(index_dir)
        return sum(map(len, pending_merges(read_meta(Path(index_dir) / name)))) if name else 0
    except Exception:  # a version being replaced, a damaged meta: the reloader reports those
        return 0


class BackgroundMerger:
    """Runs ``qa merge --index DIR`` in a child process whenever the live version has a full tier."""

    def __init__(self, index_dir: Path, interval: float) -> None:
        self.index_dir, self.interval = Path(index_dir), max(0.05, float(interval))
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self.merges = self.failures = 0
        self.thread: threading.Thread | None = None

    def start(self) -> BackgroundMerger:
        self.thread = threading.Thread(target=self._loop, name="qa-merge", daemon=True)
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if merges_waiting(self.index_dir):
                self.run_once()

    def run_once(self) -> bool:
        """One merge in a child process, waited for; True when it succeeded."""
        waiting = merges_waiting(self.index_dir)
        log.info("merging %d segments of %s in the background", waiting, self.index_dir)
        cmd = [sys.executable, "-m", "qa.cli", "merge", "--index", str(self.index_dir)]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            os.setpriority(os.PRIO_PROCESS, self._proc.pid, NICE)
        except OSError:  # it ended already, or the platform has no priorities
            pass
        _, err = self._proc.communicate()
        ok = self._proc.returncode == 0
        if ok:
            self.merges += 1
            log.info("background merge done: %s", (err or "").strip().splitlines()[-1:] or "")
        elif not self._stop.is_set():
            self.failures += 1
            log.warning("background merge failed (will retry): %s", (err or "").strip()[-500:])
        self._proc = None
        return ok

    def stop(self) -> None:
        """Stop ticking and end a merge in progress (it publishes nothing; the next one starts over)."""
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
