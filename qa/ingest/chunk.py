"""Sentence-aware Chinese chunks: articles -> retrievable passages of a few whole sentences.

Sentences (``qa.text.chinese.split_sentences``) end at 。！？；… (and ASCII !?;), together with any closing
quotes/brackets that follow (「他说：“好。”」 stays one sentence), and at paragraph ends. Chunks are packed from whole
sentences up to ``max_chars``; only a sentence longer than that on its own is cut, first at
「，」「、」, else hard at ``max_chars``. Chunk texts are exact slices of the body (outer
whitespace trimmed), so with ``overlap_sentences=0`` their concatenation is the body.

Example::

    >>> a = Article(article_id="p#a0", title="标题", body="甲。乙！")
    >>> [c.text for c in chunk_article(a, "p", ChunkSettings(max_chars=2, overlap_sentences=0))]
    ['甲。', '乙！']
    >>> embedding_text(chunk_article(a, "p")[0])
    '标题\\n甲。乙！'

The default (350 chars, no overlap) was measured on CMRC 2018 trial with bench/tune_chunks.py
(1,002 questions; hit = a chunk of the question's paragraph containing the answer; RRF of e5-small
dense + BM25): 150/1 sentence overlap 0.830 R@1 / 0.967 R@5, 250/1 0.854 / 0.980, 350/0
0.873 / 0.981. 350/0 is best on both and embeds ~18% fewer characters than 250/1 (no repeated
sentences); 350 chars plus a title stays inside e5's 512-token window. Caveat: bigger chunks
make this "contains the answer" metric easier, so the @5 tie says more than the @1 gain.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from qa.text.chinese import number_safe_cut, split_sentences
from qa.types import Article, Chunk


@dataclass(frozen=True)
class ChunkSettings:
    """Chunk size limit in characters and how many trailing sentences the next chunk repeats.

    ``scheme`` numbers what goes into a chunk (2: the byline opens the first chunk); bumping it
    makes the next build re-chunk and re-embed everything, as a changed size does.
    """

    max_chars: int = 350
    overlap_sentences: int = 0
    scheme: int = 2

    def to_json(self) -> dict:
        return {"max_chars": self.max_chars, "overlap_sentences": self.overlap_sentences, "scheme": self.scheme}


DEFAULT = ChunkSettings()

_CLAUSE = re.compile(r"[^，,、：:]*[，,、：:]+|[^，,、：:]+$")


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    """Cut one over-long sentence at clause marks, else hard every ``max_chars`` characters."""
    pieces: list[str] = []
    for clause in _CLAUSE.findall(sentence):
        while len(clause) > max_chars:
            cut = number_safe_cut(clause, max_chars)
            pieces.append(clause[:cut])
            clause = clause[cut:]
        if clause:
            pieces.append(clause)
    # Re-pack the clauses so the parts are as large as allowed.
    parts: list[str] = []
    for p in pieces:
        if parts and len(parts[-1]) + len(p) <= max_chars:
            parts[-1] += p
        else:
            parts.append(p)
    return parts


def _units(text: str, max_chars: int) -> list[str]:
    units: list[str] = []
    for s in split_sentences(text):
        units.extend(_cut_long(s, max_chars) if len(s.strip()) > max_chars else [s])
    return units


def chunk_text(text: str, settings: ChunkSettings = DEFAULT) -> list[str]:
    """Pack sentences into chunk texts of at most ``settings.max_chars`` characters (trimmed)."""
    units = _units(text, settings.max_chars)
    chunks: list[str] = []
    cur: list[str] = []
    for u in units:
        if cur and len("".join(cur + [u]).strip()) > settings.max_chars:
            chunks.append("".join(cur))
            # Repeat the last sentences for context, but only if they leave room for the new one,
            # and never the whole previous chunk (that would not make progress).
            keep = cur[-settings.overlap_sentences :] if settings.overlap_sentences else []
            while keep and (len(keep) >= len(cur) or len("".join(keep + [u]).strip()) > settings.max_chars):
                keep = keep[1:]
            cur = list(keep)
        cur.append(u)
    if cur:
        chunks.append("".join(cur))
    return [c.strip() for c in chunks if c.strip()]


def chunk_id(article_id: str, text: str, salt: int = 0) -> str:
    """Stable id: sha1 of article id and chunk text (``salt`` separates repeated texts)."""
    key = f"{article_id}\n{text}" + (f"\n{salt}" if salt else "")
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def chunk_article(article: Article, page_id: str, settings: ChunkSettings = DEFAULT) -> list[Chunk]:
    """Chunks of one article's byline and body (captions appended as their own paragraphs).

    The byline opens the first chunk, as it opens the printed article, so that reporters
    (「王培源写了哪些报道」) and datelines (「新华社北京7月28日电」) can be searched. The title is
    not body (it is embedded with every chunk as context); an article with an empty body but a
    title yields one chunk holding the title, so a headline-only item is still findable.
    """
    body = article.body or ""
    if article.byline and article.byline.strip():
        body = article.byline.strip() + "\n" + body
    if article.captions:
        body = body + "\n" + "\n".join(article.captions)
    texts = chunk_text(body, settings)
    title = (article.title or "").strip() or None
    if not texts and title:
        texts = [title]
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        n = seen.get(t, 0)
        seen[t] = n + 1
        chunks.append(Chunk(chunk_id(article.article_id, t, n), article.article_id, page_id, i, t, title))
    return chunks


def embedding_text(chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed: the title as context, then the chunk text."""
    if chunk.title and chunk.title != chunk.text:
        return chunk.title + "\n" + chunk.text
    return chunk.text
