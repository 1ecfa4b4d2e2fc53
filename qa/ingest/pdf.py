"""PDF page files: the text layer through pdfplumber with column layout, image-only pages through OCR.

pdfplumber gives every character with its box and font size, which is what the column layout
(``qa.ingest.layout``) needs; it extracts CJK text from embedded fonts reliably and is MIT
licensed (PyMuPDF is AGPL). A PDF page with no characters but an image on it is a scan: it is
rendered with pypdfium2 (already a pdfplumber dependency) at ``RENDER_DPI`` and OCR'd. One PDF
file is one newspaper page (版); the text of all its PDF pages is joined in order.

Caps (``qa.ingest.limits``): the page count is read first with pypdfium2 (milliseconds even for
thousands of pages) and checked again against pdfplumber's page list (a forged page count), so a
PDF over the cap is refused before any page is parsed; characters are counted while pages are
read, and reading stops at the first page that crosses the cap.
"""

from __future__ import annotations

from pathlib import Path

from qa.errors import BadInput
from qa.ingest.cache import OcrCache
from qa.ingest.image import ocr_frames
from qa.ingest.layout import Layout, Piece, read_layout
from qa.ingest.limits import check_chars, check_pages
from qa.ingest.ocr import RENDER_DPI, deskew_pieces
from qa.ingest.pagetext import LOW_CONFIDENCE, PageText, from_layouts
from qa.ingest.regions import ocr_frame, pdf_frame


def _pdf_error(exc: Exception) -> BadInput:
    """A Chinese reason for what pdfplumber raised; it wraps pdfminer's own error in its first arg."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    names = {type(exc).__name__, type(inner).__name__}
    if any("Password" in n or "Encrypt" in n for n in names):
        return BadInput("PDF 已加密（需要密码），无法读取")
    return BadInput(f"PDF 已损坏或不完整，无法读取（{type(inner).__name__}）")


def _render(path: Path, index: int):
    """A callable that renders PDF page ``index`` to a PIL image only when OCR needs it."""
    def render():
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
        try:
            return doc[index].render(scale=RENDER_DPI / 72).to_pil()
        finally:
            doc.close()
    return render


def _page_count(path: Path) -> int | None:
    """The number of pages by pypdfium2, or None when it cannot open the file (pdfplumber names why)."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except Exception:  # pdfium's own error types; the file is diagnosed by pdfplumber below
        return None
    try:
        return len(doc)
    finally:
        doc.close()


def read_pdf_file(path: Path, cache: OcrCache) -> PageText:
    """Text of every PDF page in reading order; scanned pages OCR'd. Raises BadInput."""
    import pdfplumber  # imported lazily: only archives with PDFs pay for it

    layouts: dict[int, Layout] = {}
    scans: list[int] = []
    check_pages(_page_count(path) or 0, "PDF")
    frame, first_size = None, (0.0, 0.0)  # line boxes of the first PDF page: the page image is that page
    try:
        with pdfplumber.open(path) as pdf:
            check_pages(len(pdf.pages), "PDF")
            total = 0
            for n, page in enumerate(pdf.pages):
                chars = [c for c in page.chars if c["text"].strip()]
                total += len(chars)
                check_chars(total, more=n + 1 < len(pdf.pages))
                if n == 0:
                    first_size = (float(page.width), float(page.height))
                    frame = pdf_frame(chars, *first_size) if chars else None
                if chars:
                    layouts[n] = read_layout([Piece(c["text"], c["x0"], c["top"], c["x1"], c["bottom"], c["size"])
                                              for c in page.chars])
                elif page.images:
                    scans.append(n)
    except BadInput:
        raise
    except Exception as exc:  # pdfminer raises many unrelated types for broken or encrypted files
        raise _pdf_error(exc) from None
    note = None
    if scans:
        frames, cached = ocr_frames(path.read_bytes(), [_render(path, n) for n in scans], cache, RENDER_DPI, scans)
        for n, ocr in zip(scans, frames):
            layouts[n] = read_layout(deskew_pieces(ocr), LOW_CONFIDENCE, ocr=True)
        if scans[0] == 0 and first_size[0] > 0:  # OCR boxes are pixels of the page rendered at RENDER_DPI
            scale = RENDER_DPI / 72
            frame = ocr_frame(frames[0], first_size[0] * scale, first_size[1] * scale, kind="pdf")
            frame.width, frame.height = first_size
        note = f"{len(scans)} 页为扫描图像，已 OCR" + ("（结果来自缓存）" if cached else "")
    if not layouts:
        raise BadInput("PDF 没有文字层，也没有可识别的图像")
    read_as = "ocr" if len(scans) == len(layouts) else ("pdf+ocr" if scans else "pdf")
    page = from_layouts([layouts[n] for n in sorted(layouts)], read_as)
    check_chars(len(page.text))  # OCR'd scans count too
    page.note = note
    page.frame = frame
    return page
