"""Scanned pages -> positioned text boxes, with RapidOCR (PP-OCRv4 models inside its PyPI wheel).

Why RapidOCR (``rapidocr-onnxruntime``): its wheel carries the PP-OCRv4 Chinese detection and
recognition models (16 MB) and runs them on onnxruntime, so it installs from PyPI alone and
never downloads at run time; PP-OCRv4 is the model family Langchain-Chatchat and QAnything use
for Chinese. The alternatives that install offline either fetch their models on first use
(cnocr, easyocr, paddleocr, rapidocr 2.x+) or come from outside PyPI (Tesseract's chi_sim
from Debian, which made about 4x the character errors on our generated pages; see docs/design.md).

The recogniser's own confidence threshold is set to 0 so no line is dropped: every line keeps
its confidence, and ``qa.ingest.layout`` lists the low ones. Images are opened with Pillow after
a size check, so a decompression bomb (a small file claiming 30,000 x 30,000 pixels) is refused
before any pixel is decoded.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import BadInput
from qa.ingest.layout import Piece
from qa.ingest.limits import check_pages
from qa.text.normalize import width

MAX_PIXELS = 80_000_000  # ~ a broadsheet page at 400 dpi; more is refused as a possible bomb
MAX_SIDE = 4000  # longer sides are scaled down before detection (text stays > 20 px high)
RENDER_DPI = 200  # image-only PDF pages are rendered at this resolution
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}

_engine = None
_lock = threading.Lock()  # one OCR at a time: the engine uses every core it is given


@dataclass
class OcrBox:
    """One detected text line: its quad (x0, y0, … x3, y3), text, confidence, and the boxes of its
    characters or words as ``[text, x0, y0, x1, y1]`` (the detector can run two columns' lines
    into one box; the character boxes show where to split it)."""

    quad: list[float]
    text: str
    score: float
    words: list[list] = field(default_factory=list)


@dataclass
class OcrFrame:
    """Raw OCR of one image and the seconds it took."""

    boxes: list[OcrBox]
    seconds: float

    def to_json(self) -> dict:
        return {"boxes": [[b.quad, b.text, b.score, b.words] for b in self.boxes], "seconds": self.seconds}

    @classmethod
    def from_json(cls, obj: dict) -> OcrFrame:
        return cls(
            [OcrBox([float(v) for v in q], str(t), float(s), list(w)) for q, t, s, w in obj["boxes"]],
            float(obj["seconds"]),
        )


def engine_id() -> str:
    """Names the engine, models and settings: part of each OCR cache entry, so a change re-reads pages."""
    from importlib.metadata import version

    return f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} PP-OCRv4 max_side={MAX_SIDE} words v2"


def _get_engine():
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR  # imported lazily: onnxruntime loads in ~1 s

        # No dilation of the text map: with it, lines of neighbouring columns merge more often.
        _engine = RapidOCR(text_score=0.0, max_side_len=MAX_SIDE, det_use_dilation=False, print_verbose=False)
    return _engine


def recognise(image) -> OcrFrame:
    """OCR one PIL image (no angle classifier: newspaper lines are upright)."""
    import numpy as np

    array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # RapidOCR takes OpenCV's BGR order
    start = time.perf_counter()
    with _lock:
        result, _ = _get_engine()(array, use_cls=False, text_score=0.0, return_word_box=True)
    boxes = []
    for quad, text, score, word_quads, word_texts, *_ in result or []:
        words = [
            [w, min(p[0] for p in q), min(p[1] for p in q), max(p[0] for p in q), max(p[1] for p in q)]
            for w, q in zip(word_texts, word_quads)
        ]
        boxes.append(OcrBox([float(v) for pt in quad for v in pt], text, float(score), words))
    return OcrFrame(boxes, round(time.perf_counter() - start, 3))


def open_frames(path: Path) -> list:
    """Every frame of an image file (multi-page TIFF: each page), checked before decoding."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(path)  # reads the header only; Pillow refuses > 2 x its own limit here
    except Image.DecompressionBombError as exc:
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(pixels[1]) // 1_000_000} 百万像素，" if pixels else ""
        raise BadInput(f"图像过大（{size}上限 {MAX_PIXELS // 1_000_000} 百万像素），可能是解压炸弹，已跳过") from None
    except UnidentifiedImageError:
        raise BadInput("图像文件已损坏或格式无法识别") from None
    frames = []
    try:
        check_pages(getattr(image, "n_frames", 1), "TIFF" if image.format == "TIFF" else "图像")  # before decoding
        for frame in ImageSequence.Iterator(image):
            w, h = frame.size
            if w * h > MAX_PIXELS:
                raise BadInput(
                    f"图像过大（{w}×{h}，{w * h // 1_000_000} 百万像素，上限 {MAX_PIXELS // 1_000_000} "
                    "百万像素），可能是解压炸弹，已跳过"
                )
            frame.load()
            frames.append(frame.copy())
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for truncated or broken data
        raise BadInput(f"图像文件已损坏或不完整（{exc}）") from None
    finally:
        image.close()
    return frames


def _skew(frame: OcrFrame) -> float:
    """The page's text-line angle in radians: the median over long, flat boxes."""
    angles = []
    for box in frame.boxes:
        q = box.quad
        dx, dy = q[2] - q[0], q[3] - q[1]
        if dx > 3 * abs(q[7] - q[1]) and dx > 0:
            angles.append(math.atan2(dy, dx))
    return sorted(angles)[len(angles) // 2] if angles else 0.0


def _piece(text: str, xs: list[float], ys: list[float], score: float) -> Piece:
    """A layout piece; its type size from the box (see the comment inside)."""
    # Box heights grow with tall glyphs (brackets, quotes) and the character pitch with
    # characters the recogniser missed; the smaller of the two is closer to the type size.
    height, ems = max(ys) - min(ys), width(text)
    pitch = (max(xs) - min(xs)) / ems if ems >= 4 else height
    size = pitch if 0.5 * height <= pitch <= height else height
    return Piece(text, min(xs), min(ys), max(xs), max(ys), size, score)


def deskew_pieces(frame: OcrFrame) -> list[Piece]:
    """Boxes -> layout pieces, rotated back by the page's text-line angle (a skewed scan), and
    split where the characters of one box have a gutter-wide gap between them."""
    angle = _skew(frame)
    cos, sin = math.cos(-angle), math.sin(-angle)

    def turn(x: float, y: float) -> tuple[float, float]:
        return x * cos - y * sin, x * sin + y * cos

    pieces = []
    for box in frame.boxes:
        pts = [turn(box.quad[i], box.quad[i + 1]) for i in range(0, 8, 2)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        height = max(ys) - min(ys)
        runs: list[list] = []
        for w in box.words:  # [text, x0, y0, x1, y1]: split the box at wide gaps between them
            x0, x1 = turn(w[1], (w[2] + w[4]) / 2)[0], turn(w[3], (w[2] + w[4]) / 2)[0]
            if not runs or x0 - runs[-1][-1][2] > 1.5 * height:  # a missed character leaves ~1 em
                runs.append([])
            runs[-1].append((w[0], x0, x1))
        same = "".join(w for run in runs for w, _, _ in run).replace(" ", "") == box.text.replace(" ", "")
        if runs and same and len(runs) > 1:
            for run in runs:
                text = "".join(w for w, _, _ in run)
                pieces.append(_piece(text, [run[0][1], run[-1][2]], ys, box.score))
        elif box.text.strip():
            # the characters' extent, not the box's: a box can reach into the next column's first glyph
            xs = [runs[0][0][1], runs[-1][-1][2]] if runs and same else xs
            pieces.append(_piece(box.text.strip(), xs, ys, box.score))
    return pieces
