"""Shared pieces of the page layout: positioned text (Piece, Line, Block), its output (Para,
Layout), and the thresholds, all in multiples of the body text size. See ``qa.ingest.layout``."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

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


@dataclass
class Para:
    """One paragraph: ``role`` is pre/head/sub for headline type, ``text`` for body type, "" unknown."""

    text: str
    role: str
    conf: float | None = None


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


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None
