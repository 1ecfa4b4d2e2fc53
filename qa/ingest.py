"""Archive files -> Pages: issue folders, folders with ``manifest.csv``, and JSONL exports.

``read_archive(["seeds"])`` walks each PATH (a folder, searched recursively, or one ``.jsonl``
file) and returns every readable page with normalised text, plus a ``Skipped`` entry (reason in
Chinese) for each file or line it could not use. One bad file never stops the rest.

PDF text comes from pdfplumber: it exposes every character with its position, extracts CJK
text from embedded fonts reliably, and orders lines top-to-bottom by those positions, which
keeps Chinese reading order better than pypdf's content-stream order. One PDF file is one page;
the text of all its PDF pages is joined.

Example::

    >>> r = read_archive(["seeds"])
    >>> r.pages[0].paper, r.pages[0].date, r.pages[0].page, r.pages[0].source
    ('聊城日报', '2025-07-29', 1, 'seeds/002_f585da57cd6e1821.txt')
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import BadInput
from qa.normalize import decode_bytes, normalize_text, parse_date
from qa.types import Article, Page, Skipped

PAGE_NAME = re.compile(r"^(\d{1,3})(?:_(.+))?$")  # 01_要闻 -> page 1, 版名 要闻
PAGE_SUFFIXES = {".txt", ".pdf"}
IGNORED = {"manifest.csv", "issue.toml"}


@dataclass
class IngestReport:
    """What ``read_archive`` found: pages sorted by (paper, date, page, page_id), skipped inputs, given roots."""

    pages: list[Page] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)


def display_path(path: Path) -> str:
    """Path relative to the working directory when under it, else absolute: ``seeds/000_….txt``."""
    path = path.resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_page_text(path: Path) -> str:
    """Normalised text of one .txt or .pdf page file; raises BadInput with a Chinese reason."""
    if path.suffix.lower() == ".pdf":
        raw = _pdf_text(path)
    else:
        data = path.read_bytes()
        if not data.strip():
            raise BadInput("空文件")
        raw, _ = decode_bytes(data)
    text = normalize_text(raw)
    if not text:
        raise BadInput("文件没有文字内容" if path.suffix.lower() != ".pdf" else "PDF 没有文字层（可能是扫描图像）")
    return text


def _pdf_text(path: Path) -> str:
    import pdfplumber  # imported lazily: only archives with PDFs pay for it

    try:
        with pdfplumber.open(path) as pdf:
            return "\n".join(p.extract_text() or "" for p in pdf.pages)
    except Exception as exc:  # pdfminer raises many unrelated types for broken files
        raise BadInput(f"PDF 无法读取（{type(exc).__name__}）") from None


class _Reader:
    """Collects pages and skips for one ``read_archive`` call; ``seen`` de-duplicates page ids."""

    def __init__(self) -> None:
        self.report = IngestReport()
        self.seen: set[str] = set()

    def skip(self, path: Path | str, reason: str, line: int | None = None) -> None:
        src = display_path(path) if isinstance(path, Path) else path
        self.report.skipped.append(Skipped(src, reason, line))

    def add(self, page: Page) -> None:
        if page.page_id not in self.seen:
            self.seen.add(page.page_id)
            self.report.pages.append(page)

    def page_file(self, path: Path, root: str, paper: str, day: str, number: int | None,
                  name: str | None, issue_no: str | None) -> None:
        try:
            text = read_page_text(path)
        except BadInput as exc:
            return self.skip(path, exc.message)
        except OSError as exc:
            return self.skip(path, f"无法读取文件（{exc.strerror or exc}）")
        pid = path.resolve().as_posix()
        self.add(Page(pid, paper, day, number, text, display_path(path), root, name or None, issue_no or None))

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
            line = reader.line_num
            name = (row.get("file") or "").strip()
            path = (base / name).resolve()
            if not name:
                self.skip(manifest, "清单行没有文件名", line)
                continue
            if not path.is_relative_to(base):
                self.skip(manifest, f"清单中的路径越出档案文件夹：{name}", line)
                continue
            claimed.add(path)
            day, page = parse_date(row.get("date")), (row.get("page") or "").strip()
            if not path.is_file():
                self.skip(manifest, f"清单中列出的文件不存在：{name}", line)
            elif day is None:
                self.skip(manifest, f"日期无效：{row.get('date')}（应为 YYYY-MM-DD）", line)
            elif page and not re.fullmatch(r"\d{1,4}", page):
                self.skip(manifest, f"版次不是整数：{page}", line)
            elif not (row.get("paper") or "").strip():
                self.skip(manifest, "清单行没有报纸名称（paper）", line)
            else:
                self.page_file(path, root, row["paper"].strip(), day, int(page) if page else None,
                               (row.get("page_name") or "").strip(), (row.get("issue_no") or "").strip())
        return claimed

    def layout_file(self, path: Path, root: str) -> None:
        """``<paper>/<YYYY-MM-DD>/<NN>[_<版名>].txt|.pdf``, with an optional ``issue.toml`` beside it."""
        if path.suffix.lower() not in PAGE_SUFFIXES:
            return self.skip(path, f"不支持的文件类型（{path.suffix or '无扩展名'}），只读取 .txt、.pdf、.jsonl")
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
                obj = json.loads(line)
            except json.JSONDecodeError:
                self.skip(path, "这一行不是有效的 JSON", n)
                continue
            try:
                self.add(_jsonl_page(obj, base, n, path, root))
            except BadInput as exc:
                self.skip(path, exc.message, n)


def _jsonl_page(obj: object, base: str, n: int, path: Path, root: str) -> Page:
    if not isinstance(obj, dict):
        raise BadInput("这一行不是 JSON 对象")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInput("缺少 text 字段（正文）")
    if obj.get("date") in (None, ""):
        raise BadInput("缺少 date 字段（日期）")
    day = parse_date(obj["date"])
    if day is None:
        raise BadInput(f"日期无效：{obj['date']}（应为 YYYY-MM-DD）")
    page = obj.get("page")
    if page not in (None, "") and not re.fullmatch(r"\d{1,4}", str(page).strip()):
        raise BadInput(f"版次不是整数：{page}")
    ident = str(obj["id"]).strip() if obj.get("id") not in (None, "") else None
    pid = f"{base}#{ident}" if ident else f"{base}#L{n}"
    body = normalize_text(text)
    if not body:
        raise BadInput("text 字段没有文字内容")
    title = normalize_text(str(obj.get("title") or "")).replace("\n", " ") or None
    opt = {k: str(obj[k]).strip() or None if obj.get(k) not in (None, "") else None
           for k in ("page_name", "issue_no")}
    # Article ids are public (citations): the displayed path, never the server's absolute one.
    article = Article(ident or f"{display_path(path)}#L{n}#a1", title, body)
    return Page(pid, str(obj.get("paper") or "").strip() or path.stem, day,
                int(str(page).strip()) if page not in (None, "") else None,
                body, display_path(path), root, opt["page_name"], opt["issue_no"], [article])


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def read_archive(paths: list[str | Path]) -> IngestReport:
    """Read every PATH (folder or .jsonl file); see the module docstring. Never raises for one bad file."""
    reader = _Reader()
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
            reader.skip(path, "不支持的路径：请给出文件夹或 .jsonl 文件")
    reader.report.pages.sort(key=lambda p: (p.paper, p.date, p.page is None, p.page or 0, p.page_id))
    return reader.report
