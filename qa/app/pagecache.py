"""Page images on disk: rendered once in a child process (``qa.ingest.render``), then served from
``INDEX/cache/pages/``, a folder bounded in size (oldest used first out).

A cached image is named by its ETag, which hashes the page's key, the original file's size and
modification time, and the render settings: a replaced original gets a new name (and the old one
ages out), so a cached image is never stale. Renders run at most ``RENDERS`` at a time, one per
image however many requests ask for it at once, each under ``RENDER_TIMEOUT`` seconds.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from qa.errors import ImageUnavailable
from qa.ingest.render import MAX_SIDE, QUALITY

RENDER_TIMEOUT = 60.0
RENDERS = 2  # child renders at once: one per core of a small server
DEFAULT_MAX_BYTES = 512 * 1024**2
RENDER_VERSION = 1  # bump to re-render every cached image


def cache_bytes() -> int:
    """The cache's size bound: ``QA_PAGE_CACHE_MB`` megabytes, else 512."""
    try:
        return int(float(os.environ.get("QA_PAGE_CACHE_MB", "")) * 1024**2) or DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


class PageImages:
    """The image cache of one index folder; shared by every request thread."""

    def __init__(self, folder: Path, max_bytes: int | None = None) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes if max_bytes is not None else cache_bytes()
        self._renders = threading.BoundedSemaphore(RENDERS)
        self._lock = threading.Lock()
        self._busy: dict[str, threading.Lock] = {}

    def etag(self, row: dict, side: int = MAX_SIDE) -> str:
        """The ETag (hex) of the image ``side`` pixels on its longer side, from the original file's size and
        time; ImageUnavailable when the file is gone."""
        try:
            st = os.stat(row["file"])
        except OSError:
            raise ImageUnavailable("这一版的原始文件已不在服务器上（已移动或删除），无法显示版面图像；"
                                   "引文和正文不受影响。") from None
        key = f"{row['image_key']}|{st.st_size}|{st.st_mtime_ns}|{row['kind']}|{side}|{QUALITY}|{RENDER_VERSION}"
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]

    def image(self, row: dict, tag: str, side: int = MAX_SIDE) -> bytes:
        """The JPEG bytes of a page image (``tag`` from :meth:`etag` with the same ``side``): from the
        cache, else rendered now; ImageUnavailable on failure."""
        path = self.folder / f"{tag}.jpg"
        data = _read(path)
        if data is not None:
            return data
        with self._lock:
            busy = self._busy.setdefault(tag, threading.Lock())
        try:
            with busy:  # a second request for the same image waits for the first render
                data = _read(path)
                return data if data is not None else self._render(row, path, side)
        finally:
            with self._lock:
                self._busy.pop(tag, None)

    def _render(self, row: dict, path: Path, side: int) -> bytes:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".jpg")
        os.close(fd)
        try:
            with self._renders:
                command = [sys.executable, "-m", "qa.ingest.render", row["kind"], row["file"], tmp, str(side)]
                done = subprocess.run(command, capture_output=True, timeout=RENDER_TIMEOUT, text=True, env=_child_env())
            if done.returncode != 0:
                lines = done.stderr.strip().splitlines()
                why = lines[-1] if done.returncode == 2 and lines else "渲染进程异常退出"
                raise ImageUnavailable(f"这一版的原始文件无法读取（{why}），无法显示版面图像；引文和正文不受影响。")
            data = Path(tmp).read_bytes()
            os.replace(tmp, path)
        except subprocess.TimeoutExpired:
            raise ImageUnavailable("这一版的版面图像渲染超时，无法显示；引文和正文不受影响。") from None
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._evict()
        return data

    def _evict(self) -> None:
        """Remove the least recently used images until the folder is within ``max_bytes``."""
        files = []
        for entry in os.scandir(self.folder):
            if entry.name.endswith(".jpg") and not entry.name.startswith("."):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                files.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in files)
        for _, size, name in sorted(files):
            if total <= self.max_bytes:
                break
            Path(name).unlink(missing_ok=True)
            total -= size


def _read(path: Path) -> bytes | None:
    """A cached image's bytes (its time touched: eviction takes the least recently used), or None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        os.utime(path)
    except OSError:
        pass  # a read-only cache still serves
    return data


def _child_env() -> dict:
    """The child imports this same ``qa`` package, wherever it was imported from."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


_caches: dict[Path, PageImages] = {}
_caches_lock = threading.Lock()


def page_images(folder: Path) -> PageImages:
    """The one cache object of ``folder`` in this process."""
    folder = Path(folder)
    with _caches_lock:
        if folder not in _caches:
            _caches[folder] = PageImages(folder)
        return _caches[folder]
