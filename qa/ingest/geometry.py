"""Shared pieces of the page layout: positioned text (Piece, Line, Block), its output (Para,
Layout), and the thresholds, all in multiples of the body text size. See ``qa.ingest.layout``."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

BYLINE_START = re.compile(r"^[■□●◆]|^(?:本报)?(?:特约)?(?:记者|通讯员)")  # a byline line: 「■ 本报记者 …」
HEAD_RATIO = 1.25  # set this much larger than body text: a headline
SAME_SIZE = 0.15  # sizes within ±15% are the same type size
OCR_SAME_SIZE = 0.25  # OCR box sizes of one type size vary ±15% line to line
BAND_RATIO = 1.3  # a horizontal gap this much wider than the widest gutter is cut first
LINE_GAP = 0.8  # lines further apart than this many ems start a new block
OCR_PITCH = 1.9  # OCR lines whose tops are further apart than this many ems start a new block


@dataclass
class Piece:
    """A character (PDF) or a recognised text box (OCR) with its box; ``conf`` only from OCR."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    conf: float | None = None


@dataclass
class Line:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    conf: float | None = None


@dataclass
class Block:
    lines: list[Line] = field(default_factory=list)

    @property
    def x0(self) -> float:
        return min(ln.x0 for ln in self.lines)

    @property
    def x1(self) -> float:
        return max(ln.x1 for ln in self.lines)

    @property
    def left(self) -> float:
        """The column's left edge: a low quartile of line starts (one stray OCR box does not move it)."""
        xs = sorted(ln.x0 for ln in self.lines)
        return xs[(len(xs) - 1) // 4]

    @property
    def right(self) -> float:
        xs = sorted(ln.x1 for ln in self.lines)
        return xs[-1 - (len(xs) - 1) // 4]

    @property
    def top(self) -> float:
        return self.lines[0].top

    @property
    def bottom(self) -> float:
        return self.lines[-1].bottom

    @property
    def size(self) -> float:
        return statistics.median(ln.size for ln in self.lines)


Box = tuple[float, float, float, float]  # x0, top, x1, bottom in the input's units


@dataclass
class Para:
    """One paragraph: ``role`` is pre/head/sub for headline type, ``text`` for body type, "" unknown,
    "mast" for the masthead band. ``boxes``: where it is printed, one box per column it runs through
    (kept for showing a citation on the page image)."""

    text: str
    role: str
    conf: float | None = None
    boxes: list[Box] = field(default_factory=list)


def add_box(para: Para, line: Line, new_column: bool) -> None:
    """Grow ``para``'s last box by ``line``, or start a new box where it runs on into another column."""
    box = (line.x0, line.top, line.x1, line.bottom)
    if new_column or not para.boxes:
        para.boxes.append(box)
    else:
        x0, top, x1, bottom = para.boxes[-1]
        para.boxes[-1] = (min(x0, box[0]), min(top, box[1]), max(x1, box[2]), max(bottom, box[3]))


@dataclass
class Layout:
    paras: list[Para]
    columns: int
    low_conf: list[tuple[str, float]]  # OCR lines below the confidence threshold, kept in the text


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_SIZE * max(a, b)


def _glue(a: str, b: str) -> str:
    """Join a wrapped line; Latin words split by the wrap keep a space."""
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    return a + b


_SPACED = re.compile(r"(?<![^\s])[\u3400-\u9fff](?: [\u3400-\u9fff]){2,}(?![^\s0-9A-Za-z])")


def unspace(text: str) -> str:
    """A letter-spaced headline read with its spaces (OCR boxes, or spaces in the text layer):
    「中 国 海 油 党 组 召 开2024年…」 -> 「中国海油党组召开2024年…」. Only runs of 3+ single
    ideographs lose their spaces; a space between words (「年轻人 海底捞」) stays."""
    return _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
