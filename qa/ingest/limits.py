"""Size caps for one page file (一版): how many PDF/TIFF pages and how many characters it may hold.

One file is one newspaper page (版), so a file with hundreds of pages or hundreds of thousands of
characters is not a 版: without caps a 2,000-page PDF took 15 s and 915 MB and became one
406,893-character 「第1页」 article that drowned every search. Such files are skipped and named in
the skip report with the reason. The caps can be raised for unusual archives through the
environment (``QA_MAX_FILE_PAGES``, ``QA_MAX_PAGE_CHARS``), read at each file so tests and a
long-running indexer see a change; see docs/security.md.
"""

from __future__ import annotations

import os

from qa.errors import BadInput

MAX_FILE_PAGES = 50  # a 版 is one PDF page, sometimes a few (jumps, inserts); 50 leaves ample room
MAX_PAGE_CHARS = 100_000  # a dense broadsheet page has ~15,000 characters


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return max(1, int(value)) if value else default
    except ValueError:
        raise BadInput(f"环境变量 {name} 应为正整数，现为 {value[:30]}") from None


def max_file_pages() -> int:
    return _env_int("QA_MAX_FILE_PAGES", MAX_FILE_PAGES)


def max_page_chars() -> int:
    return _env_int("QA_MAX_PAGE_CHARS", MAX_PAGE_CHARS)


def check_pages(count: int, kind: str) -> None:
    """BadInput when a file has more pages than a 版 file may (``kind``: "PDF", "TIFF")."""
    cap = max_file_pages()
    if count > cap:
        raise BadInput(
            f"{kind} 有 {count} 页，超过单个版面文件 {cap} 页的上限（一个文件应是报纸的一版），已跳过"
            "（确需读取可设置环境变量 QA_MAX_FILE_PAGES）"
        )


def check_chars(count: int, more: bool = False) -> None:
    """BadInput when a file's text is longer than a 版 may be; ``more``: reading stopped early."""
    cap = max_page_chars()
    if count > cap:
        size = f"超过 {count} 字" if more else f"{count} 字"
        raise BadInput(
            f"文字过多（{size}，单个版面文件上限 {cap} 字，一版报纸通常不到 2 万字），已跳过"
            "（确需读取可设置环境变量 QA_MAX_PAGE_CHARS）"
        )
