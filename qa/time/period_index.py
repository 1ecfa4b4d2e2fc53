"""Which rows speak of a period: per-row periods as sorted day-number arrays, no text scan.

Built once per index version from each chunk's ``extract_periods`` list and saved as plain
``.npy`` files (no pickle) plus ``periods.json`` with the format version. A query is a few
``searchsorted`` calls and one vectorised comparison per span class:

>>> import datetime as dt
>>> from qa.time.mentions import extract_periods
>>> issue = dt.date(2025, 7, 29)
>>> texts = ["今年上半年，资产总额1050亿元", "昨天召开会议", "近日走访", "无日期"]
>>> idx = PeriodIndex.build([extract_periods(t, issue) for t in texts])
>>> idx.rows_speaking_of("2025-01-01", "2025-06-30").tolist()
[0]
>>> idx.rows_speaking_of("2025-07-28", "2025-07-28").tolist()   # 「近日」 is vague: never a match
[1]
>>> idx.why(0, "2025-01-01", "2025-06-30")
'今年上半年'

Only periods at most ``WITHIN`` (2.5) times as long as the asked one count, and any up to a
month: 「十四五期间」 (five years) is no evidence about 2025-07-28, 「今年」 is about 2025年上半年.
``within=None`` counts every overlapping period.

Why span classes: a period overlaps ``[f, t]`` when ``start <= t`` and ``end >= f``. With all
periods sorted by start, ``start <= t`` is a prefix, but ``end >= f`` is not monotone. Within
one class whose spans are at most ``L`` days, ``end >= f`` implies ``start > f - L``, so each
class needs only the slice ``f - L < start <= t`` — days, months, quarters, years and longer
(「十四五期间」, 「1986年10月至2005年6月」) each get a tight slice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.errors import IndexFormatError
from qa.time.mentions import Period

FORMAT = 1
META = "periods.json"
# Upper bounds (days) of the span classes; the last class is unbounded (its own longest span).
CLASSES = (1, 31, 92, 183, 366, 3660)
_ARRAYS = ("start", "end", "row", "vague", "offset", "phrase_ptr", "phrase_bytes", "row_ptr", "by_row")

DateLike = dt.date | str
# A period longer than WITHIN times the asked one (and than a month) is too broad to be evidence.
WITHIN = 2.5
MIN_LIMIT = 31


def _limit(asked_days: int, within: float | None) -> float:
    """Longest period (days) that counts for a question period of ``asked_days``."""
    return float("inf") if within is None else max(within * asked_days, MIN_LIMIT)


def _day(d: DateLike) -> int:
    """ISO string or date -> proleptic ordinal (what the arrays hold)."""
    return (dt.date.fromisoformat(d) if isinstance(d, str) else d).toordinal()


def drop_repeats(rows: np.ndarray) -> np.ndarray:
    """A sorted array without its repeated values (how callers sort depends on their data: a stable
    sort merges sorted runs fast, quicksort sorts scattered rows fast).

    >>> drop_repeats(np.array([1, 1, 2, 5, 5])).tolist(), drop_repeats(np.zeros(0, np.int64)).tolist()
    ([1, 2, 5], [])
    """
    return rows[np.concatenate([[True], rows[1:] != rows[:-1]])] if len(rows) else rows


class PeriodIndex:
    """Periods of every row: ``rows_speaking_of`` (sorted rows), ``why`` (the phrase), ``periods_of``."""

    def __init__(self, arrays: dict[str, np.ndarray], classes: list[tuple[int, int, int]], rows: int):
        self.a = arrays
        self.classes = classes  # (first, past-last, shortest, longest span in days) of each precise class
        self.rows = rows

    @classmethod
    def build(cls, rows_periods: Sequence[Sequence[Period]]) -> "PeriodIndex":
        """One list of periods per row (row = position), as ``extract_periods`` gives them."""
        flat = [(r, p) for r, ps in enumerate(rows_periods) for p in ps]
        return cls.from_arrays(
            rows=len(rows_periods),
            row=np.array([r for r, _ in flat], dtype=np.int64),
            start=np.array([p.start.toordinal() for _, p in flat], dtype=np.int64),
            end=np.array([p.end.toordinal() for _, p in flat], dtype=np.int64),
            vague=np.array([p.vague for _, p in flat], dtype=bool),
            offset=np.array([p.offset for _, p in flat], dtype=np.int64),
            phrases=[p.phrase for _, p in flat],
        )

    @classmethod
    def from_arrays(
        cls,
        rows: int,
        row: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        vague: np.ndarray,
        offset: np.ndarray,
        phrases: Sequence[str],
    ) -> "PeriodIndex":
        """Same as :meth:`build` from parallel arrays (day numbers are ``date.toordinal()``)."""
        span = end - start + 1
        klass = np.searchsorted(np.asarray(CLASSES), span, side="left")
        n_classes = len(CLASSES) + 1
        klass = np.where(vague, n_classes, klass)  # vague periods last, in no query class
        order = np.lexsort((start, klass))
        cache: dict[str, bytes] = {}  # phrases repeat (「今年」「昨天」): encode each distinct one once
        encoded = [cache.get(p) or cache.setdefault(p, p.encode("utf-8")) for p in phrases]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        ptr = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lengths[order], out=ptr[1:])
        blob = b"".join(encoded[i] for i in order)
        sorted_row = row[order]
        by_row = np.argsort(sorted_row, kind="stable").astype(np.int32)
        row_ptr = np.searchsorted(sorted_row[by_row], np.arange(rows + 1), side="left").astype(np.int64)
        arrays = {
            "start": start[order].astype(np.int32),
            "end": end[order].astype(np.int32),
            "row": sorted_row.astype(np.int32),
            "vague": vague[order],
            "offset": offset[order].astype(np.int32),
            "phrase_ptr": ptr,
            "phrase_bytes": np.frombuffer(blob, dtype=np.uint8),
            "row_ptr": row_ptr,
            "by_row": by_row,
        }
        bounds = np.searchsorted(klass[order], np.arange(n_classes + 1), side="left").tolist()
        classes = []
        for k in range(n_classes):
            lo, hi = bounds[k], bounds[k + 1]
            if hi > lo:
                spans = span[order][lo:hi]
                classes.append((lo, hi, int(spans.min()), int(spans.max())))
        return cls(arrays, classes, rows)

    def save(self, folder: Path | str) -> None:
        """``periods.json`` (format, counts, classes) and one ``period_<name>.npy`` per array."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"period_{name}.npy", self.a[name], allow_pickle=False)
        meta = {"format": FORMAT, "rows": self.rows, "periods": len(self), "classes": self.classes}
        (folder / META).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path | str, mmap: bool = True) -> "PeriodIndex":
        """Open a saved index (memory-mapped by default); IndexFormatError for another format or a missing file."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise IndexFormatError(
                    f"{folder / META} 的时间索引格式为 {meta.get('format')}，本程序需要 {FORMAT}，请重建索引。"
                )
            mode = "r" if mmap else None
            arrays = {n: np.load(folder / f"period_{n}.npy", mmap_mode=mode, allow_pickle=False) for n in _ARRAYS}
        except (OSError, ValueError, KeyError) as exc:
            raise IndexFormatError(f"{folder} 中的时间索引缺失或已损坏（{exc}），请重建索引。") from None
        return cls(arrays, [tuple(c) for c in meta["classes"]], int(meta["rows"]))

    def __len__(self) -> int:
        return int(len(self.a["start"]))

    def _matches(self, date_from: DateLike, date_to: DateLike, within: float | None) -> np.ndarray:
        """Positions of precise periods overlapping ``date_from..date_to`` and not too long for it."""
        f, t = _day(date_from), _day(date_to)
        limit = _limit(t - f + 1, within)
        start, end = self.a["start"], self.a["end"]
        parts = []
        for lo, hi, shortest, longest in self.classes:
            if shortest > limit:
                continue
            s = start[lo:hi]
            day = s.dtype.type  # a Python int would make NumPy cast all of ``s`` to int64 per call
            i = lo + int(np.searchsorted(s, day(f - longest + 1), side="left"))
            j = lo + int(np.searchsorted(s, day(t), side="right"))
            if j > i:
                keep = end[i:j] >= f
                if longest > limit:
                    keep &= end[i:j] - s[i - lo : j - lo] + 1 <= limit
                parts.append(np.flatnonzero(keep) + i)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def rows_speaking_of(self, date_from: DateLike, date_to: DateLike, within: float | None = WITHIN) -> np.ndarray:
        """Sorted distinct rows with a precise period overlapping the asked one (int64).

        ``within``: a period counts only when it is at most that many times as long as the asked
        one (and at least a month may always count): 「十四五期间」 speaks of 2021-2025, not of
        2025-07-28 in particular. None counts every overlapping period.
        """
        rows = self.a["row"][self._matches(date_from, date_to, within)]
        if len(rows) * 16 < self.rows:  # sort, not np.unique: NumPy 2 dedupes by hashing, 17 ms at 200k rows
            return drop_repeats(np.sort(rows)).astype(np.int64)
        seen = np.zeros(self.rows, dtype=bool)  # many matches: a mask beats sorting them
        seen[rows] = True
        return np.flatnonzero(seen).astype(np.int64)

    def phrase(self, k: int) -> str:
        ptr = self.a["phrase_ptr"]
        return bytes(self.a["phrase_bytes"][ptr[k] : ptr[k + 1]]).decode("utf-8")

    def periods_of(self, row: int) -> list[Period]:
        """The periods of one row in text order."""
        ks = self.a["by_row"][self.a["row_ptr"][row] : self.a["row_ptr"][row + 1]]
        out = [
            Period(
                dt.date.fromordinal(int(self.a["start"][k])),
                dt.date.fromordinal(int(self.a["end"][k])),
                self.phrase(int(k)),
                int(self.a["offset"][k]),
                bool(self.a["vague"][k]),
            )
            for k in ks
        ]
        return sorted(out, key=lambda p: p.offset)

    def why(self, row: int, date_from: DateLike, date_to: DateLike, within: float | None = WITHIN) -> str | None:
        """The first phrase of ``row`` that speaks of the asked period (「今年上半年」), or None."""
        f, t = dt.date.fromordinal(_day(date_from)), dt.date.fromordinal(_day(date_to))
        limit = _limit((t - f).days + 1, within)
        return next(
            (p.phrase for p in self.periods_of(row) if p.overlaps(f, t) and (p.end - p.start).days + 1 <= limit), None
        )
