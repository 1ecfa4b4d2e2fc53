"""Image page files (.png .jpg .jpeg .tif .tiff, multi-page TIFF too) -> text through OCR."""

from __future__ import annotations

from pathlib import Path

from qa.ingest.cache import OcrCache, content_hash, frame_key
from qa.ingest.layout import read_layout
from qa.ingest.limits import check_chars
from qa.ingest.ocr import OcrFrame, deskew_pieces, open_frames, recognise
from qa.ingest.pagetext import LOW_CONFIDENCE, PageText, from_layouts
from qa.ingest.regions import ocr_frame


def ocr_frames(data: bytes, images: list, cache: OcrCache, dpi: int | None = None,
               indexes: list[int] | None = None) -> tuple[list[OcrFrame], bool]:
    """OCR each image (frame ``indexes[i]`` of the file), through the cache; (frames, all cached)."""
    digest = content_hash(data)
    frames, cached = [], True
    for n, image in enumerate(images):
        key = frame_key(digest, indexes[n] if indexes else n, dpi)
        frame = cache.get(key)
        if frame is None:
            cached = False
            frame = recognise(image() if callable(image) else image)
            cache.put(key, frame)
        frames.append(frame)
    return frames, cached


def read_image_file(path: Path, cache: OcrCache) -> PageText:
    """OCR every frame of an image file; raises BadInput (corrupt, too large, no text)."""
    data = path.read_bytes()
    images = open_frames(path)  # decoded even on a cache hit: cheap next to OCR, and it checks the file
    frames, cached = ocr_frames(data, images, cache)
    page = ocr_page(frames, cached)
    page.frame = ocr_frame(frames[0], *images[0].size)  # the page image is the first frame
    return page


def ocr_page(frames: list[OcrFrame], cached: bool) -> PageText:
    """Layout of OCR'd frames -> PageText; says when the text came from the cache."""
    layouts = [read_layout(deskew_pieces(f), LOW_CONFIDENCE, ocr=True) for f in frames]
    page = from_layouts(layouts, "ocr")
    check_chars(len(page.text))
    if cached:
        page.note = f"OCR 结果来自缓存（首次识别用时 {sum(f.seconds for f in frames):.1f} 秒）"
    return page
