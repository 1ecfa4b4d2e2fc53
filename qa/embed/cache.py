"""Vectors persisted as they are computed, so a killed bulk build re-embeds only what was not yet saved.

Layout of the cache folder (``INDEX/cache/vectors``)::

    keys.sqlite                 (model, text hash) -> row; model -> its vector file; WAL journal
    <model-slug>-<dim>.f32      that model's vectors: raw little-endian float32 rows, appended
                                (``-c<N>`` after a compaction)

Write order per batch: append the rows to the ``.f32`` file, fsync it, then commit their keys.
A crash before the commit leaves rows no key points to; ``open`` cuts the file back to the rows
the database knows (this also drops a torn last record), so the next run embeds those texts
again. Lookups are SQLite index probes and a memory map of the vector file: memory stays
bounded with millions of vectors. No pickle anywhere.

Example::

    >>> import tempfile, pathlib
    >>> class Count:
    ...     name, dim, calls = "demo", 2, 0
    ...     def encode_passages(self, texts):
    ...         self.calls += len(texts)
    ...         return np.array([[1.0, len(t)] for t in texts], dtype=np.float32)
    >>> emb, folder = Count(), pathlib.Path(tempfile.mkdtemp())
    >>> cache = VectorCache.open(folder, "demo", 2)
    >>> v = cache.embed(emb, ["h1", "h2", "h1"], ["a", "bb", "a"], progress=False)
    >>> v.shape, emb.calls                     # identical texts embedded once
    ((3, 2), 2)
    >>> v2 = VectorCache.open(folder, "demo", 2).embed(emb, ["h2", "h3"], ["bb", "ccc"], progress=False)
    >>> emb.calls                              # only the new text
    3
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Callable

import numpy as np

from qa.embed.batches import embedded_batches, progress_bar, show_progress
from qa.errors import IndexFormatError

_LOOKUP_CHUNK = 500  # keys per SELECT ... IN (...): well under SQLite's parameter limit


class VectorCache:
    """Append-only, crash-safe store of one model's passage vectors keyed by text hash."""

    def __init__(self, folder: Path, model_name: str, dim: int, db: sqlite3.Connection, path: Path) -> None:
        self.folder, self.model_name, self.dim = folder, model_name, dim
        self._db, self._path = db, path
        self.rows = db.execute("SELECT COUNT(*) FROM vec WHERE model = ?", (model_name,)).fetchone()[0]

    @classmethod
    def open(cls, folder: Path, model_name: str, dim: int) -> VectorCache:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(folder / "keys.sqlite", check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a committed key survives power loss, like its fsynced row
        db.execute(
            "CREATE TABLE IF NOT EXISTS vec (model TEXT, hash TEXT, row INTEGER, PRIMARY KEY (model, hash))"
            " WITHOUT ROWID"
        )
        db.execute("CREATE TABLE IF NOT EXISTS store (model TEXT PRIMARY KEY, file TEXT)")
        db.commit()
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_name)[:80] + f"-{dim}"
        row = db.execute("SELECT file FROM store WHERE model = ?", (model_name,)).fetchone()
        if row is None:
            with db:
                db.execute("INSERT INTO store VALUES (?, ?)", (model_name, slug + ".f32"))
        path = folder / (row[0] if row else slug + ".f32")
        path.touch()
        for stale in folder.glob(slug + "*.f32*"):  # left by a compaction that did not commit
            if stale != path:
                stale.unlink()
        self = cls(folder, model_name, dim, db, path)
        self._repair()
        return self

    def _repair(self) -> None:
        """Cut the vector file back to the rows whose keys were committed (drops torn or orphan rows)."""
        row_bytes = 4 * self.dim
        size = self._path.stat().st_size
        if size < self.rows * row_bytes:
            raise IndexFormatError(
                f"向量缓存 {self._path} 比记录的 {self.rows} 行短（{size} 字节），"
                f"文件已损坏：请删除 {self.folder} 后重建。"
            )
        if size > self.rows * row_bytes:
            with self._path.open("r+b") as f:
                f.truncate(self.rows * row_bytes)
                os.fsync(f.fileno())

    def lookup(self, hashes: list[str]) -> dict[str, int]:
        """Row numbers of the hashes already stored."""
        found: dict[str, int] = {}
        uniq = list(dict.fromkeys(hashes))
        for i in range(0, len(uniq), _LOOKUP_CHUNK):
            part = uniq[i : i + _LOOKUP_CHUNK]
            q = f"SELECT hash, row FROM vec WHERE model = ? AND hash IN ({','.join('?' * len(part))})"
            found.update(self._db.execute(q, (self.model_name, *part)).fetchall())
        return found

    def _append(self, hashes: list[str], vecs: np.ndarray) -> list[int]:
        rows = list(range(self.rows, self.rows + len(hashes)))
        with self._path.open("ab") as f:
            f.write(np.ascontiguousarray(vecs, dtype="<f4").tobytes())
            f.flush()
            os.fsync(f.fileno())  # rows on disk before their keys are committed
        with self._db:
            self._db.executemany(
                "INSERT INTO vec VALUES (?, ?, ?)", [(self.model_name, h, r) for h, r in zip(hashes, rows)]
            )
        self.rows += len(hashes)
        return rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors at these rows (read through a memory map)."""
        if self.rows == 0 or len(rows) == 0:
            return np.zeros((len(rows), self.dim), dtype=np.float32)
        mm = np.memmap(self._path, dtype="<f4", mode="r", shape=(self.rows, self.dim))
        return np.asarray(mm[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def embed(
        self,
        embedder,
        hashes: list[str],
        texts: list[str],
        progress: bool | None = None,
        batch_size: int = 64,
        on_batch: Callable[[list[str]], None] | None = None,
    ) -> np.ndarray:
        """Vectors for ``texts`` in input order: stored ones read back, the rest embedded and stored batch by batch
        (``on_batch`` is told the texts of each stored batch: a caller's own progress bar)."""
        if len(hashes) != len(texts):
            raise ValueError("hashes and texts differ in length")
        if embedder.dim != self.dim:
            raise ValueError(f"embedder dim {embedder.dim} != cache dim {self.dim}")
        found = self.lookup(hashes)
        todo: dict[str, str] = {}  # hash -> text, each missing hash once
        for h, t in zip(hashes, texts):
            if h not in found:
                todo.setdefault(h, t)
        miss_h, miss_t = list(todo), list(todo.values())
        bar = None
        if show_progress(progress) and miss_t:
            done = len(hashes) - sum(1 for h in hashes if h in todo)
            bar = progress_bar(sum(len(t) for t in miss_t), len(hashes), done)
        done = len(hashes) - len(miss_h)
        for idx, v in embedded_batches(embedder, miss_t, batch_size):
            rows = self._append([miss_h[i] for i in idx], v)
            found.update(zip((miss_h[i] for i in idx), rows))
            if on_batch is not None:
                on_batch([miss_t[i] for i in idx])
            if bar is not None:
                done += len(idx)
                bar.update(sum(len(miss_t[i]) for i in idx))
                bar.set_postfix_str(f"块 {done}/{len(hashes)}", refresh=False)
        if bar is not None:
            bar.close()
        return self.vectors(np.array([found[h] for h in hashes], dtype=np.int64))

    def compact(self, keep: set[str]) -> int:
        """Rewrite the store with only the hashes in ``keep`` (this model's); returns rows dropped.

        The kept rows go to a new file; its name and the renumbered keys are committed in one
        transaction, so a crash leaves either the old store or the new one, never a mix.
        """
        rows = self._db.execute("SELECT hash, row FROM vec WHERE model = ? ORDER BY row", (self.model_name,)).fetchall()
        kept = [(h, r) for h, r in rows if h in keep]
        m = re.match(r"(.*?)(?:-c(\d+))?\.f32$", self._path.name)
        new = self._path.with_name(f"{m.group(1)}-c{int(m.group(2) or 0) + 1}.f32")
        with new.open("wb") as f:
            for i in range(0, len(kept), 4096):
                part = np.array([r for _, r in kept[i : i + 4096]], dtype=np.int64)
                f.write(self.vectors(part).astype("<f4").tobytes())
            f.flush()
            os.fsync(f.fileno())
        with self._db:
            self._db.execute("DELETE FROM vec WHERE model = ?", (self.model_name,))
            self._db.executemany(
                "INSERT INTO vec VALUES (?, ?, ?)", [(self.model_name, h, i) for i, (h, _) in enumerate(kept)]
            )
            self._db.execute("UPDATE store SET file = ? WHERE model = ?", (new.name, self.model_name))
        old, self._path = self._path, new
        old.unlink()
        dropped, self.rows = self.rows - len(kept), len(kept)
        return dropped

    def close(self) -> None:
        self._db.close()
