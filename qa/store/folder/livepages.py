"""The live version's pages as an incremental build asks for them, instead of read whole.

A build needs two things of the pages already indexed: for each page read now, whether it is
there and with which content hash; and at the end, which indexed pages lay under the given PATHs
(those not read again were removed). Reading every page record for that made adding one issue to
a 3-million-chunk archive cost ~20 s; here each page read is one primary-key lookup per segment,
and the pages under the PATHs are found through page-id ranges, plus a scan of the ``root``
column only in segments that recorded one of those PATHs as a root (``segment.json`` "roots";
segments written before it was recorded are scanned).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from qa.store.folder.layout import DB, SEGMENT_META, sqlite_uri
from qa.store.plan import LiveSource, under_roots

COLUMNS = "page_id, content_hash, root"


def id_ranges(root: str) -> list[tuple[str, str]]:
    """Half-open page-id ranges of the pages found under ``root`` (a folder, or a JSONL file's ``#`` ids).

    >>> id_ranges("/a/b")
    [('/a/b/', '/a/b0'), ('/a/b#', '/a/b$')]
    """
    base = root.rstrip(os.sep)
    return [(base + os.sep, base + chr(ord(os.sep) + 1)), (root + "#", root + "$")]


def recorded_roots(folder: Path) -> set[str] | None:
    """The PATHs a segment's pages were read from, as its ``segment.json`` records them (None: not recorded)."""
    try:
        roots = json.loads((folder / SEGMENT_META).read_text(encoding="utf-8")).get("roots")
    except (OSError, ValueError):
        return None
    return None if roots is None else set(roots)


class LivePages:
    """Page records (``page_id, content_hash, root`` plus ``segment``) of the live sources, on demand."""

    def __init__(self, sources: list[LiveSource]) -> None:
        self.sources = sources
        self._conns: dict[str, sqlite3.Connection] = {}

    def _db(self, src: LiveSource) -> sqlite3.Connection:
        conn = self._conns.get(src.name)
        if conn is None:
            conn = self._conns[src.name] = sqlite3.connect(
                sqlite_uri(src.folder / DB), uri=True, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
        return conn

    def find(self, page_id: str) -> dict | None:
        """The live record of ``page_id``, or None when it is not indexed (or was deleted)."""
        for src in self.sources:
            if page_id in src.deleted:
                continue
            row = self._db(src).execute(f"SELECT {COLUMNS} FROM pages WHERE page_id = ?", (page_id,)).fetchone()
            if row is not None:
                return {**dict(row), "segment": src.name}
        return None

    def under(self, roots: list[str]) -> dict[str, dict]:
        """Live records of the pages found (or to be found) under ``roots``, by page id."""
        out: dict[str, dict] = {}
        if not roots:
            return out
        by_id, id_args = ["page_id IN ({})".format(",".join("?" * len(roots)))], list(roots)
        for root in roots:
            for low, high in id_ranges(root):
                by_id.append("(page_id >= ? AND page_id < ?)")
                id_args += [low, high]
        for src in self.sources:
            clauses, args = list(by_id), list(id_args)
            known = recorded_roots(src.folder) if src.name else None
            rooted = roots if known is None else sorted(known & set(roots))
            if rooted:  # the root column has no index: scanned only where one of these roots is recorded
                clauses.append("root IN ({})".format(",".join("?" * len(rooted))))
                args += rooted
            for row in self._db(src).execute(f"SELECT {COLUMNS} FROM pages WHERE " + " OR ".join(clauses), args):
                if row["page_id"] not in src.deleted and under_roots(row["page_id"], row["root"] or "", roots):
                    out[row["page_id"]] = {**dict(row), "segment": src.name}
        return out

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
