"""Raw page text -> canonical text: decoding, dates, width folding, spaces and line rejoining.

Everything here is pure and deterministic, so the same file always yields the same page text
(article ids are derived from it). Page text comes in two shapes (see ``seeds/``):

* one paragraph per line (seed 000) — lines are kept, only obviously broken ones are joined;
* hard-wrapped PDF extraction (seed 002) — lines of ~10–40 characters are rejoined into
  paragraphs, without swallowing headlines, bylines or subtitles.

Example::

    >>> normalize_text("问需于企 精准滴灌\\n\\n２０２５年，融资担保覆盖 2.22 万户，服务 2200 余家中小企\\n业。")
    '问需于企 精准滴灌\\n2025年，融资担保覆盖2.22万户，服务2200余家中小企业。'
"""

from __future__ import annotations

import logging
import re
import statistics
import unicodedata

# Ideographs (CJK unified + extension A + compatibility); extension B+ via code point check.
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Chinese punctuation that stays full-width (it carries meaning and is what readers expect).
CJK_PUNCT = "，。、；：！？“”‘’（）《》〈〉【】「」『』…—·～"
FINAL = "。！？…!?"  # sentence-final marks
CLOSERS = "”」』）)"  # close a quote/bracket; final only right after a FINAL mark
CLAUSE = "，。、；：！？,;:!?"  # any clause punctuation: headlines rarely have it
# Marks that begin a line which can never continue the previous paragraph.
MARKER_START = re.compile(r"^(?:[■□●◆▲◇]|——|─|本报讯|图为|【|[^\s，。]{2,16}?\d{1,2}月\d{1,2}日(?:电|讯))")
_SPACE_RUN = re.compile(r"[ \t\u00a0\u3000]+")
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060]")
_P = f"[{CJK_PUNCT}]"
_SQUEEZE = [  # spaces PDF extraction puts where Chinese typesetting has none
    re.compile(rf"(?<=[{IDEOGRAPHS}]) +(?=[0-9(]|{_P})"),  # 覆盖 2.22, 本报讯 （
    re.compile(rf"(?<=[0-9%]) +(?=[{IDEOGRAPHS}]|{_P})"),  # 2200 余家, 7 月
    re.compile(rf"(?<={_P}) +(?=[{IDEOGRAPHS}0-9(]|{_P})"),  # ） 7月, 。 (下转第7版)
]
IDEOGRAPHS_SPACE = re.compile(rf"[{IDEOGRAPHS}] +[{IDEOGRAPHS}]")
# CJK Radicals Supplement (U+2E80–U+2EFF) forms that PDF text layers put where a whole character
# was printed (the font draws both with one glyph, and the ToUnicode map names the radical). NFKC
# maps only ⺟ and ⻳ of this block, so the rest come from this table: each radical to the ordinary
# character (or standalone component) it is drawn as; the C-SIMPLIFIED ones to the simplified form.
RADICAL_SUPPLEMENT = dict(
    zip(
        "⺁⺃⺅⺆⺇⺉⺊⺌⺎⺏⺐⺑⺒⺓⺔⺖⺗⺘⺙⺛⺜⺝⺞⺟⺠⺡⺣⺤⺥⺦⺧⺨⺩⺪⺫⺬⺭⺮⺯⺰⺲⺳⺴⺵⺹⺺⺼⺾⺿⻀⻁⻂⻃⻄"
        "⻅⻆⻇⻈⻉⻊⻋⻌⻍⻎⻏⻐⻑⻒⻓⻔⻖⻗⻘⻙⻚⻛⻜⻝⻞⻟⻠⻡⻢⻣⻤⻥⻦⻧⻨⻩⻪⻫⻬⻭⻮⻯⻰⻱⻲⻳",
        "厂乚亻冂几刂卜小尢尢尣尣巳幺彐忄㣺扌攵旡日月歺母民氵灬爫爫丬牛犭王疋罒示礻竹糹纟罒罓网网耂肀月艹艹艹虍衤覀西"
        "见角𧢲讠贝𧾷车辶辶辶阝钅長镸长门阝雨青韦页风飞食飠食饣首马骨鬼鱼鸟卤麦黄黾斉齐歯齿竜龙龜亀龟",
        strict=True,
    )
)
# Blocks whose code points stand for ordinary ideographs: the supplement above, Kangxi Radicals
# (⽇ ⼯ ⾥: NFKC maps each to its ideograph) and CJK Compatibility Ideographs (NFKC too).
_CJK_VARIANT = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf\uf900-\ufaff\U0002f800-\U0002fa1f]")


def _fold_one(m: re.Match[str]) -> str:
    c = m.group(0)
    return RADICAL_SUPPLEMENT.get(c) or unicodedata.normalize("NFKC", c)


def fold_cjk_variants(text: str) -> str:
    """Kangxi radicals, radical-supplement forms and compatibility ideographs -> ordinary ideographs.

    Only these blocks are folded, so full-width punctuation (，。) and everything else stays as is.
    ``fold_cjk_variants("全⻓27.6公⾥，⼀期") -> "全长27.6公里，一期"``
    """
    return _CJK_VARIANT.sub(_fold_one, text) if _CJK_VARIANT.search(text) else text


def to_halfwidth(text: str) -> str:
    """Full-width digits/letters -> ASCII, punctuation kept: ``to_halfwidth("２０２５年，Ａ股") -> "2025年，A股"``."""
    return "".join(
        chr(ord(c) - 0xFEE0) if ("０" <= c <= "９" or "Ａ" <= c <= "Ｚ" or "ａ" <= c <= "ｚ") else c for c in text
    )


def width(line: str) -> float:
    """Printed width in ems: ASCII is half-width. ``width("2200余家") -> 4.0``."""
    return sum(0.5 if ord(c) < 128 else 1.0 for c in line)


def ends_sentence(line: str) -> bool:
    """``ends_sentence("能量”。") -> True``; ``ends_sentence("“小巨人”") -> False`` (a closer alone ends nothing)."""
    s = line.rstrip()
    if not s:
        return False
    if s[-1] in FINAL:
        return True
    return s[-1] in CLOSERS and len(s) > 1 and s[-2] in FINAL + CLOSERS


def headline_like(line: str, max_width: float = 30) -> bool:
    """Short and without clause punctuation: ``headline_like("问需于企 精准滴灌") -> True``."""
    s = line.strip()
    return bool(s) and width(s) <= max_width and not any(c in CLAUSE for c in s)


def squeeze_spaces(line: str) -> str:
    """Drop spaces between Chinese and digits/punctuation, keep Latin spaces and name separators.

    ``squeeze_spaces("覆盖 2.22 万户") -> "覆盖2.22万户"``; ``"HLB PTFE"`` and ``"记者 姬翔 吴兆旭"`` stay.
    Spaces between two ideographs are kept: in bylines and quoted titles they separate names.
    """
    for pattern in _SQUEEZE:
        line = pattern.sub("", line)
    return line


def is_hard_wrapped(lines: list[str]) -> bool:
    """Most lines short (≤ 45 ems) and none a long paragraph: the shape of PDF extraction (seed 002)."""
    widths = [width(s) for s in lines if s.strip()]
    if len(widths) < 6:
        return False
    short = sum(1 for w in widths if w <= 45) / len(widths)
    return short >= 0.8 and statistics.median(widths) >= 6


def _glue(a: str, b: str) -> str:
    """Join a wrapped line; Latin words split by the wrap keep one space between them."""
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return a + " " + b
    return a + b


def join_wrapped_lines(lines: list[str]) -> list[str]:
    """Rejoin a hard-wrapped page into paragraphs (blank lines are ignored: PDF puts them anywhere).

    A line continues the previous one when the previous does not end a sentence, is close to
    the typical width of the lines around it (a short line ends a paragraph or is a headline),
    and the line is neither a marker (■, ——, 本报讯, dateline) nor itself a short headline.
    ``join_wrapped_lines(["是经济韧性的基", "石，也是源泉。"]) -> ["是经济韧性的基石，也是源泉。"]``
    """
    rows = [s.strip() for s in lines if s.strip()]
    widths = [width(s) for s in rows]
    typical = [statistics.median(widths[max(0, i - 3) : i + 4]) for i in range(len(rows))]
    # Decide right to left: a headline-shaped line is only a headline when nothing continues it.
    joins = [False] * len(rows)
    for i in range(len(rows) - 1, 0, -1):
        terminal = i == len(rows) - 1 or not joins[i + 1]
        joins[i] = _continues(rows[i - 1], rows[i], typical[i - 1], typical[i], terminal)
    out: list[str] = []
    for line, join in zip(rows, joins):
        if out and join:
            out[-1] = _glue(out[-1], line)
        else:
            out.append(line)
    return out


def _headline_shaped(line: str) -> bool:
    """No punctuation but a space between ideographs: how headlines look in PDF text."""
    return not any(c in CJK_PUNCT for c in line) and bool(IDEOGRAPHS_SPACE.search(line))


def _continues(prev: str, line: str, prev_typical: float, typical: float, terminal: bool) -> bool:
    if line[0] in "，。、；：！？）」』”…%":
        return True  # extraction put a closing mark at the start of the next line
    if ends_sentence(prev) or MARKER_START.match(line) or prev.startswith(("——", "─")):
        return False
    if prev[0] in "■□●◆" and width(prev) <= 20:
        return False  # a byline such as 「■ 赵宗锋」
    if _headline_shaped(prev) or _headline_shaped(line):
        return False
    if width(prev) < 0.75 * prev_typical:
        return False
    if headline_like(line) and not ends_sentence(line):
        # a short unpunctuated line, or one nothing continues, is a headline, not a paragraph's tail
        return not (terminal or width(line) < 0.75 * typical)
    return True


def join_broken_paragraphs(lines: list[str]) -> list[str]:
    """One-paragraph-per-line pages: join only lines broken mid-sentence (seed 000's 「突出难」+「题，」).

    A long prose line ending in an ideograph continues on the next prose line. When columns are
    interleaved (a broken line is followed by a headline), the continuation is chosen by whether
    a jieba word spans the seam: 「让改」+「革红利」 forms 「改革」.
    ``join_broken_paragraphs(["……马继业介", "绍。"]) -> ["……马继业介绍。"]``
    """
    rows = [s.strip() for s in lines if s.strip()]
    out: list[str] = []
    dangling: list[int] = []  # indices in ``out`` of broken lines interrupted by a headline
    i = 0
    while i < len(rows):
        line = rows[i]
        if out and line[0] in "，。、；：！？）」』”…":
            out[-1] += line
        elif out and _broken(out[-1]) and _can_continue(line):
            nxt = rows[i + 1] if i + 1 < len(rows) else ""
            recent = [d for d in dangling if len(out) - d <= 6]
            if recent and nxt and _can_continue(nxt):
                d = recent[-1]
                crossed = _seam(out[d], line) + _seam(out[-1], nxt)
                if crossed > _seam(out[-1], line) + _seam(out[d], nxt):
                    out[d] += line
                    out[-1] += nxt
                    dangling.remove(d)
                    i += 2
                    continue
            out[-1] += line
        else:
            if out and _broken(out[-1]):
                dangling.append(len(out) - 1)
            out.append(line)
        i += 1
    return out


def _broken(line: str) -> bool:
    return width(line) > 24 and any(c in CLAUSE for c in line) and bool(re.match(rf"[{IDEOGRAPHS}]", line[-1]))


def _can_continue(line: str) -> bool:
    return not MARKER_START.match(line) and not (headline_like(line) and not ends_sentence(line))


def _seam(a: str, b: str) -> int:
    """1 when a jieba word spans the join of ``a`` and ``b`` (「让改」|「革红」 -> 「改革」)."""
    import jieba  # imported lazily: only interleaved columns need it, and its dictionary loads slowly

    jieba.setLogLevel(logging.WARNING)  # keep `qa inspect` stderr free of dictionary-loading chatter

    left, right = a[-4:], b[:4]
    pos = 0
    for word in jieba.cut(left + right, HMM=False):
        if pos < len(left) < pos + len(word):
            return 1
        pos += len(word)
    return 0


def normalize_paragraphs(paras: list[str]) -> list[str]:
    """Paragraphs already found from positions (``qa.ingest.layout``): cleaned one by one, never
    joined or split, so they stay aligned with their roles; a paragraph may come back empty.

    ``normalize_paragraphs(["２０２５年 ，服务 2200 余家", "问需于企 精准滴灌"])``
    -> ``["2025年，服务2200余家", "问需于企 精准滴灌"]``
    """
    out = []
    for para in paras:
        line = _SPACE_RUN.sub(" ", to_halfwidth(fold_cjk_variants(_INVISIBLE.sub("", para)))).strip()
        out.append(line if headline_like(line) else squeeze_spaces(line))
    return out


def normalize_text(text: str) -> str:
    """Canonical page text: one paragraph per line, no empty lines (see module docstring)."""
    text = fold_cjk_variants(_INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    lines = [_SPACE_RUN.sub(" ", to_halfwidth(s)).strip() for s in text.split("\n")]
    lines = [s for s in lines if s]
    hard = is_hard_wrapped(lines)
    paras = join_wrapped_lines(lines) if hard else join_broken_paragraphs(lines)
    return "\n".join(squeeze_spaces(p) if hard or not headline_like(p) else p for p in paras)
