"""Many varied newspaper pages with ground truth, for the layout tests and ``bench/bench_layout.py``.

``tests/pagegen.py`` draws one page plan (two bands, four articles); this module draws a new plan
per seed, from the parts real pages are made of, so a layout reader tuned to one plan fails here:

- 2-6 columns; a masthead band (paper name in large, letter-spaced type, issue data beside it)
  or a running head (date, page name, editor);
- one to three bands of articles; in each band articles side by side over 1..n columns, so
  headlines stand side by side; a lead spanning 3-4 columns with narrow articles under it;
- headlines spanning their columns or short (left-aligned over part of them), on one or two
  lines, some letter-spaced (「中 国 海 油」, digits not spaced, as Founder sets them), some with
  引题 and 「——」副题;
- bylines above the body (「本报记者 …」, 「■ 本报记者 …」, left or right-aligned), in a dateline
  (「本报讯（记者 …）」) or below the body, right-aligned; photos with captions; jump lines 「（下转第N版）」; boxed
  items; body type of 7.5-9 pt; vertical rules between articles at times.

Ground truth per article: title (as read, without letter spaces) and body paragraphs (bylines,
captions and jump lines are not body). Everything is seeded; the same seed gives the same page.

    page = make_mixed_page(seed=7)     # pagegen.GenPage with .articles and .pdf
"""

from __future__ import annotations

import random
import re
from itertools import pairwise

from pagegen import MARGIN, NAMES, PAGE_H, PAGE_W, PT, GenArticle, GenPage, _Flow, _span, _stories, _Writer

GUTTER = 4.0  # mm between columns
_CLAUSE = re.compile(r"[，。！？；：、“”（）《》]")
PAPERS = ["聊城日报", "齐鲁晚报", "大众日报", "东方时报"]


def _grid(n: int) -> list[tuple[float, float]]:
    width = (PAGE_W - 2 * MARGIN - (n - 1) * GUTTER) / n
    return [(MARGIN + i * (width + GUTTER), width) for i in range(n)]


def _spaced(w: _Writer, x: float, top: float, pt: float, text: str, gap: float) -> float:
    """``text`` char by char, ``gap`` ems after every CJK character (not digits or Latin); returns its width."""
    w.size(pt)
    start = x
    for n, ch in enumerate(text):
        w.text(x, top, pt, ch)
        x += w.pdf.get_string_width(ch)
        if "\u4e00" <= ch <= "\u9fff" and n + 1 < len(text) and "\u4e00" <= text[n + 1] <= "\u9fff":
            x += gap * pt * PT
    return x - start


def _spaced_width(w: _Writer, pt: float, text: str, gap: float) -> float:
    w.size(pt)
    cjk = sum(1 for a, b in pairwise(text) if "\u4e00" <= a <= "\u9fff" and "\u4e00" <= b <= "\u9fff")
    return w.pdf.get_string_width(text) + cjk * gap * pt * PT


def _masthead(w: _Writer, rng: random.Random, paper: str, date: str, force: dict) -> float:
    """A front-page masthead or an inner page's running head; returns the y where articles start."""
    y, m, d = (int(p) for p in date.split("-"))
    wd = "一二三四五六日"[rng.randrange(7)]
    if force.get(
        "masthead", rng.random() < 0.6
    ):  # front page: big letter-spaced name, issue data in small type beside it
        pt = rng.choice([36, 44, 52])
        width = _spaced(w, MARGIN, MARGIN, pt, paper, rng.choice([0.0, 0.2, 0.4]))
        x = MARGIN + width + 8
        info = [
            f"{y}年{m}月{d}日 星期{wd}",
            f"农历癸卯年{rng.choice('三四五六七')}月{rng.randint(11, 29)}",
            f"第{rng.randint(10000, 29999)}期 今日{rng.choice([8, 12, 16])}版",
            f"国内统一连续出版物号 CN37-{rng.randint(1, 99):04d}",
            f"{paper}社出版",
        ]
        for n, line in enumerate(rng.sample(info, rng.randint(3, 5))):
            w.text(x + (n // 3) * 45, MARGIN + 1 + (n % 3) * 5, 8, line)
        if rng.random() < 0.5:  # an ear: a boxed slogan at the right
            w.pdf.rect(PAGE_W - MARGIN - 30, MARGIN, 30, 14)
            w.text(PAGE_W - MARGIN - 27, MARGIN + 2, 9, "今日导读")
            w.text(PAGE_W - MARGIN - 27, MARGIN + 7.5, 7, f"详见第{rng.randint(2, 8)}版")
        rule = MARGIN + pt * PT + 4
    else:  # inner page: running head line
        w.text(MARGIN, MARGIN, 9, f"{y}年{m}月{d}日 星期{wd}")
        w.text(PAGE_W / 2 - 10, MARGIN, 12, rng.choice(["要闻", "综合新闻", "经济", "民生"]))
        w.text(PAGE_W - MARGIN - 35, MARGIN, 8, f"责任编辑：{rng.choice(NAMES)}")
        rule = MARGIN + 6
    w.pdf.set_line_width(0.6)
    w.pdf.line(MARGIN, rule, PAGE_W - MARGIN, rule)
    return rule + 4


def _bands(rng: random.Random, n: int, top: float) -> list[tuple[float, float, list[int]]]:
    """(top, bottom, column widths of its articles) for each band of the page."""
    bottom = PAGE_H - MARGIN
    if n >= 4 and rng.random() < 0.35:  # a lead over 3-4 columns, narrow articles under it
        lead = min(n, rng.choice([3, 4]))
        split = top + (bottom - top) * rng.uniform(0.45, 0.6)
        upper = [lead] + ([n - lead] if n > lead else [])
        return [(top, split, upper), (split + 5, bottom, [1] * lead + ([n - lead] if n > lead else []))]
    count = rng.choice([1, 2, 2, 3]) if n > 2 else rng.choice([1, 2])
    cuts = sorted(rng.uniform(0.3, 0.7) for _ in range(count - 1)) if count == 2 else [0.34, 0.67][: count - 1]
    edges = [top] + [top + (bottom - top) * c for c in cuts] + [bottom]
    out = []
    for a, b in pairwise(edges):
        widths, left = [], n
        while left:
            k = rng.randint(1, left) if left > 1 else 1
            widths.append(k)
            left -= k
        out.append((a if a == top else a + 5, b, widths))
    return out


def _title(rng: random.Random, paras: list[str], long: bool) -> str:
    clauses = [
        c
        for c in _CLAUSE.split(paras[0])
        if 6 <= len(c) <= 14 and not re.search(r"\d日$", c) and len(re.findall(r"[\u4e00-\u9fff]", c)) >= 5
    ]
    clauses = clauses or [paras[0][:10]]
    if long and len(clauses) > 1:
        return clauses[0] + " " + clauses[1]
    return clauses[0]


def _heading(w: _Writer, rng: random.Random, art: GenArticle, cols, top: float, force: dict) -> float:
    """引题 / 主题 (maybe letter-spaced, short or spanning) / 副题; returns the y below them."""
    x, width = _span(cols)
    clauses = [c for c in _CLAUSE.split("".join(art.paras)) if 6 <= len(c) <= 14]
    if rng.random() < 0.25 and len(clauses) > 3:
        art.pre_title = clauses[2]
        top = _line_centred(w, x, width, top, 10.5, art.pre_title) + 1
    k = len(cols)
    pt = min(rng.choice([13, 15, 17, 20, 24]), 11 + 4 * k)
    spaced = rng.random() < 0.2
    gap = rng.choice([0.35, 0.6, 1.0]) if force.get("spaced", spaced) and len(art.title) <= 16 else 0.0
    text = art.title.replace(" ", "")
    if gap and _spaced_width(w, pt, text, gap) <= width:
        left = x if rng.random() < 0.3 else x + (width - _spaced_width(w, pt, text, gap)) / 2
        _spaced(w, left, top, pt, text, gap)
        top += pt * PT * 1.25
    else:
        w.size(pt)
        parts = art.title.split(" ") if w.pdf.get_string_width(text) > width else [text]
        short = rng.random() < 0.3
        for part in parts:
            for line in w.wrap(part, width):
                off = 0.0 if short else (width - w.pdf.get_string_width(line)) / 2
                w.text(x + off, top, pt, line)
                top += pt * PT * 1.25
    art.title = text
    if rng.random() < 0.25 and len(clauses) > 4:
        art.subtitle = "——" + clauses[3]
        top = _line_centred(w, x, width, top + 0.5, 10.5, art.subtitle) + 1
    return top + 2


def _line_centred(w: _Writer, x: float, width: float, top: float, pt: float, text: str) -> float:
    w.size(pt)
    for line in w.wrap(text, width):
        w.text(x + (width - w.pdf.get_string_width(line)) / 2, top, pt, line)
        top += pt * PT * 1.25
    return top


def _article(w: _Writer, rng: random.Random, stories: list, cols, top: float, bottom: float, force: dict) -> GenArticle:
    """One article in the rectangle over ``cols``: heading, byline, photo, body, jump line."""
    paras = list(stories.pop()[1])
    while sum(map(len, paras)) < 3000:  # enough text to fill any rectangle
        paras += rng.choice(stories)[1]
    x, width = _span(cols)
    art = GenArticle(
        title=_title(rng, paras, len(cols) >= 3 and rng.random() < 0.5), paras=[], box=(x, top, x + width, bottom)
    )
    if rng.random() < 0.15 and bottom - top > 50:
        w.pdf.set_line_width(0.4)
        w.pdf.rect(x - 1.5, top, width + 3, bottom - top - 1)
        top, bottom, art.boxed = top + 2.5, bottom - 3.5, True
        cols = [(c[0] + 0.5, c[1] - 1) for c in cols]
    top = _heading(w, rng, art, cols, top, force)
    body_pt = rng.choice([7.5, 8, 8, 8, 8.5, 9])
    step = body_pt * PT * 1.5
    name = rng.sample(NAMES, 2)
    where = rng.choice(["above", "above", "bullet", "right", "dateline", "below", "none"])
    where = force.get("byline", where)
    if where in ("above", "bullet", "right"):
        art.byline = f"本报记者 {name[0]} {name[1]}" if where == "above" else f"■ 本报记者 {name[0]}"
        w.size(body_pt)
        if where == "above" and w.pdf.get_string_width(art.byline) > cols[0][1]:  # a narrow column: one name
            art.byline = f"本报记者 {name[0]}"
        bx = cols[-1][0] + cols[-1][1] - w.pdf.get_string_width(art.byline) if where == "right" else cols[0][0]
        w.text(bx, top, body_pt, art.byline)
        top += step * 1.3
    if rng.random() < 0.25 and bottom - top > 70:
        pw = width
        height = min(45.0, (bottom - top) * 0.35)
        w.pdf.set_fill_color(150, 150, 150)
        w.pdf.rect(x, top, pw, height, style="F")
        art.caption = f"图为{_title(rng, paras[1:], False)}。本报记者 {name[1]} 摄"
        cap = _Flow(w, [(x, pw)], top + height + 1.2, bottom)
        cap.step = 7 * PT * 1.4
        cap.para(art.caption, pt=7, indent=False)
        top = cap.y + 2.5
    jump = rng.random() < 0.2
    tail = 1 + (where == "below") + jump  # lines kept free for the byline and the jump line
    flow = _Flow(w, cols, top, bottom - tail * step)
    flow.step = step
    if where == "dateline":
        art.byline = f"本报讯（记者 {name[0]}）"
    for para in paras:
        lead = art.byline if where == "dateline" and not art.paras else ""
        printed = flow.para(lead + para, pt=body_pt)
        if not printed and not art.paras:
            continue  # not one sentence of it fits: open with the next paragraph
        art.paras.append(printed[len(lead) :])
        if printed != lead + para or flow._room() < 2:
            break
    lx, lw = flow.cols[flow.col]
    y = flow.y
    if where == "below":
        art.byline = f"（记者 {name[0]} 通讯员 {name[1]}）" if rng.random() < 0.5 else f"本报记者 {name[0]}"
        w.size(body_pt)
        if w.pdf.get_string_width(art.byline) > lw:  # a narrow column: the short form
            art.byline = f"（记者 {name[0]}）"
        w.text(lx + lw - w.pdf.get_string_width(art.byline), y, body_pt, art.byline)
        y += step
    if jump:
        ref = f"（下转第{rng.randint(2, 8)}版）"
        w.size(body_pt)
        w.text(lx + lw - w.pdf.get_string_width(ref), y, body_pt, ref)
    return art


def make_mixed_page(seed: int, columns: int | None = None, bands: list[list[int]] | None = None, **force) -> GenPage:
    """One page drawn from ``seed`` (see module docstring). For tests of one family of layouts:
    ``columns`` and ``bands`` (column widths of the articles of each band, e.g. ``[[4], [1, 1, 1, 1]]``)
    fix the plan; ``force`` fixes a choice for every article: ``masthead`` (bool), ``spaced``
    (bool: letter-spaced headlines), ``byline`` ("above", "bullet", "right", "dateline", "below", "none")."""
    rng = random.Random(seed)
    n = columns or rng.randint(2, 6)
    paper = rng.choice(PAPERS)
    date = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    stories = rng.sample(_stories(), len(_stories()))
    w = _Writer()
    top = _masthead(w, rng, paper, date, force)
    grid = _grid(n)
    page = GenPage(paper, date, n)
    used: set[str] = set()
    plan = _bands(rng, n, top)
    if bands:  # equal heights, 5 mm apart
        height = (PAGE_H - MARGIN - top) / len(bands)
        plan = [(top + i * height + (5 if i else 0), top + (i + 1) * height, ws) for i, ws in enumerate(bands)]
    for btop, bbottom, widths in plan:
        c = 0
        for k in widths:
            cols = grid[c : c + k]
            art = _article(w, rng, stories, cols, btop, bbottom, force)
            if art.paras and art.title not in used:
                page.articles.append(art)
                used.add(art.title)
            if c + k < n and rng.random() < 0.3:  # a rule between articles, in the gutter
                gx = cols[-1][0] + cols[-1][1] + GUTTER / 2
                w.pdf.set_line_width(0.2)
                w.pdf.line(gx, btop, gx, bbottom - 2)
            c += k
    page.pdf = bytes(w.pdf.output())
    return page
