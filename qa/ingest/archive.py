"""Archive walker: issue folders, folders with ``manifest.csv``, and JSONL exports -> Pages.

``read_archive(["seeds"])`` walks each PATH (a folder, searched recursively, or one file) and
returns every readable page, plus a ``Skipped`` entry (reason in Chinese) for each file or line
it could not use. One bad file never stops the rest. Page files are read by their suffix:
.txt (``qa.ingest.textfile``), .pdf (``qa.ingest.pdf``: text layer with columns, scanned pages
through OCR), .png/.jpg/.jpeg/.tif/.tiff (``qa.ingest.image``: OCR). ``ocr_cache`` is a folder
where OCR results are kept by file content, so re-reading an unchanged scan costs no OCR.

Example::

    >>> r = read_archive(["seeds"])
    >>> r.pages[0].paper, r.pages[0].date, r.pages[0].page, r.pages[0].source, r.pages[0].read_as
    ('聊城日报', '2025-07-29', 1, 'seeds/002_f585da57cd6e1821.txt', 'text')
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qa.errors import BadInput
from qa.text.normalize import decode_bytes, parse_date
from qa.ingest.cache import OcrCache
from qa.ingest.image import read_image_file
from qa.ingest.jsonl import display_path, jsonl_page
from qa.ingest.ocr import IMAGE_SUFFIXES
from qa.ingest.pagetext import PageText
from qa.ingest.pdf import read_pdf_file
from qa.ingest.textfile import read_text_file
from qa.types import Page, Skipped

PAGE_NAME = re.compile(r"^(\d{1,3})(?:_(.+))?$")  # 01_要闻 -> page 1, 版名 要闻
PAGE_SUFFIXES = {".txt", ".pdf", *IMAGE_SUFFIXES}
IGNORED = {"manifest.csv", "issue.toml"}


@dataclass
class IngestReport:
    """What ``read_archive`` found: pages sorted by (paper, date, page, page_id), skipped inputs, given roots."""

    pages: list[Page] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)


def read_page_file(path: Path, cache: OcrCache | None = None) -> PageText:
    """One page file by its suffix; raises BadInput with a Chinese reason, or OSError."""
    suffix = path.suffix.lower()
    cache = cache or OcrCache(None)
    start = time.perf_counter()
    if suffix == ".pdf":
        page = read_pdf_file(path, cache)
    elif suffix in IMAGE_SUFFIXES:
        page = read_image_file(path, cache)
    else:
        page = read_text_file(path)
    page.seconds = round(time.perf_counter() - start, 3)
    return page


class _Reader:
    """Collects pages and skips for one ``read_archive`` call; ``seen`` de-duplicates page ids."""

    def __init__(self, cache: OcrCache, sink: Callable[[Page], None] | None = None) -> None:
        self.report = IngestReport()
        self.seen: set[str] = set()
        self.cache = cache
        self.sink = sink

    def skip(self, path: Path | str, reason: str, line: int | None = None) -> None:
        src = display_path(path) if isinstance(path, Path) else path
        self.report.skipped.append(Skipped(src, reason, line))

    def add(self, page: Page) -> None:
        if page.page_id not in self.seen:
            self.seen.add(page.page_id)
            if self.sink is None:
                self.report.pages.append(page)
            else:
                self.sink(page)  # streamed: the archive is never held in memory

    def page_file(self, path: Path, root: str, paper: str, day: str, number: int | None,
                  name: str | None, issue_no: str | None) -> None:
        pid = path.resolve().as_posix()
        if pid in self.seen:
            return  # the same file under two given PATHs: read (and OCR) once
        try:
            got = read_page_file(path, self.cache)
        except BadInput as exc:
            return self.skip(path, exc.message)
        except OSError as exc:
            return self.skip(path, f"无法读取文件（{exc.strerror or exc}）")
        self.add(Page(pid, paper, day, number, got.text, display_path(path), root, name or None, issue_no or None,
                      read_as=got.read_as, roles=got.roles, columns=got.columns, ocr_confidence=got.ocr_confidence,
                      low_confidence=got.low_confidence, seconds=got.seconds, note=got.note,
                      frame=got.frame))

    def folder(self, top: Path, root: str) -> None:
        files = sorted(p for p in top.rglob("*") if p.is_file() and not _hidden(p, top))
        claimed: set[Path] = set()
        for manifest in (p for p in files if p.name == "manifest.csv"):
            claimed |= self.manifest(manifest, root)
        for path in files:
            if path.name in IGNORED or path.resolve() in claimed:
                continue
            if path.suffix.lower() == ".jsonl":
                self.jsonl(path, root)
            else:
                self.layout_file(path, root)

    def manifest(self, manifest: Path, root: str) -> set[Path]:
        """Read one manifest.csv; returns every file it names (valid rows or not) so none is read twice."""
        base, claimed = manifest.parent.resolve(), set()
        try:
            text, _ = decode_bytes(manifest.read_bytes())
        except (BadInput, OSError) as exc:
            self.skip(manifest, f"manifest.csv 无法读取：{getattr(exc, 'message', exc)}")
            return claimed
        reader = csv.DictReader(io.StringIO(text))
        missing = {"file", "paper", "date", "page"} - set(reader.fieldnames or [])
        if missing:
            self.skip(manifest, f"manifest.csv 缺少列：{'、'.join(sorted(missing))}")
            return claimed
        for row in reader:
            if (path := self.manifest_row(row, base, manifest, reader.line_num, root)) is not None:
                claimed.add(path)
        return claimed

    def manifest_row(self, row: dict, base: Path, manifest: Path, line: int, root: str) -> Path | None:
        """One manifest row: read its file or say why not; returns the file it names (None: no name)."""
        name = (row.get("file") or "").strip()
        path = (base / name).resolve()
        if not name:
            self.skip(manifest, "清单行没有文件名", line)
            return None
        if not path.is_relative_to(base):
            self.skip(manifest, f"清单中的路径越出档案文件夹：{name}", line)
            return None
        day, page = parse_date(row.get("date")), (row.get("page") or "").strip()
        if not path.is_file():
            self.skip(manifest, f"清单中列出的文件不存在：{name}", line)
        elif day is None:
            self.skip(manifest, f"日期无效：{row.get('date')}（应为 YYYY-MM-DD）", line)
        elif page and not re.fullmatch(r"\d{1,4}", page):
            self.skip(manifest, f"版次不是整数：{page}", line)
        elif not (row.get("paper") or "").strip():
            self.skip(manifest, "清单行没有报纸名称（paper）", line)
        elif path.suffix.lower() not in PAGE_SUFFIXES:
            self.skip(manifest, f"不支持的文件类型（{path.suffix or '无扩展名'}）：{name}", line)
        else:
            self.page_file(path, root, row["paper"].strip(), day, int(page) if page else None,
                           (row.get("page_name") or "").strip(), (row.get("issue_no") or "").strip())
        return path

    def layout_file(self, path: Path, root: str) -> None:
        """``<paper>/<YYYY-MM-DD>/<NN>[_<版名>].<suffix>``, with an optional ``issue.toml`` beside it."""
        if path.suffix.lower() not in PAGE_SUFFIXES:
            kinds = "、".join(sorted(PAGE_SUFFIXES | {".jsonl"}))
            return self.skip(path, f"不支持的文件类型（{path.suffix or '无扩展名'}），只读取 {kinds}")
        m, day = PAGE_NAME.match(path.stem), parse_date(path.parent.name)
        if day is None or m is None:
            return self.skip(path, "文件不在 <报纸>/<YYYY-MM-DD>/<NN>[_版名] 目录结构中，也不在任何 manifest.csv 里")
        paper, issue_no = path.parent.parent.name, None
        toml = path.parent / "issue.toml"
        if toml.is_file():
            try:
                meta = tomllib.loads(toml.read_bytes().decode("utf-8-sig"))
                paper = str(meta.get("paper") or paper)
                issue_no = str(meta["issue_no"]) if meta.get("issue_no") is not None else None
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                self.skip(toml, f"issue.toml 无法解析：{exc}")
        self.page_file(path, root, paper, day, int(m[1]), m[2], issue_no)

    def jsonl(self, path: Path, root: str) -> None:
        """One JSON object per line -> one Page with one Article; bad lines are skipped by number."""
        try:
            text, _ = decode_bytes(path.read_bytes())
        except (BadInput, OSError) as exc:
            return self.skip(path, getattr(exc, "message", None) or f"无法读取文件（{exc}）")
        base = path.resolve().as_posix()
        for n, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                self.add(jsonl_page(json.loads(line), base, n, path, root))
            except json.JSONDecodeError:
                self.skip(path, "这一行不是有效的 JSON", n)
            except BadInput as exc:
                self.skip(path, exc.message, n)


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def read_archive(paths: list[str | Path], ocr_cache: Path | None = None,
                 sink: Callable[[Page], None] | None = None) -> IngestReport:
    """Read every PATH (folder, .jsonl or page file); see the module docstring. Never raises for one bad file.

    With ``sink``, each page is handed to it as soon as it is read (in reading order) instead of
    being collected in the report: how ``qa index`` streams an archive of any size.
    """
    reader = _Reader(OcrCache(ocr_cache), sink)
    for given in paths:
        path = Path(given)
        root = path.resolve().as_posix()
        reader.report.roots.append(root)
        if not path.exists():
            reader.skip(str(given), "路径不存在")
        elif path.is_dir():
            reader.folder(path, root)
        elif path.suffix.lower() == ".jsonl":
            reader.jsonl(path, root)
        elif path.suffix.lower() in PAGE_SUFFIXES:
            reader.layout_file(path, root)
        else:
            reader.skip(path, "不支持的路径：请给出文件夹、.jsonl 文件或版面文件")
    reader.report.pages.sort(key=lambda p: (p.paper, p.date, p.page is None, p.page or 0, p.page_id))
    return reader.report
