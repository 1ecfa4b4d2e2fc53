"""What a page reader returns: normalised text, per-line roles, and how the page was read."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.errors import BadInput
from qa.text.normalize import normalize_paragraphs
from qa.ingest.layout import Layout
from qa.types import PageFrame

LOW_CONFIDENCE = 0.8  # OCR lines below this are listed by `qa inspect` (and kept in the text)


@dataclass
class PageText:
    """``text`` one paragraph per line; ``roles`` one per line, or empty (see ``qa.types.Page``)."""

    text: str
    read_as: str
    roles: list[str] = field(default_factory=list)
    columns: int | None = None
    ocr_confidence: float | None = None
    low_confidence: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str | None = None
    frame: PageFrame | None = None  # line boxes of the first frame (``qa.ingest.regions``)


def from_layouts(layouts: list[Layout], read_as: str) -> PageText:
    """Join the layouts of a file's frames (PDF pages, TIFF pages) into one page's text.

    Raises BadInput when no frame has any text: an image with no text is reported and skipped.
    """
    texts, roles, confs, low = [], [], [], []
    for layout in layouts:
        for para, clean in zip(layout.paras, normalize_paragraphs([p.text for p in layout.paras])):
            if clean:
                texts.append(clean)
                roles.append(para.role)
                if para.conf is not None:
                    confs.append(para.conf)
        low += [f"{text}（{conf:.2f}）" for text, conf in layout.low_conf]
    if not texts:
        raise BadInput("图像中没有识别到文字" if read_as == "ocr" else "PDF 没有可读的文字")
    columns = max((lay.columns for lay in layouts), default=0) or None
    return PageText("\n".join(texts), read_as, roles if any(roles) else [], columns,
                    round(sum(confs) / len(confs), 3) if confs else None, low)
