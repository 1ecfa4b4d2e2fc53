"""Text helpers shared by chunking, retrieval, answers and the readers: one definition of each.

* where a Chinese sentence ends (``SENTENCE_END``, ``split_sentences``),
* rejoining lines that PDF extraction hard-wrapped (``join_wrapped_lines``),
* character n-grams (``char_ngrams``, ``word_bigrams``),
* ISO dates (``parse_iso_date``, ``date_number``).

>>> split_sentences("甲。乙！")
['甲。', '乙！']
>>> sorted(char_ngrams("甲乙丙丁", 3))
['乙丙丁', '甲乙丙']
>>> date_number("2025-07-29")
20250729
"""

from __future__ import annotations

import datetime as dt
import re

SENTENCE_END = "。！？；!?;…"  # marks that end a sentence
CLOSERS = "”’」』）)》〉】\"'"  # closing quotes/brackets that stay with the sentence they close
# A line ending in one of these does not continue on the next line (a sentence or a clause ended).
LINE_END = SENTENCE_END + "”’」』）)：:"

# One sentence: shortest run up to a terminator (runs like 「……」「？！」 included), closing quotes,
# then any whitespace; or up to a line end; or the rest of the text.
_SENTENCE = re.compile(
    rf"[^\n]*?(?:[。！？；!?;]+|…+|\.{{3,}})[{re.escape(CLOSERS)}]*\s*"
    r"|[^\n]*\n\s*"
    r"|[^\n]+$",
    re.S,
)
# PDF extraction leaves spaces around numbers (「2200 余家」「覆盖 2.22」); other spaces are kept.
_NUM_SPACE = re.compile(r"(?<=\d)[ \t\u3000]+(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])[ \t\u3000]+(?=\d)")
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A decimal point at a line end with the digits on the next line (「斩获25.」/「1亿元」, a PDF wrap or
# an export's hard break) is inside a number, not the end of a sentence: a chunk or an answer cut
# there quoted 「票房冠军《长津湖之水门桥》斩获25.[1]」.
_DECIMAL_END = re.compile(r"\d[.．]\s*$")
_DIGIT_START = re.compile(r"\s*\d")
_NUMBER_CHAR = re.compile(r"[\d.．,%％]")
WRAP_MIN_LINE = 16  # a line this long that ends mid-sentence was wrapped; a shorter one is a headline


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences whose concatenation is exactly ``text``.

    >>> split_sentences("他说：“走吧。”然后\\n新段")
    ['他说：“走吧。”', '然后\\n', '新段']
    """
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _SENTENCE.match(text, pos)
        if not m or m.end() == pos:  # defensive: never loop forever on odd input
            out.append(text[pos:])
            break
        out.append(m.group(0))
        pos = m.end()
    # Pure-whitespace pieces (blank lines) belong to the sentence before them; so does a piece that
    # continues a number broken after its decimal point.
    merged: list[str] = []
    for s in out:
        if merged and (not s.strip() or inside_number(merged[-1], s)):
            merged[-1] += s
        else:
            merged.append(s)
    return merged


def inside_number(before: str, after: str) -> bool:
    """Does the break between ``before`` and ``after`` fall inside a decimal number (「25.」|「1亿元」)?

    >>> inside_number("斩获25.\\n", "1亿元。"), inside_number("增长7%。\\n", "8月")
    (True, False)
    """
    return bool(_DECIMAL_END.search(before) and _DIGIT_START.match(after))


def number_safe_cut(text: str, limit: int) -> int:
    """Where to hard-cut ``text`` at most ``limit`` characters in: never inside a number (「25.|1」「3|0%」),
    backing off at most half the limit.

    >>> number_safe_cut("斩获冠军票房25.1亿元", 9)
    6
    """
    cut = limit
    while cut > limit // 2 and cut < len(text) and _NUMBER_CHAR.match(text[cut - 1]) and _NUMBER_CHAR.match(text[cut]):
        cut -= 1
    return cut if cut > limit // 2 else limit


def join_wrapped_lines(text: str) -> list[str]:
    """Paragraphs of ``text`` with PDF hard wraps undone (long lines that end mid-sentence).

    >>> join_wrapped_lines("梯次培育\\n全市新增省级以上专精特新中小企业\\n207 家。")
    ['梯次培育', '全市新增省级以上专精特新中小企业207家。']
    """
    paragraphs, current = [], ""
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        if current and (_wrapped(current) or inside_number(current, line)):
            current += "\n" + line
        else:
            if current:
                paragraphs.append(current)
            current = line
    paragraphs.append(current)
    return [_NUM_SPACE.sub("", p.replace("\n", "")) for p in paragraphs if p]


def _wrapped(text: str) -> bool:
    """Does ``text`` end with a long line that stops mid-sentence (a hard wrap)?"""
    return len(text.splitlines()[-1]) >= WRAP_MIN_LINE and text[-1] not in LINE_END


def plain_sentences(text: str) -> list[str]:
    """Trimmed sentences of a passage that may hold PDF hard wraps (what answers quote).

    >>> plain_sentences("他说：“好。”我们走吧！\\n梯次培育")
    ['他说：“好。”', '我们走吧！', '梯次培育']
    """
    return [s.strip() for p in join_wrapped_lines(text) for s in split_sentences(p) if s.strip()]


def char_ngrams(text: str, n: int) -> set[str]:
    """Character n-grams of ``text`` with whitespace removed; a text shorter than ``n`` is its own gram."""
    s = "".join(text.split())
    if len(s) <= n:
        return {s} if s else set()
    return {s[i : i + n] for i in range(len(s) - n + 1)}


def word_bigrams(text: str) -> set[str]:
    """Character bigrams inside each run of word characters (punctuation breaks runs).

    >>> sorted(word_bigrams("新增，企业A"))
    ['业A', '企业', '新增']
    """
    runs = re.sub(r"[\W_]+", " ", text).split()
    return {w[i : i + 2] for w in runs for i in range(max(len(w) - 1, 1))}


def parse_iso_date(value: object) -> dt.date | None:
    """A real calendar date written exactly ``YYYY-MM-DD``, else None.

    >>> parse_iso_date("2025-02-29") is None, parse_iso_date("2024-02-29")
    (True, datetime.date(2024, 2, 29))
    """
    if not isinstance(value, str) or not _ISO.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def date_number(value: str, *, low: bool = True) -> int:
    """``2025-07-29`` -> 20250729; a partial ``2025-07`` is 20250700 (``low``) or 20250799.

    Dates sit as these numbers in the index's per-row arrays, so date filters are integer compares.

    >>> date_number("2025-07", low=False), date_number("2025")
    (20250799, 20250000)
    """
    digits = value.replace("-", "")
    if not digits.isdigit() or len(digits) not in (4, 6, 8):
        raise ValueError(f"not a date: {value!r}")
    return int(digits + ("0" if low else "9") * (8 - len(digits)))
