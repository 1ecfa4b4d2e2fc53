"""The on-disk layout of an index, owned here: file names, format version, sealing, the live version.

::

    index/
      CURRENT          one line: the live version's folder name
      .lock            held (flock) while a build runs
      cache/           kept across versions (OCR text, vectors by text hash)
      segments/        immutable parts (s000012/: one batch of pages with its own FAISS, BM25,
                       SQLite, row arrays and periods), shared by the versions that list them
      v000007/         one complete version: meta.json lists its segments and the pages deleted
                       from them since they were written; sealed by COMPLETE

A build holds the lock, writes its new segments (each sealed by ``COMPLETE``), then ``vNNNNNN/``,
:func:`seal` s it (meta.json, fsync, ``COMPLETE``, fsync) and :func:`publish` es it by replacing
``CURRENT`` with an atomic rename. Adding one issue writes one small segment; old segments are
never rewritten, only merged (``qa.store.folder.merge``). Readers only ever see sealed versions;
:func:`cleanup_versions` keeps the live and the previous version and the segments they list.

>>> sqlite_uri(Path("/tmp/x #1?%41/meta.sqlite"))
'file:///tmp/x%20%231%3F%2541/meta.sqlite?mode=ro&immutable=1'
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from qa.errors import IndexFormatError, IndexLocked, IndexMissing

FORMAT_VERSION = 3  # 2: periods/ added; 3: a version is a list of segments

CURRENT = "CURRENT"
LOCK = ".lock"
CACHE = "cache"
COMPLETE = "COMPLETE"
META = "meta.json"
BM25 = "bm25"
DB = "meta.sqlite"
ROW_DATE, ROW_PAGE, ROW_PAPER = "row_date.npy", "row_page.npy", "row_paper.npy"
PERIODS = "periods"  # qa.time.period_index files: the periods each chunk speaks of
SEGMENTS = "segments"
SEGMENT_META = "segment.json"
DENSE_DIR = "dense"  # qa.store.folder.dense files of a segment

DEFAULT_LOCK_TIMEOUT = 60.0
_VERSION = re.compile(r"v(\d{6})")
_SEGMENT = re.compile(r"s(\d{6})")


def print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sqlite_uri(db_path: Path, *, immutable: bool = True) -> str:
    """A read-only SQLite URI for ``db_path``; any character in the path (``#``, ``?``, ``%``) is escaped."""
    uri = Path(os.path.abspath(db_path)).as_uri() + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def current_version(index_dir: Path) -> str | None:
    """Name of the live version folder (contents of ``CURRENT``), or None when there is none."""
    try:
        name: str | None = (Path(index_dir) / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        name = None  # bytes that are no text: damaged, not absent
    if name is None or any(c in name for c in "/\\\x00\n") or name in (".", ".."):
        raise IndexFormatError(
            f"索引文件夹 {index_dir} 中的 CURRENT 文件已损坏（应为一个版本名，如 v000007）。"
            "请把最新的完整版本名写入 CURRENT，或删除它后重新运行 `qa index 路径…`。"
        )
    return name or None


def read_meta(folder: Path, accept: tuple[int, ...] = (FORMAT_VERSION,)) -> dict:
    """meta.json of a version folder, checked for a format version in ``accept``."""
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise IndexMissing(f"索引版本 {folder.name} 不完整或已被删除（{folder}）。请重新运行 `qa index 路径…`。") from e
    except ValueError as e:
        raise IndexFormatError(
            f"索引 {folder} 的 meta.json 已损坏：{e}。请运行 `qa index --rebuild 路径…` 重建。"
        ) from e
    if meta.get("format_version") not in accept:
        raise IndexFormatError(
            f"索引 {folder} 的格式版本为 {meta.get('format_version')}，本程序需要 {FORMAT_VERSION}。"
            "请运行 `qa index --rebuild 路径…` 重建索引。"
        )
    return meta


def live_folder(index_dir: Path) -> Path:
    """The live version's folder; IndexMissing when nothing has been published yet."""
    name = current_version(index_dir)
    if name is None:
        raise IndexMissing(f"索引不存在：{index_dir} 下没有已发布的索引。请先运行 `qa index seeds/` 建立索引。")
    return Path(index_dir) / name


def version_folders(index_dir: Path) -> list[Path]:
    return sorted(p for p in Path(index_dir).iterdir() if p.is_dir() and _VERSION.fullmatch(p.name))


def segment_folders(index_dir: Path) -> list[Path]:
    folder = Path(index_dir) / SEGMENTS
    return sorted(p for p in folder.iterdir() if p.is_dir() and _SEGMENT.fullmatch(p.name)) if folder.is_dir() else []


def next_segment(index_dir: Path, taken: set[str] = frozenset()) -> Path:
    """``index/segments/s000013`` when ``s000012`` is the newest folder (or name in ``taken``)."""
    numbers = [int(p.name[1:]) for p in segment_folders(index_dir)] + [int(n[1:]) for n in taken] + [0]
    return Path(index_dir) / SEGMENTS / f"s{max(numbers) + 1:06d}"


def next_version(index_dir: Path) -> str:
    """``v000008`` when ``v000007`` is the newest folder, sealed or not."""
    return f"v{max([int(p.name[1:]) for p in version_folders(index_dir)] + [0]) + 1:06d}"


@contextmanager
def build_lock(
    index_dir: Path, timeout: float = DEFAULT_LOCK_TIMEOUT, log: Callable[[str], None] = print_to_stderr
) -> Iterator[None]:
    """Hold ``index_dir/.lock`` for a build; say that we wait, wait up to ``timeout`` s, then raise IndexLocked."""
    with file_lock(Path(index_dir) / LOCK, timeout, log, f"另一个建索引任务（进程 {{}}）正在更新 {index_dir}"):
        yield


@contextmanager
def file_lock(path: Path, timeout: float, log: Callable[[str], None], busy: str) -> Iterator[None]:
    """Hold an flock on ``path``; ``busy`` (with ``{}`` for the holder's pid) says who has it while we wait."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    told = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                if time.monotonic() >= deadline:
                    raise IndexLocked(
                        f"{busy.format(holder)}，等待 {timeout:g} 秒后仍未结束。请等它完成后再试。"
                    ) from None
                if not told and timeout > 0:
                    log(f"{busy.format(holder)}，等待它完成（最多 {timeout:g} 秒）…")
                    told = True
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # only for the messages above
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def cleanup_versions(index_dir: Path, log: Callable[[str], None] = print_to_stderr) -> None:
    """Keep the live version and the newest sealed one before it, and the segments they list; delete the rest."""
    live = current_version(index_dir)
    sealed = [p.name for p in version_folders(index_dir) if (p / COMPLETE).exists()]
    previous = max((v for v in sealed if v != live and (live is None or v < live)), default=None)
    for p in version_folders(index_dir):
        if p.name not in (live, previous):
            if not (p / COMPLETE).exists():
                log(f"清理未完成的索引版本 {p.name}")
            shutil.rmtree(p, ignore_errors=True)
    (Path(index_dir) / (CURRENT + ".tmp")).unlink(missing_ok=True)
    listed: set[str] = set()
    for name in (live, previous):
        try:
            listed |= {s["name"] for s in json.loads((Path(index_dir) / name / META).read_text("utf-8"))["segments"]}
        except (TypeError, OSError, ValueError, KeyError):
            continue  # no such version, or one of format 1/2 (no segments)
    for p in segment_folders(index_dir):
        if p.name not in listed:
            shutil.rmtree(p, ignore_errors=True)


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


def seal(folder: Path, meta: dict) -> None:
    """Write meta.json (with this format version), flush everything, then mark the folder COMPLETE."""
    meta = {"format_version": FORMAT_VERSION, "version": folder.name, **meta}
    (folder / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    fsync_tree(folder)
    (folder / COMPLETE).write_text(folder.name + "\n", encoding="utf-8")
    fsync_tree(folder)


def seal_and_publish(index_dir: Path, version: str, meta: dict, log: Callable[[str], None]) -> None:
    """Seal ``index_dir/version`` with ``meta`` (plus the build time), make it live, drop old versions."""
    folder = Path(index_dir) / version
    folder.mkdir(parents=True, exist_ok=True)
    built = dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    seal(folder, {"built_at": built, **meta})
    publish(index_dir, version)
    cleanup_versions(index_dir, log)


def publish(index_dir: Path, version: str) -> None:
    """Point CURRENT at ``version`` atomically (tmp file, fsync, rename, fsync folder)."""
    index_dir = Path(index_dir)
    tmp = index_dir / (CURRENT + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(version + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_path(index_dir)
