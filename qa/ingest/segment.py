"""Page -> Articles: headline (引题/主题/副题), byline, body, captions and cross-page references.

Each normalised paragraph gets a kind (headline, subtitle, byline, reference, caption, body);
headline lines form *groups*, body paragraphs form *runs*. A group is paired with the run just
after it (the usual reading order) or the run just before it (PDF text often prints a headline
after its body, as seed 002 does), whichever shares more character bigrams with the headline.
Runs left without a headline stay on the page as untitled sections, so no text is dropped;
only newspaper furniture (see ``is_furniture``) is removed, and counted. Example::

    >>> arts = segment_page(Page("p", "聊城日报", "2026-04-01", 1,
    ...     "春意浓\\n本报讯（记者 王培源）樱花开了。", "x"))
    >>> arts[0].title, arts[0].byline, arts[0].body
    ('春意浓', '本报讯（记者 王培源）', '樱花开了。')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.text.normalize import CLAUSE, width
from qa.types import Article, Page

_NUM = "[0-9一二三四五六七八九十]+"
REF_LINE = re.compile(rf"^[（(]?(?:(?:下转|上接|转|接|详见|详细报道见|更多报道见|见)\s*)?第\s*{_NUM}\s*版[）)]?$")
_REF = rf"[（(]\s*(?:下转|上接|转|接|详见|详细报道见|见)\s*第?\s*{_NUM}\s*版[^（()）]{{0,8}}[）)]"
REF_END = re.compile(rf"\s*{_REF}$")
REF_START = re.compile(rf"^{_REF}\s*")
DATELINE = re.compile(r"^(?:本报讯|[^\s，。！？“”■]{2,16}?\d{1,2}月\d{1,2}日(?:电|讯))\s*(?:[（(][^）)]{1,40}[）)])?")
# OCR drops the spaces in 「本报记者 王培源」, so with 「本报」 in front none is required.
BYLINE = re.compile(
    r"^(?:[■□●◆]\s*\S.{0,22}|(?:本报)?(?:特约)?(?:记者|通讯员)\s+\S.{0,20}"
    r"|本报(?:特约)?(?:记者|通讯员)[^\s，。；：]{2,20}"
    r"|[（(](?:本报)?(?:特约)?(?:记者|通讯员)[^（()）。，]{1,30}(?<!摄)[）)])$"
)  # not 「（记者 赵六 摄）」
CAPTION = re.compile(r"^(?:图为|【图片】|图：|[上下左右]图[：:为])|摄[）)]?$")
_EDITORIAL = re.compile(r"^(?:(?:责任编辑|编辑|美编|校对|版式|组版|审读|排版)[：:]\s*\S{0,8}\s*)+$")
_DATE_LINE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日(?:\s*(?:星期|周)[一二三四五六日天])?$")
_WORD = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")


def is_furniture(line: str, paper: str, role: str = "") -> bool:
    """The only text dropped: the paper's name alone, a bare date line (「2026年4月1日 星期三」), editor
    credits, and what the layout found in the masthead band (role "mast": issue number, 今日N版…).
    ``is_furniture("责任编辑：王明", "聊城日报") -> True``."""
    s = line.strip()
    return role == "mast" or s == paper or bool(_DATE_LINE.match(s)) or bool(_EDITORIAL.match(s))


def _roles(page: Page) -> list[str]:
    lines = page.text.split("\n")
    return page.roles if len(page.roles) == len(lines) else [""] * len(lines)


def furniture_chars(page: Page) -> int:
    """Non-whitespace characters of the furniture lines that ``segment_page`` drops from ``page.text``."""
    return sum(
        len("".join(s.split())) for s, r in zip(page.text.split("\n"), _roles(page)) if is_furniture(s, page.paper, r)
    )


def kind_with_role(text: str, role: str) -> str:
    """``_kind`` corrected by the type size the layout saw (``Page.roles``): a line set in headline
    type is a headline line (引题/主题/副题 by its place in the stack); a short line set in body
    type is body text, not a headline — unless it is a 「——」 subtitle."""
    if role in ("pre", "head", "sub"):
        if BYLINE.match(text) and not any(c in "，。；" for c in text):
            return "byline"
        return "sub" if text.startswith(("——", "─")) else role
    kind = _kind(text)
    return "body" if role == "text" and kind in ("head", "pre") else kind


def _kind(text: str) -> str:
    """One of ref/byline/deck/sub/pre/caption/head/body for a normalised paragraph."""
    w = width(text)
    if REF_LINE.match(text):
        return "ref"
    if BYLINE.match(text) and not any(c in "，。；" for c in text):
        return "byline"
    if text[0] in "■□●◆":
        return "deck"  # a ■-bullet of summary points under a headline
    if text.startswith(("——", "─")) and w <= 60:
        return "sub"
    if text.endswith(("——", "：", ":")) and w <= 40 and "。" not in text:
        return "pre"
    if CAPTION.search(text) and w <= 120:
        return "caption"
    if w <= 32 and not any(c in "。！？；!?;" for c in text) and text.count("，") <= 1 and text[-1] not in CLAUSE:
        return "head"
    return "body"


@dataclass
class _Group:
    pos: int
    lines: list[tuple[str, str]] = field(default_factory=list)  # (kind, text): head/pre/sub/ref
    byline: str | None = None
    deck: list[str] = field(default_factory=list)


@dataclass
class _Run:
    pos: int
    paras: list[tuple[str, str]] = field(default_factory=list)  # (kind, text): body/caption/head
    bylines: list[str] = field(default_factory=list)
    closed: bool = False  # a trailing byline ends the run


def _items(paras: list[str], kinds: list[str]) -> list[_Group | _Run]:
    """Group headline lines and body paragraphs in page order, attaching bylines and bullets."""
    items: list[_Group | _Run] = []
    pending: list[str] = []  # bylines waiting for the body that follows them
    for i, (kind, text) in enumerate(zip(kinds, paras)):
        cur = items[-1] if items else None
        if kind == "ref" and isinstance(cur, _Run) and not pending:
            cur.paras.append(("ref", text))  # 「（下转第7版）」 on its own line under a body
        elif kind in ("head", "pre", "sub", "ref"):
            if not (isinstance(cur, _Group) and cur.byline is None and not cur.deck and not pending):
                items.append(_Group(i))
            items[-1].lines.append((kind, text))
        elif kind == "byline":
            nxt = kinds[i + 1] if i + 1 < len(paras) else None
            if isinstance(cur, _Group) and cur.byline is None and not pending:
                cur.byline = text
            elif (
                isinstance(cur, _Run)
                and not pending
                and (nxt not in ("body", "caption", "deck") or DATELINE.match(paras[i + 1]))
            ):
                cur.bylines.append(text)  # a photo credit or signature under its body
                cur.closed = True
            else:
                pending.append(text)
        elif kind == "deck" and isinstance(cur, _Group) and not pending:
            cur.deck.append(text)
        else:
            captions_only = isinstance(cur, _Run) and all(k == "caption" for k, _ in cur.paras)
            if not isinstance(cur, _Run) or cur.closed or pending or (DATELINE.match(text) and not captions_only):
                items.append(_Run(i, bylines=pending))
                pending = []
            items[-1].paras.append((kind if kind != "deck" else "body", text))
    if pending:
        items.append(_Run(len(paras), bylines=pending))
    return items


def _merge_subheads(items: list[_Group | _Run]) -> list[_Group | _Run]:
    """Fold subheads (「梯次培育」: 1–2 plain headline lines between a run titled from above and a run
    without byline or dateline) back into the body they interrupt."""
    k = 2
    while k < len(items) - 1:
        g, before, after, above = items[k], items[k - 1], items[k + 1], items[k - 2]
        plain = isinstance(g, _Group) and g.byline is None and not g.deck and len(g.lines) <= 2
        if (
            plain
            and all(kd == "head" for kd, _ in g.lines)
            and isinstance(before, _Run)
            and isinstance(above, _Group)
            and isinstance(after, _Run)
            and not after.bylines
            and not before.closed
            and not DATELINE.match(after.paras[0][1])
        ):
            before.paras += g.lines + after.paras
            del items[k : k + 2]
        else:
            k += 1
    return items


def _units(group: _Group) -> list[list[tuple[str, str]]]:
    """Split a group into headings: one ends after its subtitle(s) or its reference lines."""
    units: list[list[tuple[str, str]]] = [[]]
    for n, (kind, text) in enumerate(group.lines):
        units[-1].append((kind, text))
        if (nxt := group.lines[n + 1][0] if n + 1 < len(group.lines) else None) and (
            (kind == "sub" and nxt in ("head", "pre")) or (kind == "ref" and nxt != "ref")
        ):
            units.append([])
    return units


def _flat(text: str) -> str:  # letters, digits and ideographs only: 「让“小体量”」 -> 「让小体量」
    return "".join(_WORD.findall(text))


def _bigrams(text: str) -> set[str]:
    flat = _flat(text)
    return {flat[i : i + 2] for i in range(len(flat) - 1)}


def _score(unit: list[tuple[str, str]], run: _Run) -> float:
    """Share of the heading's character bigrams that occur in the run's text."""
    head = _bigrams("".join(t for k, t in unit if k != "ref"))
    body = _bigrams("".join(t for _, t in run.paras))
    return len(head & body) / len(head) if head else 0.0


def _pair(items: list[_Group | _Run], forward_only: bool = False) -> dict[int, tuple[int, int]]:
    """Map run index -> (group index, unit index): greedy by bigram overlap, reading order breaks ties.

    ``forward_only``: the page's reading order came from its layout, so a headline titles the
    body after it and never the one before."""
    cands = []
    for k, g in enumerate(items):
        if not isinstance(g, _Group):
            continue
        units = _units(g)
        sides = ((0, units[0], k - 1, 0.0), (len(units) - 1, units[-1], k + 1, 0.1))
        for j, unit, r, bonus in sides[1:] if forward_only else sides:
            if 0 <= r < len(items) and isinstance(items[r], _Run) and items[r].paras:
                if not any(kd in ("head", "pre") for kd, _ in unit):
                    continue  # only a subtitle or reference: nothing to title a body with
                overlap = _score(unit, items[r])
                if overlap >= 0.3 or bonus:
                    cands.append((overlap + bonus, r, (k, j)))
    pairs: dict[int, tuple[int, int]] = {}
    taken: set[tuple[int, int]] = set()
    for score, r, gu in sorted(cands, key=lambda c: (-c[0], c[1])):
        if r not in pairs and gu not in taken:
            pairs[r] = gu
            taken.add(gu)
    return pairs


def _split_after_body(unit: list[tuple[str, str]], run: _Run, r: int) -> list[tuple[list, int | None]]:
    """Split a heading printed after its body: [「市政府党组…集体学习」, 「防汛…炼成」, 「润物细无声」, 「——…」]
    -> the line matching the body titles it, the lines after it are a separate (body-less) heading."""
    scores = [_score([(k, t)], run) if k == "head" else 0.0 for k, t in unit]
    best = max(range(len(unit)), key=lambda n: scores[n])
    end = best + 1
    while end < len(unit) and unit[end][0] == "sub":
        end += 1
    if scores[best] < 0.5 or end == len(unit) or any(s >= 0.5 for s in scores[end:]):
        return [(unit, r)]
    return [(unit[:end], r), (unit[end:], None)]


def _heading(unit: list[tuple[str, str]], body: str) -> tuple[list[str], str | None, str | None, str | None]:
    """(leftover lines, 引题, 主题, 副题) of one heading; ``body`` is the paired run's text or "".

    Two headline lines whose concatenation occurs in the body are one title wrapped by layout
    (「黑色金属加工产业链」+「“问需于企”座谈会召开」).
    """
    lines = [(k, t) for k, t in unit if k != "ref"]
    flat_body = _flat(body)
    n = 0
    while n < len(lines) - 1:
        (k1, t1), (k2, t2) = lines[n], lines[n + 1]
        if k1 == k2 == "head" and flat_body and _flat(t1 + t2) in flat_body:
            lines[n : n + 2] = [("head", t1 + t2)]
        else:
            n += 1
    kinds = [k for k, _ in lines]
    heads = [n for n, k in enumerate(kinds) if k == "head"]
    if not heads:
        return [t for _, t in lines], None, None, None
    pre_i = sub_i = None
    if "sub" in kinds and kinds.index("sub") > 0 and kinds[kinds.index("sub") - 1] == "head":
        t = kinds.index("sub") - 1
    elif any(k == "pre" and n + 1 < len(kinds) and kinds[n + 1] == "head" for n, k in enumerate(kinds)):
        t = max(n for n, k in enumerate(kinds[:-1]) if k == "pre" and kinds[n + 1] == "head") + 1
    elif len(heads) >= 3:  # 引题 / 主题 / 副题 without marks
        pre_i, t, sub_i = heads[-3], heads[-2], heads[-1]
    else:
        t = heads[0]
        sub_i = heads[1] if len(heads) == 2 else None
    if pre_i is None and t > 0 and kinds[t - 1] == "pre":
        pre_i = t - 1
    subs = [
        n for n in range(t + 1, len(lines)) if kinds[n] == "sub" and all(kinds[m] == "sub" for m in range(t + 1, n))
    ]
    sub_idx = subs if subs else ([sub_i] if sub_i is not None else [])
    used = {t, *sub_idx} | ({pre_i} if pre_i is not None else set())
    leftover = [text for n, (_, text) in enumerate(lines) if n not in used]
    pre = lines[pre_i][1] if pre_i is not None else None
    return leftover, pre, lines[t][1], "".join(lines[n][1] for n in sub_idx) or None


def _body(run: _Run | None, extra: list[str]) -> tuple[str | None, str, list[str], list[str]]:
    """(dateline byline, body, captions, refs) of a run; a leading 「本报讯（记者 …）」 is split off
    (leading: in the first body paragraph, after any photo captions)."""
    paras, captions, refs, dateline = [], [], [], None
    for kind, text in run.paras if run else []:
        if kind == "ref":
            refs.append(text)
            continue
        if not paras and (m := DATELINE.match(text)) and kind == "body":
            dateline, text = m.group(0).strip(), text[m.end() :].strip()
        for pattern in (REF_START, REF_END):
            if m := pattern.search(text):
                refs.append(m.group(0).strip())
                text = (text[: m.start()] + text[m.end() :]).strip()
        if kind == "caption":
            captions.append(text)
        elif text:
            paras.append(text)
    return dateline, "\n".join(paras + extra), captions, refs


def _fields(run: _Run | None, deck: list[str], refs: list[str], byline: str | None, **heading) -> dict:
    """Article keyword arguments for a heading (maybe none) and the run it titles (maybe none)."""
    dateline, body, captions, body_refs = _body(run, deck)
    bylines = [b for b in (byline, *(run.bylines if run else []), dateline) if b]
    return dict(heading, body=body, byline=" ".join(bylines) or None, captions=captions, refs=refs + body_refs)


def segment_page(page: Page) -> list[Article]:
    """Split ``page.text`` into articles in page order; ``page.articles`` is returned if already filled.

    ``article_id`` is ``f"{page.source}#a{n}"``, n from 1, so it is stable for the same text; it is
    public (citations, the API), so it names the file as shown (``seeds/000_….txt#a3``), never the
    server's absolute path.
    """
    if page.articles:
        return page.articles
    lines, roles = page.text.split("\n"), _roles(page)
    kept = [(p.strip(), r) for p, r in zip(lines, roles) if p.strip() and not is_furniture(p, page.paper, r)]
    paras = [p for p, _ in kept]
    items = _items(paras, [kind_with_role(p, r) for p, r in kept])
    laid_out = any(
        r not in ("", "mast") for r in roles
    )  # reading order and headline type known from positions: trust them
    if not laid_out:
        items = _merge_subheads(items)
    pairs = _pair(items, forward_only=laid_out)
    paired_unit = {gu: r for r, gu in pairs.items()}
    found: list[tuple[tuple[int, int, int], dict]] = []
    for k, item in enumerate(items):
        if isinstance(item, _Run):
            if k not in pairs:  # a body nobody titles: an untitled section
                found.append(((item.pos, 0, 0), _fields(item, [], [], None, title=None)))
            continue
        units = [(unit, paired_unit.get((k, j))) for j, unit in enumerate(_units(item))]
        if units[0][1] is not None and units[0][1] < k:  # headline printed after its body
            units[0:1] = _split_after_body(units[0][0], items[units[0][1]], units[0][1])
        for j, (unit, r) in enumerate(units):
            last, run = j == len(units) - 1, items[r] if r is not None else None
            leftover, pre, title, subtitle = _heading(unit, "".join(t for _, t in run.paras) if run else "")
            pos = (min(item.pos, run.pos) if run else item.pos, j)
            if title is None:  # no headline line: the heading's lines become the section's text
                paras, bylines = (run.paras, run.bylines) if run else ([], [])
                leftover, run = [], _Run(pos[0], [("head", t) for t in leftover] + paras, bylines)
            elif leftover:  # extra headline lines (slogans, column names, teasers): a title-only item
                found.append(((*pos, 0), dict(title=leftover[0], body="\n".join(leftover[1:]))))
            refs = [t for kd, t in unit if kd == "ref"]
            found.append(
                (
                    (*pos, 1),
                    _fields(
                        run,
                        item.deck if last else [],
                        refs,
                        item.byline if last else None,
                        title=title,
                        pre_title=pre,
                        subtitle=subtitle,
                    ),
                )
            )
    found.sort(key=lambda f: f[0])
    return [Article(article_id=f"{page.source}#a{n}", **fields) for n, (_, fields) in enumerate(found, start=1)]
