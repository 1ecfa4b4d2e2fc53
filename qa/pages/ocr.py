"""Scanned pages -> positioned text boxes, with RapidOCR (PP-OCRv4 models inside its PyPI wheel).

Why RapidOCR (``rapidocr-onnxruntime``): its wheel carries the PP-OCRv4 Chinese detection and
recognition models (16 MB) and runs them on onnxruntime, so it installs from PyPI alone and
never downloads at run time; PP-OCRv4 is the model family Langchain-Chatchat and QAnything use
for Chinese. The alternatives that install offline either fetch their models on first use
(cnocr, easyocr, paddleocr, rapidocr 2.x+) or come from outside PyPI (Tesseract's chi_sim
from Debian, which reads newspaper columns worse; see README).

The recogniser's own confidence threshold is set to 0 so no line is dropped: every line keeps
its confidence, and ``qa.pages.layout`` lists the low ones. Images are opened with Pillow after
a size check, so a decompression bomb (a small file claiming 30,000 x 30,000 pixels) is refused
before any pixel is decoded.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from qa.errors import BadInput
from qa.normalize import width
from qa.pages.layout import Piece

MAX_PIXELS = 80_000_000  # ~ a broadsheet page at 400 dpi; more is refused as a possible bomb
MAX_SIDE = 4000  # longer sides are scaled down before detection (text stays > 20 px high)
OCR_GAP = 0.25  # boxes on one baseline closer than this many ems are one line (see layout.read_layout)
RENDER_DPI = 200  # image-only PDF pages are rendered at this resolution
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}

_engine = None
_lock = threading.Lock()  # one OCR at a time: the engine uses every core it is given


@dataclass
class OcrFrame:
    """Raw OCR of one image: (quad as 8 numbers, text, confidence) per box, and seconds taken."""

    boxes: list[tuple[list[float], str, float]]
    seconds: float

    def to_json(self) -> dict:
        return {"boxes": [[q, t, s] for q, t, s in self.boxes], "seconds": self.seconds}

    @classmethod
    def from_json(cls, obj: dict) -> OcrFrame:
        return cls([(list(q), str(t), float(s)) for q, t, s in obj["boxes"]], float(obj["seconds"]))


def engine_id() -> str:
    """Names the engine and models: part of the OCR cache key, so an upgrade re-reads pages."""
    from importlib.metadata import version

    return f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} PP-OCRv4 max_side={MAX_SIDE}"


def _get_engine():
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR  # imported lazily: onnxruntime loads in ~1 s

        _engine = RapidOCR(text_score=0.0, max_side_len=MAX_SIDE, print_verbose=False)
    return _engine


def recognise(image) -> OcrFrame:
    """OCR one PIL image (no angle classifier: newspaper lines are upright)."""
    import numpy as np

    array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # RapidOCR takes OpenCV's BGR order
    start = time.perf_counter()
    with _lock:
        result, _ = _get_engine()(array, use_cls=False, text_score=0.0)
    boxes = [([float(v) for pt in quad for v in pt], text, float(score)) for quad, text, score in result or []]
    return OcrFrame(boxes, round(time.perf_counter() - start, 3))


def open_frames(path: Path) -> list:
    """Every frame of an image file (multi-page TIFF: each page), checked before decoding."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(path)
    except Image.DecompressionBombError:
        raise BadInput(f"图像像素过多（超过 {MAX_PIXELS // 1_000_000} 百万像素上限），可能是解压炸弹，已跳过") from None
    except UnidentifiedImageError:
        raise BadInput("图像文件已损坏或格式无法识别") from None
    frames = []
    try:
        for frame in ImageSequence.Iterator(image):
            w, h = frame.size
            if w * h > MAX_PIXELS:
                raise BadInput(f"图像过大（{w}×{h} 像素，上限 {MAX_PIXELS // 1_000_000} 百万像素），可能是解压炸弹，已跳过")
            frame.load()
            frames.append(frame.copy())
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for truncated or broken data
        raise BadInput(f"图像文件已损坏或不完整（{exc}）") from None
    finally:
        image.close()
    return frames


def deskew_pieces(frame: OcrFrame) -> list[Piece]:
    """Boxes -> layout pieces, rotated back by the page's median text-line angle (a skewed scan)."""
    angles = []
    for quad, _, _ in frame.boxes:
        dx, dy = quad[2] - quad[0], quad[3] - quad[1]
        if dx > 3 * abs(quad[7] - quad[1]) and dx > 0:  # long, flat boxes give a reliable angle
            angles.append(math.atan2(dy, dx))
    angle = sorted(angles)[len(angles) // 2] if angles else 0.0
    cos, sin = math.cos(-angle), math.sin(-angle)
    pieces = []
    for quad, text, score in frame.boxes:
        xs = [quad[i] * cos - quad[i + 1] * sin for i in range(0, 8, 2)]
        ys = [quad[i] * sin + quad[i + 1] * cos for i in range(0, 8, 2)]
        text = text.strip()
        if text:
            # Type size: box heights vary ±15% with the glyphs in the line (brackets, quotes), the
            # character pitch along a line of 4+ characters much less; fall back to the height.
            height, ems = max(ys) - min(ys), width(text)
            pitch = (max(xs) - min(xs)) / ems if ems >= 4 else 0.0
            size = pitch if 0.7 * height <= pitch <= 1.3 * height else height
            pieces.append(Piece(text, min(xs), min(ys), max(xs), max(ys), size, score))
    return pieces
