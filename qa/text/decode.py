"""Bytes of a text page -> text: UTF-16, UTF-8, GB18030/GBK or Big5, told apart; binary refused."""

from __future__ import annotations

import re

from charset_normalizer import from_bytes

from qa.errors import BadInput
from qa.text.normalize import CJK_PUNCT, IDEOGRAPHS

# Encodings a Chinese newspaper file may really be in; anything else detected is mojibake.
_PLAUSIBLE = {
    "utf_8",
    "gb18030",
    "gbk",
    "gb2312",
    "big5",
    "big5hkscs",
    "utf_16",
    "utf_16_le",
    "utf_16_be",
    "utf_32",
    "hz",
    "cp950",
    "cp936",
}


def looks_binary(data: bytes) -> bool:
    """True for NUL bytes or many control bytes in the first 8 KiB: ``looks_binary(b"\\x00PK") -> True``."""
    head = data[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return bool(head) and controls / len(head) > 0.05


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding). Raises BadInput with a Chinese reason.

    UTF-16 first (a BOM, or NUL bytes paired as UTF-16 text has them), then strict UTF-8, then
    GB18030 (a superset of GBK/GB2312). Big5 bytes almost always decode as GB18030 too, into
    rare characters (「羉砰絪絏」): when the Big5 reading has clearly more common characters, it
    wins. charset-normalizer is known to misdetect short Chinese texts, so it is only asked when
    every strict decode fails, and its answer is kept only for an encoding Chinese text plausibly
    comes in. ``decode_bytes("问需于企".encode("gbk")) -> ("问需于企", "gb18030")``
    """
    if (utf16 := _utf16(data)) is not None:
        return utf16
    if looks_binary(data):
        raise BadInput("二进制文件，不是文本")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf_8"), "utf_8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        big5 = _big5(data)
        if big5 is not None and _common_share(big5, _BIG5_COMMON) > _common_share(text, _GB_COMMON) + 0.15:
            return big5, "cp950"
        return text, "gb18030"
    best = from_bytes(data).best()
    if best is None or best.encoding not in _PLAUSIBLE:
        found = f"（检测为 {best.encoding}）" if best is not None else ""
        raise BadInput(f"无法识别文件编码{found}，不是 UTF-8、GB18030/GBK、Big5 或 UTF-16 文本")
    return str(best), best.encoding


# The commonest characters of each encoding, by byte range: GB2312 level 1 (3,755 hanzi) and Big5's
# 常用字 (5,401). Real text is nearly all in its own encoding's list; a misreading is not.
_GB_COMMON = ("gb2312", b"\xb0\xa1", b"\xd7\xfe")
_BIG5_COMMON = ("big5", b"\xa4\x40", b"\xc6\x7e")
_TEXTLIKE = re.compile(
    f"[\t\n\r\f\x20-\x7e{IDEOGRAPHS}{CJK_PUNCT}\u2000-\u206f\u3000-\u303f\uff00-\uffef\u25a0-\u25ff]"
)


def _common_share(text: str, common: tuple[str, bytes, bytes], sample: int = 4000) -> float:
    """Share of the non-ASCII characters (the first ``sample``) among ``common``'s byte range."""
    codec, lo, hi = common
    chars = [c for c in text if ord(c) > 127][:sample]
    hits = 0
    for c in chars:
        try:
            b = c.encode(codec)
        except UnicodeEncodeError:
            continue
        hits += len(b) == 2 and lo <= b <= hi
    return hits / len(chars) if chars else 0.0


def _big5(data: bytes) -> str | None:
    for codec in ("cp950", "big5hkscs"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def _utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text: with a BOM, or without one when it has NUL bytes (ASCII, newlines) and reads as text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not data.startswith(b"\xff\xfe\x00\x00"):
        candidates = ["utf_16"]
    elif b"\x00" in data[:8192] and len(data) % 2 == 0:
        candidates = ["utf_16_le", "utf_16_be"]
    else:
        return None
    for codec in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        text = text.removeprefix("\ufeff")
        if text and len(_TEXTLIKE.findall(text[:4096])) >= 0.95 * len(text[:4096]):
            return text, codec
    return None
