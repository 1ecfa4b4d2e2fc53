"""Chinese word tokens for BM25: jieba with a local-names dictionary, minus stopwords and punctuation.

The same function tokenizes passages at index time and questions at query time, so both sides
agree on word boundaries (「专精特新」 stays one token thanks to ``qa/data/userdict.txt``).

Example::

    >>> tokenize("聊城新增专精特新企业，东昌府区最多！")
    ['聊城', '新增', '专精', '专精特新', '企业', '东昌', '东昌府', '东昌府区', '多']

``MODE`` records which jieba cut is used; it is written into meta.json so an index built with
one mode is not queried with another. ``lcut_for_search`` won on CMRC (see bench/tune_chunks.py).
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from importlib import resources

import jieba

MODE = "jieba.lcut_for_search"

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_stopwords: frozenset[str] = frozenset()


def _data_path(name: str) -> str:
    return str(resources.files("qa") / "data" / name)


def _init() -> jieba.Tokenizer:
    """Build the jieba tokenizer once per process (double-checked so threads don't race to load it)."""
    global _tokenizer, _stopwords
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            # jieba logs "Building prefix dict..." at DEBUG/INFO; keep stderr for our own messages.
            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            tok.load_userdict(_data_path("userdict.txt"))
            with open(_data_path("stopwords.txt"), encoding="utf-8") as f:
                words = {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}
            _stopwords = frozenset(w.lower() for w in words)
            _tokenizer = tok
    return _tokenizer


def loaded() -> bool:
    """Has this process loaded jieba's dictionary yet (the first ``tokenize`` takes about 0.7 s)?"""
    return _tokenizer is not None


def _is_noise(token: str) -> bool:
    """True for whitespace and tokens made only of punctuation/symbols (「，」「——」「■」)."""
    return all(c.isspace() or unicodedata.category(c)[0] in "PSZC" for c in token)


def tokenize(text: str) -> list[str]:
    """Lower-cased jieba tokens of ``text`` without stopwords, punctuation or whitespace.

    >>> tokenize("The 聊城日报 在 2025年")
    ['the', '聊城', '日报', '聊城日报', '2025']
    """
    tok = _init()
    if MODE == "jieba.lcut_for_search":
        words = tok.lcut_for_search(text)
    else:
        words = tok.lcut(text)
    out = []
    for w in words:
        w = w.strip().lower()
        if w and w not in _stopwords and not _is_noise(w):
            out.append(w)
    return out


_pos: "jieba.posseg.POSTokenizer | None" = None


def pos_cut(text: str):
    """jieba words with part-of-speech flags, from a tokenizer of this module's own.

    Other libraries in the process (Milvus Lite's jieba analyzer) add words to jieba's global
    dictionary; a private tokenizer keeps follow-up resolution and answer checks independent of that.
    """
    global _pos
    if _pos is None:
        import jieba.posseg

        with _lock:
            if _pos is None:
                _pos = jieba.posseg.POSTokenizer(jieba.Tokenizer())
    return _pos.cut(text)


def known_word(word: str) -> bool:
    """Is ``word`` in ``pos_cut``'s dictionary (not a guess of its HMM, which glues 「和恒大」「和普京」)?"""
    if _pos is None:
        list(pos_cut("预热"))
    return bool(_pos.tokenizer.FREQ.get(word))


def stopwords() -> frozenset[str]:
    """The shipped stopword set (loaded with the tokenizer)."""
    _init()
    return _stopwords
