"""Upload and correction jobs in the data folder's SQLite file (``DATA/qa.sqlite3``, table ``jobs``), so a
job's state, progress and result outlive the server process (``qa.app.jobs`` runs them).

A job row belongs to the process that runs it (``owner``: pid and the process's start time, so a
recycled pid — e.g. pid 1 in a restarted container — is not taken for the old process). On start, a
server takes over the unfinished jobs of processes that are gone (``orphans`` + ``claim``): their
files are already in the archive and the build is idempotent, so running them again finishes them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from qa.admin.datadb import DB_NAME, connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, user TEXT NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, state TEXT NOT NULL, stage TEXT NOT NULL, pages_read INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0, targets TEXT NOT NULL, issues TEXT NOT NULL, refused TEXT NOT NULL,
    result TEXT, error TEXT, owner TEXT, attempts INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS jobs_user_created ON jobs(user, created_at);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
"""
LIVE_STATES = ("queued", "running")  # state: queued -> running -> done | failed


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux ``/proc``), "" where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22 of stat; fields 1-2 end at the last ")"


OWNER = f"{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(owner: str | None) -> bool:
    """Whether the process named by ``owner`` (``pid:start``) still runs."""
    pid, _, start = (owner or "").partition(":")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        pass
    return _start_time(int(pid)) == start


class JobStore:
    """Rows of the ``jobs`` table; a connection per call (thread-safe)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _db(self) -> sqlite3.Connection:
        conn = connect(self.folder, SCHEMA)
        conn.row_factory = sqlite3.Row
        return conn

    def _read(self, sql: str, args: tuple = ()) -> list[dict]:
        if not (self.folder / DB_NAME).is_file():  # a server without accounts leaves no trace
            return []
        with closing(self._db()) as db:
            return [_decode(r) for r in db.execute(sql, args).fetchall()]

    def insert(self, job_id: str, user: str, created: float, targets: list[str], issues: list[str], refused: list):
        with closing(self._db()) as db:
            db.execute(
                "INSERT INTO jobs (id, user, created_at, updated_at, state, stage, targets, issues, refused, owner) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (job_id, user, created, time.time(), "queued", "queued", *map(_js, (targets, issues, refused)), OWNER),
            )

    def update(self, job_id: str, **fields) -> None:
        """Set columns (``result`` and lists are stored as JSON)."""
        fields = {k: _js(v) if isinstance(v, (dict, list)) else v for k, v in fields.items()}
        cols = ", ".join(f"{k}=?" for k in fields)
        with closing(self._db()) as db:
            db.execute(f"UPDATE jobs SET {cols}, updated_at=? WHERE id=?", (*fields.values(), time.time(), job_id))

    def get(self, job_id: str) -> dict | None:
        return next(iter(self._read("SELECT * FROM jobs WHERE id=?", (job_id,))), None)

    def recent(self, user: str | None, limit: int) -> list[dict]:
        """The newest jobs, of ``user`` only when given."""
        where, args = ("WHERE user=?", (user,)) if user else ("", ())
        return self._read(f"SELECT * FROM jobs {where} ORDER BY created_at DESC LIMIT ?", (*args, limit))

    def orphans(self) -> list[dict]:
        """Unfinished jobs whose process is gone, oldest first."""
        rows = self._read("SELECT * FROM jobs WHERE state IN (?,?) ORDER BY created_at", LIVE_STATES)
        return [r for r in rows if not owner_alive(r["owner"])]

    def claim(self, row: dict) -> bool:
        """Make this process the owner of an orphan (False when another process took it first)."""
        with closing(self._db()) as db:
            cur = db.execute(
                "UPDATE jobs SET owner=?, attempts=attempts+1, state='queued', updated_at=? "
                "WHERE id=? AND owner IS ? AND state IN (?,?)",
                (OWNER, time.time(), row["id"], row["owner"], *LIVE_STATES),
            )
            return cur.rowcount == 1


def _js(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _decode(row: sqlite3.Row) -> dict:
    out = dict(row)
    for k in ("targets", "issues", "refused", "result"):
        out[k] = json.loads(out[k]) if out[k] else None
    return out
