"""The data folder's one SQLite file (``DATA/qa.sqlite3``): accounts, audit, feedback and corrections
in one file, so one backup covers them all. Each module brings its own tables (``CREATE … IF NOT EXISTS``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

DB_NAME = "qa.sqlite3"
_READY: set[tuple[Path, str]] = set()


def connect(folder: Path, schema: str) -> sqlite3.Connection:
    """A connection to ``folder/qa.sqlite3`` with ``schema``'s tables; WAL so readers never wait on a writer."""
    path = Path(folder).absolute() / DB_NAME
    fresh = (path, schema) not in _READY or not path.is_file()
    if fresh:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    if fresh:  # once per process, file and schema
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(schema)
        _READY.add((path, schema))
    return conn
