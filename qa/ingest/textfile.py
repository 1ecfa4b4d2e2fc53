"""Plain-text page files (.txt): decoded (UTF-8, GB18030/GBK) and normalised; no layout to read."""

from __future__ import annotations

from pathlib import Path

from qa.errors import BadInput
from qa.ingest.pagetext import PageText
from qa.text.decode import decode_bytes
from qa.text.normalize import normalize_text


def read_text_file(path: Path) -> PageText:
    """Normalised text of one .txt page; raises BadInput with a Chinese reason."""
    data = path.read_bytes()
    if not data.strip():
        raise BadInput("空文件")
    raw, _ = decode_bytes(data)
    text = normalize_text(raw)
    if not text:
        raise BadInput("文件没有文字内容")
    return PageText(text, "text")
