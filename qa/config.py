"""Settings shared by the CLI, the web app and the library, with their defaults.

Each can be given explicitly; the index folder also comes from ``QA_INDEX``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TOP_K = 5
MAX_TOP_K = 20


def index_dir(given: str | os.PathLike | None = None) -> Path:
    """``--index DIR`` if given, else ``$QA_INDEX``, else ``./index``."""
    return Path(given or os.environ.get("QA_INDEX") or "index")


@dataclass
class Settings:
    """What ``create_app`` and ``qa serve`` take. ``as_of`` pins 「去年」 etc. (default: newest issue)."""

    index: Path = Path("index")
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 8
    rate_limit: str = "60 per minute"
    reload_interval_s: float = 1.0
    merge_interval_s: float = 60.0  # qa serve checks for full size tiers and merges them in the background; 0: never
    as_of: str | None = None
    # Optional LLM answers (qa/answer/llm.py); unset here, they still come from QA_LLM_* or a config file.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_config: str | None = None
    # Web hardening (docs/security.md): Host names served (None: loopback names on a loopback bind,
    # any otherwise), reverse proxies whose X-Forwarded-For is believed (CIDRs or addresses).
    allowed_hosts: tuple[str, ...] | None = None
    trusted_proxies: tuple[str, ...] = ()
    backend: object | None = None  # a qa.store.location.MilvusTarget (``--backend URI``) instead of ``index``
    # Accounts, uploads, inbox, feedback (docs/operations-inbox.md). None: ``qa-data`` beside the index
    # folder (``qa.admin.accounts.data_dir``) and ``<data_dir>/archive``.
    data_dir: Path | None = None
    archive: Path | None = None
    read_requires_login: bool = False
    upload_max_file: int = 50 * 1024 * 1024
    upload_max_total: int = 200 * 1024 * 1024
    inbox: Path | None = None
    inbox_poll_s: float = 1.0

    @property
    def location(self):
        """What this server reads and its uploads, inbox and corrections publish to: the Milvus target
        of ``--backend``, else the index folder (a ``qa.store.location.Location``)."""
        return self.backend or Path(self.index)
