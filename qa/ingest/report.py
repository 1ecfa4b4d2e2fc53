"""Text for ``qa inspect PATH``: how each page was read, its articles, and what was skipped.

Formatting only; the click command lives in ``qa.cli``. Example output::

    聊城日报 2026-04-01 第1版 要闻  archive/聊城日报/2026-04-01/01_要闻.png
      读取：OCR · 5栏 · 平均置信度 0.97 · 低置信度 1 行 · 14.2秒
      低置信度：本报记者 王培源（0.62）
      [1] 问需于企 精准滴灌 ——聊城全周期服务托起中小企业“上扬曲线”
          ■ 本报记者 王培源 · 1234字 · 下转第7版
    共 1 版
    跳过 1 项：
      bad.png: 图像文件已损坏或格式无法识别
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.ingest.segment import segment_page
from qa.types import Article, Page

if TYPE_CHECKING:  # only for the annotation: keeps this module importable without a cycle
    from qa.ingest.archive import IngestReport

UNTITLED = "（无标题部分）"
READ_AS = {"text": "文本文件", "pdf": "PDF 文字层", "ocr": "OCR", "pdf+ocr": "PDF 文字层 + OCR", "jsonl": "JSONL 导出"}
SHOWN_LOW = 5  # low-confidence lines listed per page; the rest are counted


def page_header(page: Page) -> str:
    """``聊城日报 2026-04-01 第1版 要闻  seeds/000_….txt`` (版名 and 期号 only when known)."""
    parts = [page.paper, page.date]
    if page.page is not None:
        parts.append(f"第{page.page}版")
    if page.page_name:
        parts.append(page.page_name)
    if page.issue_no:
        parts.append(f"第{page.issue_no}期")
    return " ".join(parts) + f"  {page.source}"


def read_line(page: Page) -> list[str]:
    """``读取：OCR · 5栏 · 平均置信度 0.97 · 低置信度 1 行 · 14.2秒`` plus the low-confidence lines."""
    facts = [READ_AS.get(page.read_as, page.read_as)]
    if page.columns:
        facts.append(f"{page.columns}栏")
    if page.ocr_confidence is not None:
        facts.append(f"平均置信度 {page.ocr_confidence:.2f}")
    if page.low_confidence:
        facts.append(f"低置信度 {len(page.low_confidence)} 行")
    facts.append(f"{page.seconds:.2f}秒")
    if page.note:
        facts.append(page.note)
    lines = [f"  读取：{' · '.join(facts)}"]
    lines += [f"  低置信度：{t}" for t in page.low_confidence[:SHOWN_LOW]]
    if len(page.low_confidence) > SHOWN_LOW:
        lines.append(f"  ……另有 {len(page.low_confidence) - SHOWN_LOW} 行低置信度")
    return lines


def format_article(n: int, article: Article) -> list[str]:
    """Two lines: heading (引题/主题/副题), then byline · 字数 · cross-page references."""
    heading = " ".join(p for p in (article.pre_title, article.title or UNTITLED, article.subtitle) if p)
    facts = [article.byline or "（无署名）", f"{article.char_count()}字"]
    if article.refs:
        facts.append("、".join(article.refs))
    if article.captions:
        facts.append(f"图片说明{len(article.captions)}条")
    return [f"  [{n}] {heading}", f"      {' · '.join(facts)}"]


def format_inspect(report: IngestReport) -> str:
    """The whole ``qa inspect`` text: every page with its articles, then every skipped input."""
    lines: list[str] = []
    for page in report.pages:
        lines.append(page_header(page))
        lines.extend(read_line(page))
        for n, article in enumerate(segment_page(page), start=1):
            lines.extend(format_article(n, article))
    lines.append(f"共 {len(report.pages)} 版")
    if report.skipped:
        lines.append(f"跳过 {len(report.skipped)} 项：")
        lines.extend(f"  {s}" for s in report.skipped)
    return "\n".join(lines)
