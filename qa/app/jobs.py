"""Ingest jobs of the web app: one worker thread runs them in order (one index build at a time);
``GET /api/issues/<job>`` and ``GET /api/jobs`` read their progress and results.

Every job is a row of ``DATA/qa.sqlite3`` (``qa.admin.jobstore``): its state, stage, pages read and,
once done, its result or error. A job is written there before its files are saved to the archive,
so a server killed at any moment of an upload leaves a row in ``queued`` or ``running``; the next
start (``resume``) runs such jobs again — the build is idempotent, pages already published are
unchanged — or, when it cannot (the files are gone, or the job was cut off ``MAX_RUNS`` times),
marks them failed with the reason. Jobs of this process are also kept in memory while they run.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.admin.ingest_job import Progress, ingest_folders
from qa.admin.jobstore import JobStore
from qa.store.location import Location

log = logging.getLogger("qa.app")
MAX_RUNS = 3  # a job that brought the server down this often is not started again by itself
PROGRESS_EVERY_S = 1.0  # pages-read updates written to the DB at most this often (stages at once)


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
    issues: list[str] = field(default_factory=list)  # the targets as archive-relative names, for people
    runs: int = 1  # how many times it was started (> 1: resumed after a restart)

    def to_json(self) -> dict:
        out = {
            "job": self.id,
            "user": self.user,
            "created": self.created,
            "issues": list(self.issues),
            **self.progress.to_json(),
            "done": self.finished.is_set(),
            "error": self.error,
            "resumed": self.runs > 1,
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

    @classmethod
    def from_row(cls, row: dict) -> "Job":
        job = cls(
            row["id"],
            row["user"],
            [Path(t) for t in row["targets"]],
            list(row["refused"] or []),
            Progress(row["stage"], row["pages_read"], row["pages_total"]),
            row["result"],
            row["error"],
            row["created_at"],
            issues=list(row["issues"] or []),
            runs=row["attempts"],
        )
        if row["state"] in ("done", "failed"):
            job.finished.set()
        return job


class Jobs:
    """Queue + worker + the job rows. ``after(job)`` runs once a job has been indexed (e.g. to tidy
    rejected files); ``archive`` names the targets in ``issues``."""

    def __init__(
        self,
        index: Location,
        embedder: Callable[[], object],
        on_published: Callable[[], None],
        store: JobStore,
        after: Callable[[Job], None] | None = None,
        archive: Path | None = None,
    ):
        self.index, self.embedder, self.on_published, self.after = index, embedder, on_published, after
        self.store, self.archive = store, archive
        self._live: dict[str, Job] = {}  # this process's unfinished jobs
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._worker: threading.Thread | None = None

    def submit(self, user: str, targets: list[Path], rejected: list[dict]) -> Job:
        """A job for files already in the archive, queued at once."""
        job = self.reserve(user, targets, rejected)
        self.start(job)
        return job

    def reserve(self, user: str, targets: list[Path], rejected: list[dict]) -> Job:
        """A job written to the DB but not started: call it before saving the files, ``start`` after."""
        job = Job(secrets.token_hex(8), user, list(targets), list(rejected), issues=self._names(targets))
        self.store.insert(job.id, user, job.created, [str(t) for t in job.targets], job.issues, job.rejected)
        with self._lock:
            self._live[job.id] = job
        return job

    def start(self, job: Job) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="qa-ingest", daemon=True)
                self._worker.start()
        self._queue.put(job)

    def fail(self, job: Job, message: str) -> None:
        """End a job that will not run (or stopped) with ``message`` for the user."""
        job.error = message
        job.progress.set(stage="failed")
        self._finish(job, "failed")

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            live = self._live.get(job_id)
        if live is not None:
            return live
        row = self.store.get(job_id)
        return Job.from_row(row) if row else None

    def recent(self, user: str | None = None, limit: int = 20) -> list[Job]:
        """The newest jobs (of ``user`` when given), newest first; running ones with their live progress."""
        rows = self.store.recent(user, limit)
        with self._lock:
            return [self._live.get(r["id"]) or Job.from_row(r) for r in rows]

    def resume(self) -> list[Job]:
        """Take over the unfinished jobs of processes that are gone: run them again, or fail them."""
        taken = []
        for row in self.store.orphans():
            if not self.store.claim(row):
                continue  # another server process of this data folder was first
            job = Job.from_row({**row, "stage": "queued", "pages_read": 0, "attempts": row["attempts"] + 1})
            present = [t for t in job.targets if t.exists()]
            with self._lock:
                self._live[job.id] = job
            names = "、".join(job.issues) or "无"
            if job.runs > MAX_RUNS:
                self.fail(
                    job,
                    f"服务在处理这个任务时已中断 {MAX_RUNS} 次，不再自动重试。文件已保存在档案中（{names}）："
                    "请检查文件后重新上传，或用 qa index 建索引。",
                )
            elif not present:
                self.fail(job, f"服务重启前这个任务没有完成，而它的文件已不在档案中（{names}），无法继续：请重新上传。")
            else:
                log.info("resuming ingest job %s of %s (run %d): %s", job.id, job.user, job.runs, names)
                job.targets = present
                self._save(job, stage="queued", pages_read=0)
                self.start(job)
            taken.append(job)
        return taken

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            self._save(job, state="running")
            job.progress.listeners.append(self._progress_writer(job))
            try:
                job.result = ingest_folders(
                    job.targets,
                    self.index,
                    embedder=self.embedder(),
                    progress=job.progress,
                    on_published=self.on_published,
                )
                if self.after:
                    self.after(job)
                self._finish(job, "done")
            except Exception as e:  # the files stay in the archive; the job says it failed
                log.exception("ingest job %s failed", job.id)
                self.fail(
                    job, getattr(e, "message", None) or "建索引失败，文件已保存在档案中，可稍后用 qa index 重试。"
                )

    def _finish(self, job: Job, state: str) -> None:
        p = job.progress
        self._save(
            job,
            state=state,
            stage=p.stage,
            pages_read=p.pages_read,
            pages_total=p.pages_total,
            result=job.result,
            error=job.error,
        )
        job.finished.set()
        with self._lock:
            self._live.pop(job.id, None)

    def _progress_writer(self, job: Job) -> Callable[[Progress], None]:
        last = {"stage": None, "at": 0.0}

        def write(p: Progress) -> None:
            now = time.monotonic()
            if p.stage != last["stage"] or now - last["at"] >= PROGRESS_EVERY_S:
                last.update(stage=p.stage, at=now)
                self._save(job, stage=p.stage, pages_read=p.pages_read, pages_total=p.pages_total)

        return write

    def _save(self, job: Job, **fields) -> None:
        try:
            self.store.update(job.id, **fields)
        except Exception:  # a full disk must not stop the build itself; the job is still in memory
            log.exception("could not write ingest job %s to the data folder", job.id)

    def _names(self, targets: list[Path]) -> list[str]:
        root = Path(self.archive).resolve() if self.archive else None
        out = []
        for t in targets:
            path = Path(t).resolve()
            out.append(path.relative_to(root).as_posix() if root and path.is_relative_to(root) else path.name)
        return out
