"""The version folders of an index: the build lock, atomic publishing of CURRENT, and cleanup.

A build holds ``index/.lock`` (flock) throughout, writes ``vNNNNNN/`` completely, fsyncs it,
marks it ``COMPLETE``, then :func:`publish` replaces ``CURRENT`` by an atomic rename. Readers
only ever see complete versions; :func:`cleanup_versions` keeps the live and the previous one.

>>> publish(Path("index"), "v000008")      # CURRENT now reads "v000008"
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .errors import IndexLocked
from .store import CURRENT, current_version

DEFAULT_LOCK_TIMEOUT = 60.0
_VERSION = re.compile(r"v(\d{6})")


def print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def build_lock(index_dir: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold ``index_dir/.lock`` for a build; wait up to ``timeout`` s, then raise IndexLocked."""
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise IndexLocked(
                        f"另一个建索引任务（进程 {holder}）正在更新 {index_dir}，等待 {timeout:g} 秒后仍未结束。请等它完成后再试。"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # only for the message above
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def version_folders(index_dir: Path) -> list[Path]:
    return sorted(p for p in index_dir.iterdir() if p.is_dir() and _VERSION.fullmatch(p.name))


def cleanup_versions(index_dir: Path, log: Callable[[str], None] = print_to_stderr) -> None:
    """Keep the live version and the newest complete one before it; delete everything else."""
    live = current_version(index_dir)
    complete = [p.name for p in version_folders(index_dir) if (p / "COMPLETE").exists()]
    previous = max((v for v in complete if v != live and (live is None or v < live)), default=None)
    for p in version_folders(index_dir):
        if p.name not in (live, previous):
            if not (p / "COMPLETE").exists():
                log(f"清理未完成的索引版本 {p.name}")
            shutil.rmtree(p, ignore_errors=True)
    (index_dir / "CURRENT.tmp").unlink(missing_ok=True)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), key=lambda q: len(q.parts), reverse=True):
        _fsync_path(p)  # files and sub-folders, deepest first
    _fsync_path(folder)


def publish(index_dir: Path, version: str) -> None:
    """Point CURRENT at ``version`` atomically (tmp file, fsync, rename, fsync folder)."""
    tmp = index_dir / "CURRENT.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(version + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_path(index_dir)
