"""One page file -> a JPEG of its page image: the first PDF page rendered, or a scan downscaled.

Run as a child process by the image route (``qa.app.pagecache``): ``python -m qa.ingest.render
KIND FILE OUT MAX_SIDE``. PDFium and image decoders are C code; a broken or hostile file can
crash or hang them, so they never run inside the server: the child is given a memory limit and a
timeout, and on failure prints one Chinese reason on stderr and exits 2.

PDF pages are rendered with pypdfium2 (installed with pdfplumber, Apache/BSD licensed) so that the
longer side is ``MAX_SIDE`` pixels; scans are decoded with Pillow (``draft`` lets JPEG decode at a
fraction of full size) after the same pixel-count check as OCR uses against decompression bombs.
"""

from __future__ import annotations

import sys
from pathlib import Path

MAX_SIDE = 2000  # pixels on the longer side: a broadsheet's body text stays legible when zoomed
QUALITY = 80
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space for the child


class RenderError(Exception):
    """A page file that cannot be turned into an image; ``str(e)`` is the Chinese reason."""


def render_pdf(path: Path, max_side: int = MAX_SIDE):
    """The first page of a PDF as a PIL image, its longer side ``max_side`` pixels."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise RenderError(f"PDF 已损坏、不完整或已加密（{exc}）") from None
    try:
        if len(doc) == 0:
            raise RenderError("PDF 中没有页面")
        page = doc[0]
        width, height = page.get_size()
        return page.render(scale=max_side / max(width, height, 1.0)).to_pil()
    finally:
        doc.close()


def open_scan(path: Path, max_side: int = MAX_SIDE):
    """The first frame of an image file, downscaled to ``max_side`` pixels on its longer side."""
    from PIL import Image, UnidentifiedImageError

    from qa.ingest.ocr import MAX_PIXELS

    try:
        image = Image.open(path)
        if image.width * image.height > MAX_PIXELS:
            raise RenderError(f"图像过大（{image.width}×{image.height}），可能是解压炸弹")
        image.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale directly
        image.load()
    except (Image.DecompressionBombError, UnidentifiedImageError):
        raise RenderError("图像文件已损坏或格式无法识别") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise RenderError(f"图像文件已损坏或不完整（{exc}）") from None
    image.thumbnail((max_side, max_side))
    return image


def write_jpeg(kind: str, src: Path, out: Path, max_side: int = MAX_SIDE) -> None:
    """Render ``src`` (``kind`` "pdf" or "image") to the JPEG file ``out``; raises RenderError."""
    image = render_pdf(src, max_side) if kind == "pdf" else open_scan(src, max_side)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.save(out, format="JPEG", quality=QUALITY)


def main(argv: list[str]) -> int:
    kind, src, out, side = argv
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass  # no limit where the platform has none
    try:
        write_jpeg(kind, Path(src), Path(out), int(side))
    except RenderError as exc:
        print(exc, file=sys.stderr)
        return 2
    except MemoryError:
        print("页面过大，渲染时内存不足", file=sys.stderr)
        return 2
    except Exception as exc:  # any other decoder failure is a bad file, said plainly
        print(f"文件无法渲染（{type(exc).__name__}）", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
