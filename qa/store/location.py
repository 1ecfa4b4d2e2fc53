"""Where an index lives: the embedded default (a FAISS index folder) or Milvus, named by ``--backend URI``.

A location is either a folder (``Path``) or a :class:`MilvusTarget`, made from a URI by
:func:`parse_backend`: a Milvus Lite database file (``./milvus.db``, one process at a time) or a
Milvus server (``http://host:19530``, any number of ``qa serve`` replicas and one ``qa index``).
``qa.store.open`` opens either kind for the ask path and the hot reload.

>>> parse_backend("http://10.0.0.5:19530").uri
'http://10.0.0.5:19530'
>>> parse_backend("archive/milvus.db").is_lite
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from qa.errors import BadInput
from qa.store.folder.layout import CACHE

ALIAS_SUFFIX = "_live"
DEFAULT_PREFIX = "qa"


@dataclass(frozen=True)
class MilvusTarget:
    """A Milvus (server or Lite file) holding this archive's collections, all named ``<prefix>_…``."""

    uri: str
    prefix: str = DEFAULT_PREFIX

    @property
    def is_lite(self) -> bool:
        return not self.uri.startswith(("http://", "https://"))

    @property
    def alias(self) -> str:
        """The alias that names the live version's collection (switched atomically on publish)."""
        return self.prefix + ALIAS_SUFFIX

    def __str__(self) -> str:
        return self.uri


Location = Path | MilvusTarget


def local_folder(location: Location) -> Path:
    """The folder on this machine that holds an index's corrections overlay (``corrections.json``) and
    OCR cache (``cache/ocr``): a folder index itself; beside a Milvus Lite database ``<db>.cache``;
    for a Milvus server ``$QA_MILVUS_DIR``, else ``<user cache>/qa/milvus/<host>_<port>_<prefix>``
    (replicas on several hosts that take corrections share one folder through ``QA_MILVUS_DIR``)."""
    if not isinstance(location, MilvusTarget):
        return Path(location)
    if location.is_lite:
        return Path(location.uri + ".cache")
    if os.environ.get("QA_MILVUS_DIR"):
        return Path(os.environ["QA_MILVUS_DIR"])
    parts = urlsplit(location.uri)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "qa" / "milvus" / f"{parts.hostname}_{parts.port}_{location.prefix}"


def ocr_cache(location: Location) -> Path:
    """Where the OCR text of scanned pages is kept for an index (``cache/ocr`` in its local folder)."""
    return local_folder(location) / CACHE / "ocr"


def parse_backend(text: str) -> MilvusTarget:
    """``--backend URI`` -> a MilvusTarget; BadInput (Chinese, naming the value) for anything else."""
    value = str(text).strip()
    usage = (
        "--backend 应为 Milvus Lite 数据库文件（以 .db 结尾，如 ./milvus.db）"
        "或 Milvus 服务地址（如 http://127.0.0.1:19530）"
    )
    if value.startswith(("http://", "https://")):
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise BadInput(f"{usage}；收到「{value}」，其中的端口不是数字。") from None
        if not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise BadInput(f"{usage}；收到「{value}」，地址应只有主机和端口。")
        return MilvusTarget(f"{parts.scheme}://{parts.hostname}:{port or 19530}")
    if "://" in value:
        raise BadInput(f"{usage}；收到「{value}」，不支持这种协议。")
    if not value.endswith(".db") or value == ".db":
        raise BadInput(f"{usage}；收到「{value}」。")
    if os.path.exists(value) and not os.path.isdir(value):
        raise BadInput(f"{usage}；「{value}」是一个普通文件，不是 Milvus Lite 数据库（它是一个文件夹）。")
    return MilvusTarget(os.path.abspath(value))
