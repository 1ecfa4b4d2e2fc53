"""Turn a ``POST /api/issues`` multipart request into page files in the archive, safely.

The client's file names are used for nothing but their extension (and to match manifest rows):
every file is written as ``ARCHIVE/<paper>/<YYYY-MM-DD>/<NN>.<ext>`` with a checked paper name, a
real date and a page number 1–999. Limits: ``upload_max_file`` bytes per file and
``upload_max_total`` per request (413). A file of a type the archive cannot read, with content
that does not match its extension, or a second file for the same page, is refused with its reason;
the others go on. A page replaced by the upload keeps its old file in ``DATA/replaced/<paper>/<date>/``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from werkzeug.datastructures import FileStorage

from qa.errors import BadInput, PayloadTooLarge
from qa.ingest.archive import PAGE_SUFFIXES
from qa.text.dates import parse_date
from qa.text.decode import decode_bytes

MAGIC = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
}
BAD_PAPER = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]")


@dataclass
class Planned:
    """One accepted file: where it goes."""

    storage: FileStorage
    paper: str
    date: str
    page: int
    suffix: str


def check_paper(value: str | None) -> str:
    paper = (value or "").strip()
    if not paper or len(paper) > 50 or BAD_PAPER.search(paper) or paper.startswith((".", "_")):
        raise BadInput('字段 paper（报纸名称）应为 1 到 50 个字，不含 / \\ : * ? " < > | 等符号，不以 . 或 _ 开头。')
    return paper


def check_date(value: str | None) -> str:
    day = parse_date(value) if value and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) else None
    if day is None:
        raise BadInput(f"字段 date 应为 YYYY-MM-DD 格式的真实日期，例如 2026-04-02；收到：{str(value)[:20]}。")
    return day


def check_page(value) -> int:
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{1,3}", text) or not 1 <= int(text) <= 999:
        raise BadInput(f"版次（page）应为 1 到 999 之间的整数；收到：{text[:10] or '空'}。")
    return int(text)


def file_size(f: FileStorage) -> int:
    f.stream.seek(0, os.SEEK_END)
    size = f.stream.tell()
    f.stream.seek(0)
    return size


def content_problem(f: FileStorage, suffix: str) -> str | None:
    """Why the bytes cannot be a ``suffix`` file (None when they can); only the first bytes are read."""
    head = f.stream.read(8)
    f.stream.seek(0)
    if suffix in MAGIC and not head.startswith(MAGIC[suffix]):
        return f"文件内容不是 {suffix} 格式（与扩展名不符）"
    if suffix == ".txt":
        try:
            decode_bytes(f.stream.read())
        except BadInput as e:
            return e.message
        finally:
            f.stream.seek(0)
    return None


def plan_files(
    files: list[FileStorage], form, max_file: int, manifest: bytes | None = None
) -> tuple[list[Planned], list[dict]]:
    """Accepted files with their place, and refused ones as ``{"file", "reason"}``; 413 past ``max_file``."""
    for f in files:
        if file_size(f) > max_file:
            raise PayloadTooLarge(f"文件 {_shown(f)} 太大：每个文件最多 {max_file // (1024 * 1024)} MB。")
    rows = _manifest_rows(files, manifest) if manifest is not None else _rows(files, form)
    planned, refused, taken = [], [], set()
    for f, (paper, day, page) in rows:
        suffix = Path(f.filename or "").suffix.lower()
        reason = None
        if suffix not in PAGE_SUFFIXES:
            reason = f"不支持的文件类型（{suffix or '无扩展名'}），只接受 {'、'.join(sorted(PAGE_SUFFIXES))}"
        elif (paper, day, page) in taken:
            reason = f"{paper} {day} 第{page}版 已有另一个文件"
        else:
            reason = content_problem(f, suffix)
        if reason:
            refused.append({"file": _shown(f), "reason": reason, "line": None})
        else:
            taken.add((paper, day, page))
            planned.append(Planned(f, paper, day, page, suffix))
    return planned, refused


def _rows(files: list[FileStorage], form) -> list[tuple[FileStorage, tuple[str, str, int]]]:
    """(file, (paper, date, page)) from the form fields (``page`` once per file, or none: the files are
    pages 1, 2, … in the order sent)."""
    paper, day = check_paper(form.get("paper")), check_date(form.get("date"))
    pages = form.getlist("page")
    if pages and len(pages) != len(files):
        raise BadInput(
            f"字段 page 给了 {len(pages)} 个，文件有 {len(files)} 个："
            "每个文件一个版次，或都不给（按顺序编为 1、2、…）。"
        )
    numbers = [check_page(p) for p in pages] if pages else list(range(1, len(files) + 1))
    return [(f, (paper, day, n)) for f, n in zip(files, numbers)]


def _manifest_rows(files: list[FileStorage], manifest: bytes):
    text, _ = decode_bytes(manifest)
    reader = csv.DictReader(io.StringIO(text))
    missing = {"file", "paper", "date", "page"} - set(reader.fieldnames or [])
    if missing:
        raise BadInput(f"manifest.csv 缺少列：{'、'.join(sorted(missing))}")
    by_name = {Path(f.filename or "").name: f for f in files}
    out = []
    for row in reader:
        name = Path((row.get("file") or "").strip()).name
        if name not in by_name:
            raise BadInput(f"manifest.csv 第 {reader.line_num} 行列出的文件 {name[:60]} 没有随请求上传。")
        out.append(
            (
                by_name.pop(name),
                (check_paper(row.get("paper")), check_date(row.get("date")), check_page(row.get("page"))),
            )
        )
    if by_name:
        raise BadInput(f"这些文件不在 manifest.csv 中：{'、'.join(list(by_name)[:5])}。")
    return out


def _shown(f: FileStorage) -> str:
    """The client's file name for messages only: its last part, printable, at most 80 characters."""
    name = Path((f.filename or "").replace("\\", "/")).name
    return "".join(c for c in name if c.isprintable())[:80] or "（无文件名）"


def issue_folders(planned: list[Planned], archive: Path) -> list[Path]:
    """The issue folders ``save_files`` writes ``planned`` into, in order."""
    return list(dict.fromkeys(archive / p.paper / p.date for p in planned))


def save_files(planned: list[Planned], archive: Path, replaced: Path) -> list[Path]:
    """Write each file as ``ARCHIVE/<paper>/<date>/<NN><ext>`` (whole or absent); returns the issue folders."""
    folders: list[Path] = []
    for p in planned:
        folder = archive / p.paper / p.date
        folder.mkdir(parents=True, exist_ok=True)
        if folder.resolve().parent.parent != archive.resolve():  # belt and braces against path tricks
            raise BadInput("报纸名称无效。")
        for old in list(folder.glob(f"{p.page:02d}.*")) + list(folder.glob(f"{p.page:02d}_*")):
            keep = replaced / p.paper / p.date / f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}-{old.name}"
            keep.parent.mkdir(parents=True, exist_ok=True)
            os.replace(old, keep)  # nothing is lost, however often a page is replaced
        tmp = folder / f".{p.page:02d}{p.suffix}.{secrets.token_hex(4)}.part"
        p.storage.save(tmp)
        os.replace(tmp, folder / f"{p.page:02d}{p.suffix}")
        if folder not in folders:
            folders.append(folder)
    return folders
