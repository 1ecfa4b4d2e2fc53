"""Ingest jobs of the web app: one worker thread runs them in order (one index build at a time), and
``GET /api/issues/<job>`` reads their progress. Jobs live in memory (the newest ``KEEP``); the
files of a job are already in the archive when it is queued, so a restart loses only the job's
status, never a file: ``qa index ARCHIVE/<paper>/<date>`` (or the next upload) indexes them.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.admin.ingest_job import Progress, ingest_folders

log = logging.getLogger("qa.app")
KEEP = 200


@dataclass
class Job:
    id: str
    user: str
    targets: list[Path]
    rejected: list[dict] = field(default_factory=list)  # files refused before ingest (type, duplicates)
    progress: Progress = field(default_factory=Progress)
    result: dict | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_json(self) -> dict:
        out = {
            "job": self.id,
            "user": self.user,
            **self.progress.to_json(),
            "done": self.finished.is_set(),
            "error": self.error,
        }
        if self.result is not None:
            hide = lambda rows: [{k: v for k, v in r.items() if k != "source"} for r in rows]  # noqa: E731 - server paths
            out.update(
                version=self.result["version"],
                published=self.result["published"],
                pages=hide(self.result["pages"]),
                skipped=self.rejected + hide(self.result["skipped"]),
            )
        else:
            out["skipped"] = list(self.rejected)
        return out


class Jobs:
    """Queue + worker + registry. ``after(job)`` runs once a job has finished (e.g. to tidy rejected files)."""

    def __init__(
        self,
        index_dir: Path,
        embedder: Callable[[], object],
        on_published: Callable[[], None],
        after: Callable[[Job], None] | None = None,
    ):
        self.index_dir, self.embedder, self.on_published, self.after = index_dir, embedder, on_published, after
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._worker: threading.Thread | None = None

    def submit(self, user: str, targets: list[Path], rejected: list[dict]) -> Job:
        job = Job(secrets.token_hex(8), user, targets, rejected)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                self._jobs.popitem(last=False)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="qa-ingest", daemon=True)
                self._worker.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job.result = ingest_folders(
                    job.targets,
                    self.index_dir,
                    embedder=self.embedder(),
                    progress=job.progress,
                    on_published=self.on_published,
                )
                if self.after:
                    self.after(job)
            except Exception as e:  # the files stay in the archive; the job says it failed
                log.exception("ingest job %s failed", job.id)
                job.error = getattr(e, "message", None) or "建索引失败，文件已保存在档案中，可稍后用 qa index 重试。"
                job.progress.set(stage="failed")
            finally:
                job.finished.set()
